package check

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"extcloud-failover/internal/state"
	"extcloud-failover/internal/testenv"
)

// logLines parses the JSON lines w logged, by message.
func (w *world) logLines() map[string][]map[string]any {
	w.t.Helper()
	out := map[string][]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(w.logs.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			w.t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		msg, _ := m["msg"].(string)
		out[msg] = append(out[msg], m)
	}
	return out
}

// TestProbePhasesOnFailureLines pins where the probe's phase timings go: a
// probe_phase_ms object on the lines of a failed probe, never on a healthy
// summary, and an extcloud.probe.phase_ms gauge for every probe.
func TestProbePhasesOnFailureLines(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	metrics := &metricsRecorder{}
	run := func() {
		t.Helper()
		deps := w.deps()
		deps.Metrics = metrics
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := Run(ctx, testenv.Config(t, w.env), deps); err != nil {
			t.Fatal(err)
		}
	}
	run() // healthy
	if got := len(metrics.gauges["extcloud.probe.phase_ms"]); got == 0 {
		t.Error("no extcloud.probe.phase_ms gauge for a healthy probe")
	}
	if _, ok := w.logLines()["check complete"][0]["probe_phase_ms"]; ok {
		t.Error("a healthy summary carries probe_phase_ms")
	}

	w.up["NAM"].Store(false)
	w.now = w.now.Add(10 * time.Second)
	run()
	lines := w.logLines()
	for _, line := range []map[string]any{lines["outage started"][0], lines["check complete"][1]} {
		phases, ok := line["probe_phase_ms"].(map[string]any)
		if !ok {
			t.Fatalf("%q line has no probe_phase_ms object: %v", line["msg"], line)
		}
		for _, name := range []string{"connect", "first_byte"} {
			if v, _ := phases[name].(float64); v <= 0 {
				t.Errorf("%q line: probe_phase_ms.%s = %v, want > 0 (%v)", line["msg"], name, phases[name], phases)
			}
		}
		if _, ok := phases["tls"]; ok {
			t.Errorf("%q line: a tls phase for a plain HTTP probe: %v", line["msg"], phases)
		}
	}
}

func TestFailoverForcedDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.step(0)
	before := w.load()
	cfg := testenv.Config(t, w.env)
	cfg.DryRun = true
	deps := w.deps()
	deps.DryRunStore = state.NewFileStore(w.store.Path() + ".dry-run")
	res, err := Failover(context.Background(), cfg, deps, FailoverRequest{To: "EU"})
	if err != nil || res.Action != "would_failover" || res.To != "EU" || !res.DryRun {
		t.Fatalf("forced dry run = %+v, %v", res, err)
	}
	if s := w.load(); s.Version != before.Version || len(w.pusher.calls()) != 0 {
		t.Fatalf("forced dry run wrote state (version %d -> %d) or pushed %d", before.Version, s.Version, len(w.pusher.calls()))
	}
	if dry, err := deps.DryRunStore.Load(context.Background()); err != nil || dry.ActiveRegion != "EU" {
		t.Errorf("the dry run's own state %+v, %v: want EU", dry, err)
	}
	if len(w.logLines()["would fail over from NAM to EU"]) != 1 || len(w.logLines()["failover from NAM to EU"]) != 0 {
		t.Errorf("the forced dry run does not say what it would do: %s", w.logs.String())
	}
}
