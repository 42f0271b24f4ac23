// Command demo shows the host checker end to end on one machine: three
// simulated regions on loopback, a real supervisord running a demo program,
// healthy checks, an injected outage, the failover, the new ext_cloud.env and
// status. It leaves nothing running. Run it with `make demo`.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"extcloud-failover/internal/testenv/region"
	"extcloud-failover/internal/testenv/supervisord"
)

func main() {
	bin := flag.String("bin", "bin/extcloud-failover", "the checker binary")
	flag.Parse()
	// ^C or SIGTERM ends the demo through its own clean-up: supervisord
	// runs in its own process group and would otherwise be left running.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	fi, err := os.Stdout.Stat()
	bold := err == nil && fi.Mode()&os.ModeCharDevice != 0
	err = demo(ctx, *bin, os.Stdout, bold)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// The demo's probe ids, which its regions expect.
const demoOrg, demoTxn = "demo-org", "demo-txn"

// demo runs the demo, writing to out (headings in bold when bold). It stops
// when ctx ends, and always removes what it started: the regions,
// supervisord and its files.
func demo(ctx context.Context, bin string, out io.Writer, bold bool) error {
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s missing: run `make build` first (make demo does)", bin)
	}
	bin, _ = filepath.Abs(bin)
	dir, err := os.MkdirTemp("", "extcloud-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	on, off := "", ""
	if bold {
		on, off = "\033[1m", "\033[0m"
	}
	step := func(format string, a ...any) { fmt.Fprintf(out, "\n"+on+"== "+format+off+"\n", a...) }
	var regions []*region.Region
	for _, n := range []string{"NAM", "EU", "APAC"} {
		r, err := region.Start(n, demoOrg, demoTxn)
		if err != nil {
			return err
		}
		defer r.Close()
		regions = append(regions, r)
	}
	nam := regions[0]
	step("three simulated regions on loopback: NAM %s, EU %s, APAC %s", regions[0].Cloud(), regions[1].Cloud(), regions[2].Cloud())

	env := []string{
		"PATH=" + os.Getenv("PATH"),
		fmt.Sprintf("EXT_CLOUD_FAILOVER_LIST=NAM=%s,EU=%s,APAC=%s", regions[0].Cloud(), regions[1].Cloud(), regions[2].Cloud()),
		"CLOUDLOOKUP_URL=http://{cloud}/cloudlookup?orgId={org_id}&txnId={txn_id}",
		"CONNECTION_KEEPALIVE_ORG_ID=" + demoOrg,
		"CONNECTION_KEEPALIVE_TXN_ID=" + demoTxn,
		"ENV_FILE=" + filepath.Join(dir, "ext_cloud.env"),
		"STATE_FILE=" + filepath.Join(dir, "state.json"),
		"SUPERVISOR_PROGRAMS=demo-app",
		"FAILOVER_THRESHOLD=5s",
		"FAILOVER_MIN_INTERVAL=0s",
		"PROBE_INTERVAL=1s",
		"PROBE_TIMEOUT=1s",
		"LATENCY_CHECK=off",
	}
	sv, err := supervisord.Start(ctx, supervisord.Options{
		Programs: []supervisord.Program{{Name: "demo-app", Command: "/bin/sh -c 'exec sleep 3600'"}},
	})
	switch {
	case err != nil:
		step("supervisord not available (%v): the restart step will fail and stay pending", err)
		env = append(env, "SUPERVISOR_URL=unix://"+filepath.Join(dir, "absent.sock"))
	default:
		defer sv.Close()
		step("supervisord running the demo program at %s", sv.URL)
		env = append(env, "SUPERVISOR_URL="+sv.URL)
	}

	runs := 0
	check := func(args ...string) (string, error) {
		runs++
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if ctx.Err() != nil {
			return "", fmt.Errorf("interrupted: %w", context.Cause(ctx))
		}
		action := show(out, runs, stdout.String())
		if stderr.Len() > 0 {
			fmt.Fprint(out, "   stderr: ", stderr.String())
		}
		return action, err
	}

	step("healthy checks (every run is one process, as from a timer)")
	for i := 0; i < 2; i++ {
		if _, err := check(); err != nil {
			return fmt.Errorf("healthy check: %w", err)
		}
	}

	step("injecting an outage of NAM: it now answers 503; threshold is 5s, one check a second")
	nam.Down.Store(true)
	deadline := time.Now().Add(30 * time.Second)
	for {
		action, err := check()
		if action == "failover" {
			if err != nil {
				fmt.Fprintf(out, "   the push did not converge (%v); it stays pending and is retried\n", err)
			}
			break
		}
		if time.Now().After(deadline) {
			return errors.New("no failover within 30s")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted: %w", context.Cause(ctx))
		case <-time.After(time.Second):
		}
	}

	step("the new ext_cloud.env")
	data, err := os.ReadFile(filepath.Join(dir, "ext_cloud.env"))
	if err != nil {
		return err
	}
	fmt.Fprint(out, indent(string(data)))

	step("a check after the failover: EU is active and healthy, nothing restarts")
	if _, err := check(); err != nil {
		return err
	}

	step("extcloud-failover status")
	cmd := exec.CommandContext(ctx, bin, "status")
	cmd.Env = env
	status, err := cmd.CombinedOutput()
	fmt.Fprint(out, indent(string(status)))
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	step("done: regions, supervisord and files are cleaned up")
	return nil
}

// show prints one invocation's JSON log lines as a readable transcript and
// returns the summary's action.
func show(out io.Writer, n int, logs string) string {
	action := ""
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			fmt.Fprintln(out, "   ", sc.Text())
			continue
		}
		msg, _ := m["message"].(string)
		if msg == "check complete" {
			action, _ = m["action"].(string)
			fmt.Fprintf(out, "#%-2d region=%v healthy=%v action=%v outage_seconds=%.1f generation=%v\n",
				n, m["region"], m["healthy"], m["action"], num(m["outage_seconds"]), m["generation"])
			continue
		}
		fmt.Fprintf(out, "    %-5v %s", m["level"], msg)
		for _, k := range []string{"from", "to", "reason", "host", "error"} {
			if v, ok := m[k]; ok && v != "" {
				fmt.Fprintf(out, " %s=%v", k, v)
			}
		}
		fmt.Fprintln(out)
	}
	return action
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}
