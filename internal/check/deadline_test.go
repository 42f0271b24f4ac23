package check

import (
	"context"
	"strings"
	"testing"
	"time"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
	"extcloud-failover/internal/testenv"
)

// hangingPusher is a supervisord that accepts and never answers: Push
// returns only when its context ends.
type hangingPusher struct{}

func (hangingPusher) Push(ctx context.Context, _ remote.Target, hosts []string) (remote.Result, error) {
	<-ctx.Done()
	res := remote.Result{Failed: map[string]error{}}
	for _, h := range hosts {
		res.Failed[h] = ctx.Err()
	}
	return res, nil
}

// TestRunPushThatTakesTheDeadlineStartsNoOutage: a re-push to a hung
// supervisord uses up the invocation's deadline; the probes that would
// follow have no time left, and a probe cut short by our own deadline says
// nothing about the region. The run must neither start an outage nor mark
// healthy regions down: it reports the pending push and leaves the outage
// clock alone.
func TestRunPushThatTakesTheDeadlineStartsNoOutage(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	pending := state.State{ActiveRegion: "NAM", Generation: 1,
		Pending: &state.Pending{Generation: 1, Region: "NAM", Cloud: "nam", Hosts: []string{"h1"}}}
	if _, err := w.store.Swap(context.Background(), state.State{}, pending); err != nil {
		t.Fatal(err)
	}
	deps := w.deps()
	deps.Pusher = hangingPusher{}
	env := map[string]string{"PROBE_TIMEOUT": "1s", "LATENCY_TIMEOUT": "1s", "CHECK_TIMEOUT": "2s"}
	for k, v := range w.env {
		env[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	res, err := Run(ctx, testenv.Config(t, env), deps)
	if err == nil {
		t.Fatal("Run: no error, want the incomplete push")
	}
	s := w.load()
	if !s.OutageStartedAt.IsZero() || res.Action == ActionOutageStarted {
		t.Errorf("action %s, outage started at %v: a push that took the deadline started an outage", res.Action, s.OutageStartedAt)
	}
	for name, h := range s.Regions {
		if !h.Healthy {
			t.Errorf("region %s stored as down, though it was never probed in time", name)
		}
	}
	if res.Action != ActionPendingPush || s.Pending == nil {
		t.Errorf("action %s, pending %+v; want pending_push, still pending", res.Action, s.Pending)
	}
	if !strings.Contains(w.logs.String(), "nothing probed") {
		t.Errorf("no warning that nothing was probed:\n%s", w.logs.String())
	}
}

// TestNoTimeToProbeSaysWhatToChange: the error reaches the summary line
// and the Lambda's errorMessage, so it names the settings to change.
func TestNoTimeToProbeSaysWhatToChange(t *testing.T) {
	t.Parallel()
	for _, want := range []string{"CHECK_TIMEOUT", "Timeout on Lambda", "status"} {
		if !strings.Contains(ErrNoTimeToProbe.Error(), want) {
			t.Errorf("ErrNoTimeToProbe = %q, want it to name %s", ErrNoTimeToProbe, want)
		}
	}
}
