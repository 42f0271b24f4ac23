// End-to-end tests of the on-call's controls on the built binary with a
// real supervisord: pause and resume, pause expiry, forced failovers
// (refused past a failed pre-flight, --force, while paused), the audit
// trail, and the dry run shadowing a whole outage beside a real checker.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runUntil runs the checker until it reports want, failing on any action
// not in along; it returns the run that reported want.
func (f *fleet) runUntil(want string, along ...string) invocation {
	f.t.Helper()
	var got invocation
	waitFor(f.t, "action "+want, func() bool {
		inv := f.run()
		if inv.code != 0 {
			f.t.Fatalf("exit %d: %s %s", inv.code, inv.stdout, inv.stderr)
		}
		if inv.action() == want {
			got = inv
			return true
		}
		for _, a := range along {
			if inv.action() == a {
				return false
			}
		}
		f.t.Fatalf("action %q while waiting for %q:\n%s", inv.action(), want, inv.stdout)
		return false
	})
	return got
}

func (f *fleet) statusJSON() map[string]any {
	f.t.Helper()
	st := f.run("status", "--json")
	var rep map[string]any
	if err := json.Unmarshal([]byte(st.stdout), &rep); err != nil || st.code != 0 {
		f.t.Fatalf("status --json: exit %d %q: %v", st.code, st.stdout, err)
	}
	return rep
}

func historyKinds(rep map[string]any) []string {
	var kinds []string
	h, _ := rep["history"].([]any)
	for _, e := range h {
		m, _ := e.(map[string]any)
		k, _ := m["kind"].(string)
		kinds = append(kinds, k)
	}
	return kinds
}

func TestE2EPauseHoldsTheFailoverUntilResume(t *testing.T) {
	t.Parallel()
	f := newFleet(t, "USER=alice")
	p := f.run("pause", "--for", "2h", "--reason", "EU maintenance window")
	if p.code != 0 {
		t.Fatalf("pause: exit %d %s %s", p.code, p.stdout, p.stderr)
	}
	st := f.run("status")
	if !strings.Contains(st.stdout, "paused:         until ") || !strings.Contains(st.stdout, "by alice@") || !strings.Contains(st.stdout, ": EU maintenance window") {
		t.Fatalf("status does not show the pause:\n%s", st.stdout)
	}

	f.nam.Down.Store(true)
	f.runUntil("outage_started")
	held := f.runUntil("paused", "none")
	if secs, _ := held.summary["outage_seconds"].(float64); secs < 2 {
		t.Errorf("held after %.1fs, before the 2s threshold", secs)
	}
	if r, _ := held.summary["reason"].(string); !strings.Contains(r, "paused until ") || !strings.Contains(r, "EU maintenance window") {
		t.Errorf("summary reason %q, want until when and why", r)
	}
	if held.summary["pause_reason"] != "EU maintenance window" || held.summary["paused_until"] == nil || held.summary["to"] != nil {
		t.Errorf("summary %v", held.summary)
	}
	for range 2 {
		if inv := f.run(); inv.action() != "paused" {
			t.Fatalf("still paused: action %q", inv.action())
		}
	}
	if f.envRegion() != "NAM" || f.starts() != 1 || f.readState().Generation != 0 {
		t.Fatalf("switched while paused: env %q starts %d", f.envRegion(), f.starts())
	}

	if r := f.run("resume"); r.code != 0 {
		t.Fatalf("resume: exit %d %s", r.code, r.stdout)
	}
	inv := f.run()
	if inv.action() != "failover" || inv.summary["to"] != "EU" || f.envRegion() != "EU" || f.starts() != 2 {
		t.Fatalf("first run after resume: action %q to %v env %q starts %d:\n%s", inv.action(), inv.summary["to"], f.envRegion(), f.starts(), inv.stdout)
	}
	if got := strings.Join(historyKinds(f.statusJSON()), ","); got != "failover,resume,pause" {
		t.Errorf("history newest first = %s, want failover,resume,pause", got)
	}
}

func TestE2EPauseExpiresAndTheOutageFailsOver(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	f.nam.Down.Store(true)
	f.plantOutage(time.Minute)
	if p := f.run("pause", "--for", "1500ms"); p.code != 0 {
		t.Fatalf("pause: exit %d %s", p.code, p.stderr)
	}
	until := f.readState().Pause.Until
	if inv := f.run(); inv.action() != "paused" {
		t.Fatalf("action %q, want paused", inv.action())
	}
	inv := f.runUntil("failover", "paused")
	if inv.summary["to"] != "EU" || time.Now().Before(until) {
		t.Fatalf("failed over to %v, before the pause ended at %v?", inv.summary["to"], until)
	}
	rep := f.statusJSON()
	if f.envRegion() != "EU" || rep["pause"] != nil {
		t.Errorf("env %q, status pause %v: want EU and no pause in force", f.envRegion(), rep["pause"])
	}
	// The end of a pause is no operator's resume: the pause event says
	// until when.
	if got := strings.Join(historyKinds(rep), ","); got != "failover,pause" {
		t.Errorf("history = %s, want failover,pause", got)
	}
}

