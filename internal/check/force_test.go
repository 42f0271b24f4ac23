// Tests of safe forced failovers: refused past a failed pre-flight unless
// forced, through a pause, and with the hosts' real region as from.
package check

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"extcloud-failover/internal/state"
	"extcloud-failover/internal/testenv"
)

func TestFailoverRefusedWhenTheTargetFailsItsPreflight(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.up["EU"].Store(false)
	cfg := testenv.Config(t, w.env)
	res, err := Failover(context.Background(), cfg, w.deps(), FailoverRequest{To: "EU"})
	var pe *PreflightError
	if !errors.Is(err, ErrPreflightFailed) || !errors.As(err, &pe) || pe.Region != "EU" || err.Error() != "EU failed its pre-flight: status 503" {
		t.Fatalf("Failover to a dead EU = %+v, %v; want refused", res, err)
	}
	if res.Action != ActionNone || len(w.pusher.calls()) != 0 || w.load().Version != 0 {
		t.Fatalf("a refused failover acted: %+v, %d pushes, state version %d", res, len(w.pusher.calls()), w.load().Version)
	}

	res, err = Failover(context.Background(), cfg, w.deps(), FailoverRequest{To: "EU", Force: true, By: "alice"})
	if err != nil || res.Action != ActionFailover || res.To != "EU" || res.Healthy {
		t.Fatalf("forced Failover = %+v, %v", res, err)
	}
	if !strings.Contains(w.logs.String(), `"msg":"forced failover past a failed pre-flight"`) {
		t.Errorf("no forced-past line:\n%s", w.logs.String())
	}
	h := w.load().History
	if len(h) != 1 || h[0].Kind != state.EventForced || !strings.HasPrefix(h[0].Reason, "forced past a failed pre-flight: status 503") {
		t.Errorf("history %+v, want one forced event past the pre-flight", h)
	}
}

func TestForcedFailoverWhilePendingLogsTheHostsRegion(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := testenv.Config(t, w.env)
	// NAM -> EU is pending (its claim expired): the hosts still run NAM.
	pending := state.State{ActiveRegion: "EU", PreviousRegion: "NAM", Generation: 1,
		Pending: &state.Pending{Generation: 1, Region: "EU", Cloud: "eu", ClaimedUntil: w.now.Add(-time.Minute), Attempts: 1}}
	if _, err := w.store.Swap(context.Background(), state.State{}, pending); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		recover func(context.Context) (string, int64, error)
		want    string
	}{
		{"lambda: the region the pending switch left", nil, "NAM"},
		{"host: the env file's region", func(context.Context) (string, int64, error) { return "EU", 1, nil }, "EU"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			deps := w.deps()
			deps.Recover = tt.recover
			deps.Store = &readOnly{w.store}
			res, err := Failover(context.Background(), cfg, deps, FailoverRequest{To: "APAC"})
			if !errors.Is(err, errReadOnly) || res.From != tt.want {
				t.Fatalf("Failover = %+v, %v; want from %s", res, err, tt.want)
			}
			if !strings.Contains(w.logs.String(), `"msg":"failover from `+tt.want+` to APAC"`) {
				t.Errorf("log:\n%s", w.logs.String())
			}
		})
	}
}

var errReadOnly = errors.New("read-only store")

// readOnly is a Store that refuses every write, so a test can look at what
// an invocation would store.
type readOnly struct{ state.Store }

func (readOnly) Swap(context.Context, state.State, state.State) (state.State, error) {
	return state.State{}, errReadOnly
}

func TestPauseHoldsTheFailoverAndTheOutageGoesOn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := testenv.Config(t, w.env)
	w.up["NAM"].Store(false)
	w.plantOutage(5 * time.Minute)
	if _, err := Pause(context.Background(), cfg, w.deps(), PauseRequest{For: time.Hour, Reason: "EU maintenance", By: "alice"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		res := w.step(10 * time.Second)
		if res.Action != ActionPaused || res.To != "" || res.Region != "NAM" || !res.PausedUntil.Equal(t0.Add(time.Hour)) || res.PauseReason != "EU maintenance" {
			t.Fatalf("while paused: %+v", res)
		}
		if !strings.Contains(res.Reason, "paused until ") || !strings.Contains(res.Reason, "by alice: EU maintenance") {
			t.Errorf("reason %q, want until when, by whom and why", res.Reason)
		}
	}
	if n := len(w.pusher.calls()); n != 0 {
		t.Fatalf("%d pushes while paused", n)
	}
	s := w.load()
	if s.Generation != 0 || !s.LastProbeAt.Equal(w.now) || s.OutageStartedAt.IsZero() {
		t.Fatalf("state %+v: want no switch and the outage clock going on", s)
	}
	// A forced failover still works while paused.
	res, err := Failover(context.Background(), cfg, w.deps(), FailoverRequest{To: "APAC", By: "bob"})
	if err != nil || res.Action != ActionFailover || res.To != "APAC" {
		t.Fatalf("forced failover while paused: %+v, %v", res, err)
	}
	if !Paused(w.load(), w.now) {
		t.Error("a forced failover lifted the pause")
	}
}

func TestPauseExpiryFailsOverAtTheFirstRunAfter(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := testenv.Config(t, w.env)
	w.up["NAM"].Store(false)
	w.plantOutage(5 * time.Minute)
	if _, err := Pause(context.Background(), cfg, w.deps(), PauseRequest{For: 25 * time.Second, By: "alice"}); err != nil {
		t.Fatal(err)
	}
	if res := w.step(10 * time.Second); res.Action != ActionPaused {
		t.Fatalf("first run: %+v", res)
	}
	if res := w.step(10 * time.Second); res.Action != ActionPaused {
		t.Fatalf("second run: %+v", res)
	}
	res := w.step(10 * time.Second) // 30s: the pause ended at 25s
	if res.Action != ActionFailover || res.To != "EU" || !res.PausedUntil.IsZero() {
		t.Fatalf("first run after expiry: %+v, want failover to EU", res)
	}
	s := w.load()
	if s.Pause != nil {
		t.Errorf("the ended pause is still stored: %+v", s.Pause)
	}
	var kinds []string
	for _, e := range s.History {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, ","); got != "pause,resume,failover" {
		t.Errorf("history %s, want pause,resume,failover", got)
	}
}
