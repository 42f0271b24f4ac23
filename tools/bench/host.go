// This file holds the host-path figures: a healthy check and a failover of
// the built binary against simulated regions.

package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
	simregion "extcloud-failover/internal/testenv/region"
)

// region is a simulated cloudlookup endpoint on 127.0.0.1, the tests' own.
type region = simregion.Region

func (b *bench) startRegion(name string) (*region, error) {
	r, err := simregion.Start(name, "org-1", "txn-1")
	if err != nil {
		return nil, err
	}
	b.cleanup = append(b.cleanup, func() { _ = r.Close() })
	return r, nil
}

// startRegions starts NAM, EU and APAC, in that order.
func (b *bench) startRegions() ([3]*region, error) {
	var regions [3]*region
	for i, n := range []string{"NAM", "EU", "APAC"} {
		r, err := b.startRegion(n)
		if err != nil {
			return regions, err
		}
		regions[i] = r
	}
	return regions, nil
}

// counter is a loopback endpoint that only counts requests: the witness the
// local-network guard would contact, and the proof it was not.
func (b *bench) counter() (string, *atomic.Int64, error) {
	var n atomic.Int64
	addr, stop, err := serve(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { n.Add(1) }))
	if err != nil {
		return "", nil, err
	}
	b.cleanup = append(b.cleanup, stop)
	return "http://" + addr + "/", &n, nil
}