func TestE2EForcedFailoverRefusedThenForcedWhilePaused(t *testing.T) {
	t.Parallel()
	f := newFleet(t, "USER=bob")
	if p := f.run("pause", "--reason", "cloud migration"); p.code != 0 {
		t.Fatalf("pause: %s", p.stderr)
	}
	f.eu.Down.Store(true)
	refused := f.run("failover", "--to", "EU")
	if refused.code != 1 || strings.Count(strings.TrimSpace(refused.stderr), "\n") != 0 || !strings.Contains(refused.stderr, "--force") ||
		!strings.Contains(refused.stderr, "EU failed its pre-flight: status 503") {
		t.Fatalf("failover --to a dead EU: exit %d stderr %q, want 1 and one line naming --force", refused.code, refused.stderr)
	}
	if f.envRegion() != "NAM" || f.starts() != 1 {
		t.Fatalf("a refused failover switched: env %q starts %d", f.envRegion(), f.starts())
	}
	forced := f.run("failover", "--to", "EU", "--force")
	if forced.code != 0 || forced.action() != "failover" || f.envRegion() != "EU" || f.starts() != 2 {
		t.Fatalf("--force: exit %d action %q env %q starts %d:\n%s%s", forced.code, forced.action(), f.envRegion(), f.starts(), forced.stdout, forced.stderr)
	}
	if !strings.Contains(forced.stdout, `"message":"forced failover past a failed pre-flight"`) {
		t.Errorf("no forced-past line:\n%s", forced.stdout)
	}
	rep := f.statusJSON()
	if got := strings.Join(historyKinds(rep), ","); got != "forced,pause" {
		t.Fatalf("history = %s, want forced,pause", got)
	}
	e := rep["history"].([]any)[0].(map[string]any)
	if e["from"] != "NAM" || e["to"] != "EU" || !strings.HasPrefix(e["by"].(string), "bob@") || !strings.HasPrefix(e["reason"].(string), "forced past a failed pre-flight") {
		t.Errorf("forced event %v", e)
	}
	if rep["pause"] == nil {
		t.Error("the forced failover lifted the pause")
	}
}

func TestE2EAuditTrail(t *testing.T) {
	t.Parallel()
	f := newFleet(t, "USER=carol")
	f.nam.Down.Store(true)
	f.plantOutage(time.Minute)
	if inv := f.run(); inv.action() != "failover" {
		t.Fatalf("action %q", inv.action())
	}
	f.nam.Down.Store(false)
	for _, args := range [][]string{{"pause", "--for", "30m", "--reason", "drill"}, {"resume"}, {"failover", "--to", "APAC"}} {
		if inv := f.run(args...); inv.code != 0 {
			t.Fatalf("%v: exit %d %s %s", args, inv.code, inv.stdout, inv.stderr)
		}
	}
	rep := f.statusJSON()
	if got := strings.Join(historyKinds(rep), ","); got != "forced,resume,pause,failover" {
		t.Fatalf("history newest first = %s, want forced,resume,pause,failover", got)
	}
	h := rep["history"].([]any)
	want := []struct{ from, to, by string }{{"EU", "APAC", "carol@"}, {"", "", "carol@"}, {"", "", "carol@"}, {"NAM", "EU", ""}}
	for i, w := range want {
		e := h[i].(map[string]any)
		from, _ := e["from"].(string)
		to, _ := e["to"].(string)
		by, _ := e["by"].(string)
		if from != w.from || to != w.to || !strings.HasPrefix(by, w.by) || e["at"] == nil {
			t.Errorf("event %d = %v, want from %q to %q by %q", i, e, w.from, w.to, w.by)
		}
	}
	st := f.run("status")
	if i, j := strings.Index(st.stdout, "forced"), strings.Index(st.stdout, "Z  failover"); i < 0 || j < i || !strings.Contains(st.stdout, "EU -> APAC") {
		t.Errorf("status text, newest first:\n%s", st.stdout)
	}
}

