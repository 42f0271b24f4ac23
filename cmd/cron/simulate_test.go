package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"extcloud-failover/internal/check"
)

// simEnv is a configuration simulate accepts: the list, the ids the probe
// URL needs and the programs every host command needs.
var simEnv = []string{
	"PATH=" + os.Getenv("PATH"),
	"EXT_CLOUD_FAILOVER_LIST=NAM=nam.example.com,EU=eu.example.com,APAC=apac.example.com",
	"CONNECTION_KEEPALIVE_ORG_ID=org-1",
	"CONNECTION_KEEPALIVE_TXN_ID=txn-1",
	"SUPERVISOR_PROGRAMS=app",
}

// simulate runs the built binary's simulate command.
func simulate(t *testing.T, env []string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, append([]string{"simulate"}, args...)...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("simulate: %v", err)
	}
	return code, out.String(), errb.String()
}

func switchesOf(t *testing.T, jsonOut string) []string {
	t.Helper()
	var sum check.Summary
	if err := json.Unmarshal([]byte(jsonOut), &sum); err != nil {
		t.Fatalf("--json output: %v\n%s", err, jsonOut)
	}
	out := []string{}
	for _, s := range sum.Switches {
		out = append(out, fmt.Sprintf("%.0f %s->%s %s", s.Seconds, s.From, s.To, s.Kind))
	}
	return out
}

