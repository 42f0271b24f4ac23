package check

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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

// TestSummaryHealthyOnlyWhenTheActiveRegionWasProbed pins that a `check
// complete` line leaves `healthy` out when the region it names was not
// probed (a refused failover probed only its target; a run that stopped
// before the probes probed nothing), so that a monitor or `simulate --log`
// does not read it as a failed probe; and keeps it when it was.
func TestSummaryHealthyOnlyWhenTheActiveRegionWasProbed(t *testing.T) {
	t.Parallel()
	type outcome struct {
		res Result
		err error
	}
	tests := []struct {
		name    string
		run     func(w *world) outcome
		healthy *bool
	}{
		{name: "refused failover", run: func(w *world) outcome {
			w.up["EU"].Store(false)
			res, err := Failover(context.Background(), testenv.Config(t, w.env), w.deps(), FailoverRequest{To: "EU"})
			return outcome{res, err}
		}},
		{name: "state unreadable", run: func(w *world) outcome {
			cfg := testenv.Config(t, w.env)
			deps := w.deps()
			deps.Store = unreadable{}
			res, err := Run(context.Background(), cfg, deps)
			return outcome{res, err}
		}},
		{name: "forced failover", healthy: ptr(true), run: func(w *world) outcome {
			res, err := Failover(context.Background(), testenv.Config(t, w.env), w.deps(), FailoverRequest{To: "EU"})
			return outcome{res, err}
		}},
		{name: "active down", healthy: ptr(false), run: func(w *world) outcome {
			w.up["NAM"].Store(false)
			res, err := w.run(context.Background(), nil)
			return outcome{res, err}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			got := tt.run(w)
			if (got.res.Healthy == nil) != (tt.healthy == nil) || (tt.healthy != nil && *got.res.Healthy != *tt.healthy) {
				t.Errorf("Result.Healthy = %v (err %v), want %v", got.res.Healthy, got.err, tt.healthy)
			}
			lines := w.logLines()["check complete"]
			if len(lines) != 1 {
				t.Fatalf("%d check complete lines, want one:\n%s", len(lines), w.logs.String())
			}
			h, ok := lines[0]["healthy"]
			switch {
			case tt.healthy == nil && ok:
				t.Errorf("summary says healthy %v of a region it did not probe:\n%s", h, w.logs.String())
			case tt.healthy != nil && h != *tt.healthy:
				t.Errorf("summary healthy = %v, want %v:\n%s", h, *tt.healthy, w.logs.String())
			}
			if _, ok := lines[0]["regions"]; !ok {
				t.Errorf("summary has no regions field:\n%s", w.logs.String())
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// unreadable is a state store whose folder is gone.
type unreadable struct{}

func (unreadable) Load(context.Context) (state.State, error) {
	return state.State{}, errors.New("open /gone/state.json: no such file or directory")
}

func (unreadable) Swap(context.Context, state.State, state.State) (state.State, error) {
	return state.State{}, errors.New("open /gone/state.json: no such file or directory")
}