func TestE2EDryRunShadowsAWholeOutage(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	dry := *f
	dry.env = append(append([]string{}, f.env...), "DRY_RUN=true")
	// An empty state folder: no state, no env file yet.
	if err := os.Remove(f.envFile); err != nil {
		t.Fatal(err)
	}
	f.nam.Down.Store(true)

	// The dry run alone, from an empty state folder, through the outage.
	var shadowLog strings.Builder
	first := dry.run()
	if first.action() != "outage_started" {
		t.Fatalf("dry run: action %q:\n%s", first.action(), first.stdout)
	}
	shadowLog.WriteString(first.stdout)
	var would invocation
	waitFor(t, "would_failover", func() bool {
		inv := dry.run()
		shadowLog.WriteString(inv.stdout)
		switch inv.action() {
		case "none":
			return false
		case "would_failover":
			would = inv
			return true
		}
		t.Fatalf("dry run: action %q:\n%s", inv.action(), inv.stdout)
		return false
	})
	if !strings.Contains(shadowLog.String(), `"message":"dry run: would push generation 0 of NAM: env file missing`) {
		t.Errorf("the dry run does not say it would write the missing env file:\n%s", shadowLog.String())
	}
	if would.summary["to"] != "EU" || would.summary["dry_run"] != true {
		t.Fatalf("would_failover summary %v, want to EU", would.summary)
	}
	if secs, _ := would.summary["outage_seconds"].(float64); secs < 2 {
		t.Errorf("would fail over after %.1fs, before the 2s threshold", secs)
	}
	for _, l := range would.lines {
		if msg, _ := l["message"].(string); strings.HasPrefix(msg, "failover from") || l["level"] == "warn" && strings.Contains(msg, "failover") {
			t.Errorf("a dry run logged a real failover line: %v", l)
		}
		if l["message"] == "would fail over from NAM to EU" && l["level"] != "info" {
			t.Errorf("would-fail-over line at %v, want info", l["level"])
		}
	}
	for _, p := range []string{f.stateFile, f.envFile} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the dry run created %s: %v", p, err)
		}
	}
	if f.starts() != 1 {
		t.Errorf("the dry run restarted the app")
	}
	if inv := dry.run(); inv.action() != "none" || inv.summary["region"] != "EU" {
		t.Errorf("the dry run does not go on from its own failover: action %q region %v", inv.action(), inv.summary["region"])
	}
	// simulate --log reads the dry run's lines: the same outage, the same
	// switch.
	logPath := filepath.Join(t.TempDir(), "shadow.log")
	if err := os.WriteFile(logPath, []byte(shadowLog.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	sim := dry.run("simulate", "--log", logPath, "--json")
	var sum struct {
		Switches []struct{ From, To, Kind string } `json:"switches"`
	}
	if err := json.Unmarshal([]byte(sim.stdout), &sum); err != nil || sim.code != 0 {
		t.Fatalf("simulate --log: exit %d %q %s: %v", sim.code, sim.stdout, sim.stderr, err)
	}
	if len(sum.Switches) != 1 || sum.Switches[0].From != "NAM" || sum.Switches[0].To != "EU" {
		t.Errorf("simulate --log of the dry run: switches %+v, want one NAM -> EU\n%s\n%s", sum.Switches, sim.stdout, shadowLog.String())
	}

	// A real checker beside it, on a host whose env file is in place, is
	// not disturbed: its own outage, its own failover, one restart.
	f.deploy()
	f.runUntil("outage_started")
	real := f.runUntil("failover", "none")
	if real.summary["to"] != "EU" || f.envRegion() != "EU" || f.starts() != 2 {
		t.Fatalf("real failover: to %v env %q starts %d", real.summary["to"], f.envRegion(), f.starts())
	}
	if s := f.readState(); s.Generation != 1 || s.ActiveRegion != "EU" {
		t.Errorf("real state %+v", s)
	}
	// The hosts now run what the dry run would have done: nothing to push.
	if inv := dry.run(); inv.action() != "none" || f.starts() != 2 {
		t.Errorf("dry run after the real failover: action %q starts %d:\n%s", inv.action(), f.starts(), inv.stdout)
	}
	st := dry.run("status")
	if !strings.Contains(st.stdout, "active region:  EU") || !strings.Contains(st.stdout, "failover  NAM -> EU") {
		t.Errorf("status --dry-run shows the dry run's own state:\n%s", st.stdout)
	}
}

// TestE2EFailoverToAnIPv6LoopbackCloud: a cloud given as [::1]:port is
// accepted (it is loopback), probed, and written to the env file.
func TestE2EFailoverToAnIPv6LoopbackCloud(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatalf("listen on [::1]: %v", err)
	}
	v6 := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
	v6.Listener = l
	v6.Start()
	t.Cleanup(v6.Close)
	cloud := strings.TrimPrefix(v6.URL, "http://") // [::1]:port
	f := newFleet(t)
	f.env = append(f.env, "EXT_CLOUD_FAILOVER_LIST=NAM="+f.nam.Cloud()+",EU="+cloud)
	if inv := f.run("validate"); inv.code != 0 {
		t.Fatalf("validate with EU=%s: exit %d %s", cloud, inv.code, inv.stderr)
	}
	f.nam.Down.Store(true)
	f.plantOutage(time.Minute)
	inv := f.run()
	if inv.action() != "failover" || inv.summary["to"] != "EU" || f.starts() != 2 {
		t.Fatalf("failover to %s: action %q starts %d:\n%s", cloud, inv.action(), f.starts(), inv.stdout)
	}
	env, _ := os.ReadFile(f.envFile)
	if !strings.Contains(string(env), "EXT_CLOUD="+cloud+"\n") {
		t.Errorf("env file does not name %s:\n%s", cloud, env)
	}
}