func TestSimulateExampleTimelines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		env  []string
		want []string
	}{
		{"flapping.csv", nil, []string{"540 NAM->EU failover"}},
		// With the old rule (any healthy probe ends the outage) it would never fail over.
		{"flapping.csv", []string{"RECOVERY_PROBES=1"}, []string{}},
		{"cascade.csv", nil, []string{"540 NAM->EU failover", "1440 EU->APAC failover"}},
		{"cascade.csv", []string{"FAILOVER_BUDGET=1"}, []string{"540 NAM->EU failover"}},
		{"dark-network.csv", nil, []string{"1020 NAM->EU failover"}},
		// Without the local-network guard a dark network is an outage of every
		// region: the clock runs through it, and the switch comes as soon as EU
		// has been healthy for RECOVERY_PROBES probes.
		{"dark-network.csv", []string{"LATENCY_CHECK=off"}, []string{"800 NAM->EU failover"}},
	}
	for _, tt := range tests {
		t.Run(tt.file+strings.Join(tt.env, ","), func(t *testing.T) {
			t.Parallel()
			file := filepath.Join("..", "..", "docs", "timelines", tt.file)
			code, out, errOut := simulate(t, append(append([]string{}, simEnv...), tt.env...), "", "--timeline", file, "--json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if got := switchesOf(t, out); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("switches = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSimulateTextAndSVG(t *testing.T) {
	t.Parallel()
	svg := filepath.Join(t.TempDir(), "cascade.svg")
	code, out, errOut := simulate(t, simEnv, "", "--timeline", filepath.Join("..", "..", "docs", "timelines", "cascade.csv"), "--svg", svg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"    540s  NAM   failover -> EU         NAM down for 4m0s (FAILOVER_THRESHOLD 4m0s)\n",
		"summary: 2 switches, 0 gaps, 0s in all_down, ends on APAC\n",
		"  switch    1440s  failover EU -> APAC after 240s down: EU down for 4m0s (FAILOVER_THRESHOLD 4m0s)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(data, new(struct{})); err != nil {
		t.Errorf("SVG is not XML: %v", err)
	}
	if n := strings.Count(string(data), `<g class="switch"`); n != 2 {
		t.Errorf("%d switches drawn, want 2", n)
	}
}

// TestSimulateReplaysTheCheckersLog runs a real fleet through an outage,
// then replays its log: with the same settings the replay fails over as
// the checker did; with a longer threshold it does not.
func TestSimulateReplaysTheCheckersLog(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	f.nam.Down.Store(true)
	var log strings.Builder
	for start := time.Now(); ; {
		inv := f.run()
		log.WriteString(inv.stdout)
		if inv.action() == "failover" {
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatal("the fleet did not fail over")
		}
	}
	for range 3 {
		log.WriteString(f.run().stdout)
	}
	code, out, errOut := simulate(t, f.env, log.String(), "--log", "-", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := switchesOf(t, out); len(got) != 1 || !strings.HasSuffix(got[0], " NAM->EU failover") {
		t.Errorf("replayed switches %q, want the checker's one failover", got)
	}
	code, out, errOut = simulate(t, append(f.env, "FAILOVER_THRESHOLD=1h"), log.String(), "--log", "-", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := switchesOf(t, out); len(got) != 0 {
		t.Errorf("with FAILOVER_THRESHOLD=1h the replay switched: %q", got)
	}
}

func TestSimulateBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("seconds,NAM,EU,APAC\n0,up,up,up\n10,up,sideways,up\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no source", nil, "extcloud-failover: simulate: give one of --timeline FILE (a CSV) or --log FILE (the checker's JSON lines; - for stdin)\n"},
		{"both sources", []string{"--timeline", bad, "--log", "-"}, "extcloud-failover: simulate: give one of --timeline FILE (a CSV) or --log FILE (the checker's JSON lines; - for stdin)\n"},
		{"bad cell", []string{"--timeline", bad}, "extcloud-failover: --timeline " + bad + `: line 3: EU is "sideways" (want up, down or dark)` + "\n"},
		{"missing file", []string{"--timeline", filepath.Join(dir, "none.csv")}, "extcloud-failover: --timeline: open " + filepath.Join(dir, "none.csv") + ": no such file or directory\n"},
		{"empty log", []string{"--log", "-"}, "extcloud-failover: --log -: no \"check complete\" line with a regions field\n"},
		{"flag of another command", []string{"--to", "EU", "--timeline", bad}, "extcloud-failover: simulate: flag provided but not defined: -to (--to is a flag of failover; extcloud-failover simulate --help lists its flags)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := simulate(t, simEnv, "", tt.args...)
			if code != 2 || errOut != tt.want || out != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want 2, %q", code, errOut, out, tt.want)
			}
		})
	}
}

// TestSimulateNeedsOnlyTheDecisionSettings runs simulate as on a laptop:
// it touches no host and probes nothing, so it needs only the failover
// list and the decision settings, not the probe ids, PREFLIGHT_URL or
// SUPERVISOR_PROGRAMS that a check needs. A bad value is still refused.
func TestSimulateNeedsOnlyTheDecisionSettings(t *testing.T) {
	t.Parallel()
	list := "NAM=nam.example.com,EU=eu.example.com,APAC=apac.example.com"
	timeline := filepath.Join("..", "..", "docs", "timelines", "flapping.csv")
	tests := []struct {
		name string
		env  map[string]string
		code int
		want string // in stdout when 0, stderr otherwise
	}{
		{"only the list", map[string]string{"EXT_CLOUD_FAILOVER_LIST": list}, exitOK, "summary: 1 switch, 0 gaps, 0s in all_down, ends on EU\n"},
		{"a tunnel probe URL without PREFLIGHT_URL", map[string]string{"EXT_CLOUD_FAILOVER_LIST": list, "CLOUDLOOKUP_URL": "https://localhost:8443/v2/{org_id}/cloudlookup/{txn_id}"},
			exitOK, "summary: 1 switch, 0 gaps, 0s in all_down, ends on EU\n"},
		{"a decision setting", map[string]string{"EXT_CLOUD_FAILOVER_LIST": list, "RECOVERY_PROBES": "1"}, exitOK, "summary: 0 switches, 0 gaps, 0s in all_down, ends on NAM\n"},
		{"no list", map[string]string{}, exitUsage, "extcloud-failover: EXT_CLOUD_FAILOVER_LIST: empty (want REGION=CLOUD,... e.g. NAM=nam.example.com,EU=eu.example.com)\n"},
		{"a bad decision setting", map[string]string{"EXT_CLOUD_FAILOVER_LIST": list, "FAILOVER_THRESHOLD": "4"}, exitUsage, "extcloud-failover: FAILOVER_THRESHOLD: \"4\" is not a duration (want e.g. 4m)\n"},
		{"a bad value elsewhere", map[string]string{"EXT_CLOUD_FAILOVER_LIST": list, "SUPERVISOR_PROGRAMS": "a b"}, exitUsage,
			"extcloud-failover: SUPERVISOR_PROGRAMS: entry 1 \"a b\": character ' ' not allowed (want A-Z a-z 0-9 _ . - and group:name or group:*)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"simulate", "--timeline", timeline}, mapLookup(tt.env), &stdout, &stderr)
			got := stdout.String()
			if tt.code != exitOK {
				got = stderr.String()
			}
			if code != tt.code || !strings.Contains(got, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, stdout.String(), stderr.String(), tt.code, tt.want)
			}
		})
	}
}
