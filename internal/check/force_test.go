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
	if err != nil || res.Action != ActionFailover || res.To != "EU" || res.Healthy == nil || *res.Healthy {
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
	for _, tt := range []struct {
		name    string
		recover func(context.Context) (string, int64, error)
		want    string
	}{
		{"lambda: the region the pending switch left", nil, "NAM"},
		{"host: the env file's region", func(context.Context) (string, int64, error) { return "EU", 1, nil }, "EU"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			cfg := testenv.Config(t, w.env)
			// NAM -> EU is pending (its claim expired).
			pending := state.State{ActiveRegion: "EU", PreviousRegion: "NAM", Generation: 1,
				Pending: &state.Pending{Generation: 1, Region: "EU", Cloud: "eu", ClaimedUntil: w.now.Add(-time.Minute), Attempts: 1}}
			if _, err := w.store.Swap(context.Background(), state.State{}, pending); err != nil {
				t.Fatal(err)
			}
			deps := w.deps()
			deps.Recover = tt.recover
			res, err := Failover(context.Background(), cfg, deps, FailoverRequest{To: "APAC", By: "alice"})
			if err != nil || res.From != tt.want || res.To != "APAC" {
				t.Fatalf("Failover = %+v, %v; want from %s", res, err, tt.want)
			}
			if !strings.Contains(w.logs.String(), `"msg":"failover from `+tt.want+` to APAC"`) {
				t.Errorf("log:\n%s", w.logs.String())
			}
			s := w.load()
			if e := s.History[len(s.History)-1]; e.Kind != state.EventForced || e.From != tt.want || s.PreviousRegion != tt.want {
				t.Errorf("event %+v, previous region %s: want from %s", e, s.PreviousRegion, tt.want)
			}
		})
	}
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
	if Paused(s, w.now) {
		t.Errorf("the ended pause is still in force: %+v", s.Pause)
	}
	// An end is not an operator's resume: no event, so it does not restore
	// the failover budget; the pause event says until when.
	var kinds []string
	for _, e := range s.History {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, ","); got != "pause,failover" {
		t.Errorf("history %s, want pause,failover", got)
	}
}
