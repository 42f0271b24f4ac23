package main

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"extcloud-failover/internal/state"
)

// switchLines returns the `failover from` / `failback from` lines of invs.
func switchLines(invs ...invocation) []string {
	var out []string
	for _, inv := range invs {
		for _, l := range inv.lines {
			if msg, _ := l["message"].(string); strings.HasPrefix(msg, "failover from") || strings.HasPrefix(msg, "failback from") {
				out = append(out, msg)
			}
		}
	}
	return out
}

func TestE2EFlappingRegionFailsOverOnce(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	var invs []invocation
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		f.nam.Down.Store(i%6 != 5) // down five probes in six
		inv := f.run()
		if inv.code != 0 {
			t.Fatalf("run %d: exit %d: %s", i, inv.code, inv.stderr)
		}
		invs = append(invs, inv)
		if inv.action() == "failover" {
			break
		}
	}
	for range 5 { // NAM keeps flapping; EU is healthy
		invs = append(invs, f.run())
	}
	if got := switchLines(invs...); len(got) != 1 || got[0] != "failover from NAM to EU" {
		t.Fatalf("switch lines %q, want one failover from NAM to EU", got)
	}
	recovering := 0
	for _, inv := range invs {
		if inv.action() == "recovering" {
			recovering++
		}
	}
	if recovering == 0 || f.envRegion() != "EU" || f.starts() != 2 {
		t.Errorf("recovering runs %d, env %q, starts %d", recovering, f.envRegion(), f.starts())
	}
}

// TestE2EOnceAMinuteStillFailsOver runs the checker at a sixth of
// PROBE_INTERVAL's rate, as a once-a-minute crontab line would with the
// default 10s, all durations scaled down 80 times: a gap within
// OUTAGE_MAX_GAP keeps the outage clock, so it fails over at the threshold.
func TestE2EOnceAMinuteStillFailsOver(t *testing.T) {
	t.Parallel()
	f := newFleet(t, "PROBE_INTERVAL=125ms", "OUTAGE_MAX_GAP=1125ms", "FAILOVER_THRESHOLD=3s")
	f.nam.Down.Store(true)
	// The ticker is the crontab: it paces the runs, it does not wait for a
	// condition.
	tick := time.NewTicker(750 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for i := 0; ; i++ {
		inv := f.run()
		if inv.action() == "failover" {
			if got := switchLines(inv); len(got) != 1 {
				t.Errorf("switch lines %q", got)
			}
			break
		}
		if inv.action() == "outage_started" && i > 0 {
			t.Fatalf("run %d restarted the outage clock: %s", i, inv.stdout)
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("no failover after %d runs in %v", i+1, time.Since(start))
		}
		<-tick.C
	}
	if f.envRegion() != "EU" {
		t.Errorf("env region %q, want EU", f.envRegion())
	}
}

func TestE2EConcurrentRunsLogOneFailover(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	f.nam.Down.Store(true)
	f.plantOutage(time.Minute)
	const runs = 30
	invs := make([]invocation, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() { invs[i] = f.run() })
	}
	wg.Wait()
	for i, inv := range invs {
		if inv.code != 0 {
			t.Errorf("run %d: exit %d: %s", i, inv.code, inv.stderr)
		}
	}
	if got := switchLines(invs...); len(got) != 1 || got[0] != "failover from NAM to EU" {
		t.Errorf("switch lines %q, want exactly one", got)
	}
	if f.envRegion() != "EU" || f.starts() != 2 || f.readState().Generation != 1 {
		t.Errorf("env %q, starts %d, generation %d", f.envRegion(), f.starts(), f.readState().Generation)
	}
}

func TestE2EFutureStateDoesNotDelayAFailover(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	f.nam.Down.Store(true)
	ahead := time.Now().UTC().Add(3 * time.Hour)
	s := state.State{Version: 1, ActiveRegion: "NAM", OutageStartedAt: ahead, LastProbeAt: ahead, LastFailoverAt: ahead,
		Regions: map[string]state.RegionHealth{"NAM": {Since: ahead, Streak: 3}},
		History: []state.Event{{At: ahead, Kind: state.EventFailover, From: "EU", To: "NAM"}}}
	data, err := state.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.stateFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	first := f.run()
	warned := false
	for _, l := range first.lines {
		msg, _ := l["message"].(string)
		if l["level"] == "warn" && strings.Contains(msg, "outage_started_at, last_probe_at, last_failover_at, regions.NAM.since, history[0].at lies more than CHECK_TIMEOUT") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning naming the fields:\n%s", first.stdout)
	}
	for f.envRegion() != "EU" {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("no failover within 20s of a state 3h in the future (threshold 2s)")
		}
		f.run()
	}
	if got := time.Since(start); got > 10*time.Second {
		t.Errorf("failover took %v, want about the 2s threshold", got)
	}
}

func TestE2EFailbackToThePrimary(t *testing.T) {
	t.Parallel()
	f := newFleet(t, "FAILBACK=primary", "FAILBACK_AFTER=2s", "RECOVERY_PROBES=2")
	f.nam.Down.Store(true)
	f.plantOutage(time.Minute)
	if inv := f.run(); inv.action() != "failover" {
		t.Fatalf("action %q: %s", inv.action(), inv.stdout)
	}
	f.nam.Down.Store(false)
	back := time.Now()
	if inv := f.run(); inv.action() != "none" {
		t.Fatalf("first run with NAM back: action %q", inv.action())
	}
	st := f.run("status")
	if !strings.Contains(st.stdout, "failback:       due at ") || !strings.Contains(st.stdout, ", to NAM, if it stays healthy") {
		t.Errorf("status does not say when the failback is due:\n%s", st.stdout)
	}
	var failback invocation
	for failback.action() != "failback" {
		if time.Since(back) > 20*time.Second {
			t.Fatalf("no failback within 20s of FAILBACK_AFTER=2s")
		}
		failback = f.run()
		if failback.action() == "failback" && time.Since(back) < 2*time.Second {
			t.Fatalf("failback %v after the primary came back, FAILBACK_AFTER=2s", time.Since(back))
		}
	}
	if got := switchLines(failback); len(got) != 1 || got[0] != "failback from EU to NAM" {
		t.Errorf("switch lines %q", got)
	}
	if f.envRegion() != "NAM" || f.readState().Generation != 2 || f.starts() != 3 {
		t.Errorf("env %q generation %d starts %d", f.envRegion(), f.readState().Generation, f.starts())
	}
	if st := f.run("status"); !strings.Contains(st.stdout, "failback:       none due") {
		t.Errorf("status after the failback:\n%s", st.stdout)
	}
}