// realPython returns the interpreter python3 runs, resolving a version
// manager's shim (a shell script) so the baseline is Python's own start.
func realPython(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "", fmt.Errorf("python3 (the original script's language, a baseline): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

const pythonGet = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5).read()"

// hostEnv is the checker's environment for three regions.
func hostEnv(dir string, nam, eu, apac *region, extra ...string) []string {
	return append([]string{
		"EXT_CLOUD_FAILOVER_LIST=NAM=" + nam.Cloud() + ",EU=" + eu.Cloud() + ",APAC=" + apac.Cloud(),
		"CLOUDLOOKUP_URL=http://{cloud}/cloudlookup?orgId={org_id}&txnId={txn_id}",
		"CONNECTION_KEEPALIVE_ORG_ID=org-1",
		"CONNECTION_KEEPALIVE_TXN_ID=txn-1",
		"ENV_FILE=" + filepath.Join(dir, "ext_cloud.env"),
		"STATE_FILE=" + filepath.Join(dir, "state.json"),
		"SUPERVISOR_PROGRAMS=app",
	}, extra...)
}

// hostHealthy measures the whole healthy one-shot against curl, a python3
// urllib one-liner and a bare Go GET of the same URL, interleaved.
func (b *bench) hostHealthy(ctx context.Context) error {
	dir := filepath.Join(b.tmp, "host-healthy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	regions, err := b.startRegions()
	if err != nil {
		return err
	}
	nam := regions[0]
	witness, witnessHits, err := b.counter()
	if err != nil {
		return err
	}
	// A real state file, so the run reads one; the guard is configured
	// (on-failure) so its absence from the healthy path is measured.
	store := state.NewFileStore(filepath.Join(dir, "state.json"))
	if _, err := store.Swap(ctx, state.State{}, state.State{ActiveRegion: "NAM", Generation: 1}); err != nil {
		return err
	}
	// A converged host: its env file says what the state says, so the
	// check reads it once and touches nothing.
	if _, err := remote.WriteEnvFile(filepath.Join(dir, "ext_cloud.env"), remote.Target{Region: "NAM", Cloud: nam.Cloud(), Generation: 1}); err != nil {
		return err
	}
	env := hostEnv(dir, nam, regions[1], regions[2],
		"SUPERVISOR_URL=unix://"+filepath.Join(dir, "no-supervisord.sock"),
		"LATENCY_CHECK=on-failure", "WITNESS_URL="+witness)

	first, err := runProc(ctx, env, b.host)
	if err != nil {
		return err
	}
	if first.code != 0 || !strings.Contains(first.stdout, `"healthy":true`) || !strings.Contains(first.stdout, `"action":"none"`) {
		return fmt.Errorf("healthy check: exit %d\n%s%s", first.code, first.stdout, first.stderr)
	}
	before, err := os.Stat(filepath.Join(dir, "state.json"))
	if err != nil {
		return err
	}

	cmds := []struct {
		name string
		env  []string
		argv []string
	}{
		{"ours", env, []string{b.host}},
		{"curl", nil, []string{"curl", "-s", nam.URL()}},
		{"python", nil, []string{b.base.python, "-c", pythonGet, nam.URL()}},
		{"bare", nil, []string{b.base.bareGet, nam.URL()}},
	}
	results := map[string]*series{}
	for _, c := range cmds {
		results[c.name] = &series{}
	}
	const warmup = 3
	for i := range b.o.runs + warmup {
		for _, c := range cmds {
			r, err := runProc(ctx, c.env, c.argv...)
			if err != nil {
				return err
			}
			if r.code != 0 {
				return fmt.Errorf("%s exited %d: %s%s", c.name, r.code, r.stdout, r.stderr)
			}
			if i >= warmup {
				results[c.name].add(r)
			}
		}
	}
	// Peak RSS, five runs each under GNU time.
	for range 5 {
		for _, c := range cmds {
			r, err := results[c.name].measureRSS(ctx, dir, c.env, c.argv...)
			if err != nil {
				return err
			}
			if r.code != 0 {
				return fmt.Errorf("%s under %s exited %d: %s%s", c.name, timeBin, r.code, r.stdout, r.stderr)
			}
		}
	}
	after, err := os.Stat(filepath.Join(dir, "state.json"))
	if err != nil {
		return err
	}
	if !after.ModTime().Equal(before.ModTime()) {
		return errors.New("healthy checks rewrote the state file")
	}
	if n := witnessHits.Load(); n != 0 {
		return fmt.Errorf("the local-network guard ran %d times on the healthy path", n)
	}

	ours, curl, py, bare := results["ours"], results["curl"], results["python"], results["bare"]
	cmd := "make bench (hostHealthy)"
	rep := b.report
	rep.add(row{
		section: "Host one-shot",
		figure:  "healthy check, whole process (start, config, state read, probe, exit): wall, median of " + fmt.Sprint(b.o.runs),
		ours:    ms(ours.wall()), baseline: "`curl -s URL` " + ms(curl.wall()),
		ratio: ratio(float64(ours.wall()), float64(curl.wall())), goal: "≤ 0.80×",
		met: float64(ours.wall()) <= 0.8*float64(curl.wall()), command: cmd,
	})
	rep.add(row{
		section: "Host one-shot",
		figure:  "same, against the original script's language",
		ours:    ms(ours.wall()), baseline: "`python3 -c` urllib GET " + ms(py.wall()),
		ratio: ratio(float64(ours.wall()), float64(py.wall())), command: cmd,
	})
	rep.add(row{
		section: "Host one-shot",
		figure:  "same, against the floor of any Go one-shot",
		ours:    ms(ours.wall()), baseline: "bare Go `http.Get` binary " + ms(bare.wall()),
		ratio: ratio(float64(ours.wall()), float64(bare.wall())), command: cmd,
	})
	rep.add(row{
		section: "Host one-shot",
		figure:  "healthy check: peak RSS (GNU time %M, max of 5 runs)",
		ours:    mb(ours.peakRSS()), baseline: "curl " + mb(curl.peakRSS()),
		ratio: ratio(float64(ours.peakRSS()), float64(curl.peakRSS())), goal: "< 15 MB",
		met: ours.peakRSS() < 15e6, command: cmd,
	})
	rep.add(row{
		section: "Host one-shot",
		figure:  "healthy check: CPU time (user+sys), median",
		ours:    ms(ours.cpu()), baseline: "curl " + ms(curl.cpu()),
		ratio: ratio(float64(ours.cpu()), float64(curl.cpu())), command: cmd,
	})
	rep.note("Host one-shot", fmt.Sprintf("State file unchanged and the configured witness (LATENCY_CHECK=on-failure) contacted %d times over %d healthy runs.",
		witnessHits.Load(), b.o.runs+warmup+1+5))
	return nil
}

// hostFailover measures the one-shot at the failover (pre-flight of EU and
// APAC, intent, env file, supervisord restart of app, result) against a
// shell writing the same file and `supervisorctl restart app`, both against
// the same real supervisord.
func (b *bench) hostFailover(ctx context.Context) error {
	dir := filepath.Join(b.tmp, "host-failover")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	sv, stop, err := startSupervisord(ctx, dir)
	if err != nil {
		return err
	}
	b.cleanup = append(b.cleanup, stop)
	nam, err := b.startRegion("NAM")
	if err != nil {
		return err
	}
	nam.Down.Store(true)
	eu, err := b.startRegion("EU")
	if err != nil {
		return err
	}
	apac, err := b.startRegion("APAC")
	if err != nil {
		return err
	}
	env := hostEnv(dir, nam, eu, apac, "SUPERVISOR_URL="+sv.URL, "LATENCY_CHECK=off")
	envFile := filepath.Join(dir, "ext_cloud.env")
	statePath := filepath.Join(dir, "state.json")
	content := string(remote.Render(remote.Target{Region: "EU", Cloud: eu.Cloud(), Generation: 1}))
	shell := fmt.Sprintf("printf '%%s' '%s' > %s.tmp && mv %s.tmp %s && supervisorctl -c %s restart app >/dev/null",
		content, envFile, envFile, envFile, sv.ConfigPath)

	// reset puts NAM five minutes into an outage, past FAILOVER_THRESHOLD.
	reset := func(gen int64) error {
		if err := os.Remove(statePath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		// The hosts run NAM at gen, as the state says: only the failover
		// restarts.
		if err := os.WriteFile(envFile, remote.Render(remote.Target{Region: "NAM", Cloud: nam.Cloud(), Generation: gen}), 0o644); err != nil {
			return err
		}
		now := time.Now()
		s := state.State{ActiveRegion: "NAM", Generation: gen, OutageStartedAt: now.Add(-5 * time.Minute), LastProbeAt: now.Add(-2 * time.Second)}
		_, err := state.NewFileStore(statePath).Swap(ctx, state.State{}, s)
		return err
	}

	runs := max(b.o.runs/3, 7)
	const rssRuns = 3
	var ours, sh series
	for i := range runs + 1 + rssRuns {
		// The last runs go through GNU time for the peak RSS, untimed.
		rss := i > runs
		oursArgv, shArgv := []string{b.host}, []string{"/bin/sh", "-c", shell}
		var r, rs procRun
		if err := reset(int64(i)); err != nil {
			return err
		}
		startsBefore := sv.starts()
		if rss {
			r, err = ours.measureRSS(ctx, dir, env, oursArgv...)
		} else {
			r, err = runProc(ctx, env, oursArgv...)
		}
		if err != nil {
			return err
		}
		if r.code != 0 || !strings.Contains(r.stdout, `"action":"failover"`) || !strings.Contains(r.stdout, `"to":"EU"`) {
			return fmt.Errorf("failover run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		got, err := remote.ReadEnvFile(envFile)
		if err != nil || got.Region != "EU" {
			return fmt.Errorf("env file after the failover: %+v, %v", got, err)
		}
		if err := sv.waitStarts(startsBefore + 1); err != nil {
			return fmt.Errorf("after one failover: %w", err)
		}
		startsBefore = sv.starts()
		if rss {
			rs, err = sh.measureRSS(ctx, dir, nil, shArgv...)
		} else {
			rs, err = runProc(ctx, nil, shArgv...)
		}
		if err != nil {
			return err
		}
		if rs.code != 0 {
			return fmt.Errorf("baseline: exit %d: %s", rs.code, rs.stderr)
		}
		if err := sv.waitStarts(startsBefore + 1); err != nil {
			return fmt.Errorf("after the baseline: %w", err)
		}
		if i > 0 && !rss { // the first pair warms caches
			ours.add(r)
			sh.add(rs)
		}
	}
	b.figs["failover.ours"] = ours.wall().Seconds()
	b.figs["failover.shell"] = sh.wall().Seconds()
	b.report.add(row{
		section: "Host one-shot",
		figure:  fmt.Sprintf("at the failover: pre-flight 2 regions, intent, env file, restart 1 program (startsecs=0) on a real supervisord, result; median of %d", runs),
		ours:    ms(ours.wall()), baseline: "shell write + `supervisorctl restart app` " + ms(sh.wall()),
		ratio: ratio(float64(ours.wall()), float64(sh.wall())), command: "make bench (hostFailover)",
	})
	b.report.add(row{
		section: "Host one-shot",
		figure:  "at the failover: peak RSS (GNU time %M, max of 3 runs)",
		ours:    mb(ours.peakRSS()), baseline: "shell + supervisorctl " + mb(sh.peakRSS()),
		ratio:   ratio(float64(ours.peakRSS()), float64(sh.peakRSS())),
		command: "make bench (hostFailover)",
	})
	return nil
}
