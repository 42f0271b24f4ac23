// Tests of the operator's controls: pause and resume.
package check

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"extcloud-failover/internal/state"
	"extcloud-failover/internal/testenv"
)

func TestPauseAndResumeRecordTheAuditTrail(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := testenv.Config(t, w.env)
	ctx := context.Background()

	s, err := Pause(ctx, cfg, w.deps(), PauseRequest{For: 2 * time.Hour, Reason: "EU maintenance", By: "alice@host1"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Pause == nil || !s.Pause.Until.Equal(w.now.Add(2*time.Hour)) || s.Pause.Reason != "EU maintenance" || s.Pause.By != "alice@host1" {
		t.Fatalf("pause = %+v, want 2h from now by alice for EU maintenance", s.Pause)
	}
	if got := w.load(); !Paused(got, w.now) || Paused(got, w.now.Add(2*time.Hour)) {
		t.Fatalf("stored pause %+v: want in force now and over at its end", got.Pause)
	}
	w.now = w.now.Add(time.Minute)
	if _, err := Resume(ctx, cfg, w.deps(), "bob@host2"); err != nil {
		t.Fatal(err)
	}
	got := w.load()
	if got.Pause != nil || len(got.History) != 2 {
		t.Fatalf("after resume: pause %+v, history %+v", got.Pause, got.History)
	}
	if e := got.History[0]; e.Kind != state.EventPause || e.By != "alice@host1" || !strings.HasPrefix(e.Reason, "EU maintenance (until ") {
		t.Errorf("first event %+v, want alice's pause", e)
	}
	if e := got.History[1]; e.Kind != state.EventResume || e.By != "bob@host2" || !e.At.Equal(w.now) {
		t.Errorf("second event %+v, want bob's resume now", e)
	}

	version := got.Version
	if _, err := Resume(ctx, cfg, w.deps(), "bob@host2"); !errors.Is(err, ErrNotPaused) {
		t.Fatalf("second resume: %v, want ErrNotPaused", err)
	}
	if w.load().Version != version {
		t.Error("a resume without a pause wrote the state")
	}
}

func TestResumeAfterExpiryIsNotPaused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := testenv.Config(t, w.env)
	if _, err := Pause(context.Background(), cfg, w.deps(), PauseRequest{For: time.Minute}); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(time.Minute)
	if _, err := Resume(context.Background(), cfg, w.deps(), "bob"); !errors.Is(err, ErrNotPaused) {
		t.Fatalf("resume after expiry: %v, want ErrNotPaused", err)
	}
}

// conflictOnce is a Store whose first Swap loses to a write of another
// invocation, which change makes to the stored state first.
type conflictOnce struct {
	state.Store
	done   atomic.Bool
	change func(state.State) state.State
}

func (c *conflictOnce) Swap(ctx context.Context, old, next state.State) (state.State, error) {
	if !c.done.Swap(true) {
		cur, err := c.Store.Load(ctx)
		if err != nil {
			return state.State{}, err
		}
		if _, err := c.Store.Swap(ctx, cur, c.change(cur)); err != nil {
			return state.State{}, err
		}
	}
	return c.Store.Swap(ctx, old, next)
}

func TestPauseKeepsAConcurrentWrite(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := testenv.Config(t, w.env)
	w.plantOutage(time.Minute)
	deps := w.deps()
	deps.Store = &conflictOnce{Store: w.store, change: func(s state.State) state.State {
		s.LastProbeAt = w.now // another checker's probe, written meanwhile
		return s
	}}
	if _, err := Pause(context.Background(), cfg, deps, PauseRequest{For: time.Hour, By: "alice"}); err != nil {
		t.Fatal(err)
	}
	got := w.load()
	if got.Pause == nil || !got.LastProbeAt.Equal(w.now) || got.OutageStartedAt.IsZero() {
		t.Fatalf("state %+v: want the pause and the other invocation's probe both kept", got)
	}
	if len(got.History) != 1 {
		t.Errorf("history %+v, want one pause event after the retry", got.History)
	}
}

func TestPauseWithoutStateStartsFromTheHosts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := testenv.Config(t, w.env)
	deps := w.deps()
	deps.Recover = func(context.Context) (string, int64, error) { return "EU", 3, nil }
	s, err := Pause(context.Background(), cfg, deps, PauseRequest{For: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if s.ActiveRegion != "EU" || s.Generation != 3 {
		t.Errorf("pause stored %s generation %d, want the hosts' EU generation 3", s.ActiveRegion, s.Generation)
	}
}

func TestPauseRefusesBadInput(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := testenv.Config(t, w.env)
	for _, tt := range []struct {
		req  PauseRequest
		want string
	}{
		{PauseRequest{For: 0}, "pause: 0s must be more than 0 (e.g. 2h)"},
		{PauseRequest{For: MaxPause + time.Second}, "pause: 168h0m1s is longer than 7 days (want at most 168h)"},
		{PauseRequest{For: time.Hour, Reason: "a\x1b[2Jb"}, "pause: reason: has a control character or invalid UTF-8 (want one line of text)"},
		{PauseRequest{For: time.Hour, Reason: strings.Repeat("x", MaxReasonBytes+1)}, "pause: reason: 201 bytes (want at most 200)"},
		{PauseRequest{For: time.Hour, By: "a\nb"}, "pause: by: has a control character or invalid UTF-8 (want one line of text)"},
	} {
		_, err := Pause(context.Background(), cfg, w.deps(), tt.req)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Pause(%+v) = %v, want %q", tt.req, err, tt.want)
		}
	}
	if w.load().Version != 0 {
		t.Error("a refused pause wrote the state")
	}
}

func TestStatusHistoryNewestFirst(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := testenv.Config(t, w.env)
	var s state.State
	kinds := []string{state.EventFailover, state.EventPause, state.EventResume, state.EventForced}
	for i, k := range kinds {
		s = s.Record(state.Event{At: w.now.Add(time.Duration(i) * time.Minute), Kind: k})
	}
	s.Pause = &state.Pause{Until: w.now.Add(-time.Second), Reason: "over"}
	st := NewStatus(cfg, s, w.now)
	for i, e := range st.History {
		if want := kinds[len(kinds)-1-i]; e.Kind != want {
			t.Errorf("history[%d] = %s, want %s (newest first)", i, e.Kind, want)
		}
	}
	if st.Pause != nil {
		t.Errorf("an expired pause is shown: %+v", st.Pause)
	}
	if s.History[0].Kind != state.EventFailover {
		t.Error("NewStatus reordered the state's own history")
	}
	var b strings.Builder
	if err := st.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "paused:         no\n") || strings.Index(out, "forced") > strings.Index(out, "Z  failover") {
		t.Errorf("status text:\n%s", out)
	}
}
