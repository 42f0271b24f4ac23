package check

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
)

func TestInterpretPush(t *testing.T) {
	t.Parallel()
	down := errors.New("connection refused")
	stale := fmt.Errorf("h9: %w", remote.ErrStaleGeneration)
	gone := fmt.Errorf("h8: %w", remote.ErrUnknownHost)
	many := map[string]error{}
	for i := range MaxPendingHosts + 1 {
		many[fmt.Sprintf("h%03d", i)] = down
	}
	tests := []struct {
		name      string
		hosts     []string // the pending push's hosts
		result    remote.Result
		perr      error
		converged bool
		retry     []string
		tooMany   int
		lastErr   string
		fates     map[string]hostFate
	}{
		{name: "every host converged", result: remote.Result{Converged: []string{"h1", "h2"}}, converged: true},
		{name: "failed hosts are retried, sorted, first error kept",
			result: remote.Result{Converged: []string{"h1"}, Failed: map[string]error{"h3": down, "h2": down}},
			retry:  []string{"h2", "h3"}, lastErr: "h2: connection refused",
			fates: map[string]hostFate{"h2": hostRetried, "h3": hostRetried}},
		{name: "newer and unknown hosts are not retried",
			result: remote.Result{Failed: map[string]error{"h9": stale, "h8": gone}}, converged: true,
			fates: map[string]hostFate{"h9": hostNewer, "h8": hostGone}},
		{name: "a push error retries the push's hosts", hosts: []string{"h2", "h1"},
			result: remote.Result{Failed: map[string]error{"h2": down}}, perr: errors.New("ssm: throttled"),
			retry: []string{"h1", "h2"}, lastErr: "ssm: throttled", fates: map[string]hostFate{"h2": hostRetried}},
		{name: "a push error to every target retries every target", perr: errors.New("ssm: throttled"), lastErr: "ssm: throttled"},
		{name: "more than MaxPendingHosts go to every target", result: remote.Result{Failed: many},
			tooMany: MaxPendingHosts + 1, lastErr: fmt.Sprintf("%d hosts not converged, e.g. h000: connection refused", MaxPendingHosts+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := interpretPush(state.Pending{Generation: 7, Hosts: tt.hosts}, tt.result, tt.perr, true)
			if out.generation != 7 || out.converged != tt.converged || !reflect.DeepEqual(out.retry, tt.retry) || out.tooMany != tt.tooMany || out.lastErr != tt.lastErr {
				t.Fatalf("interpretPush = gen %d converged %v retry %v tooMany %d lastErr %q; want converged %v retry %v tooMany %d lastErr %q",
					out.generation, out.converged, out.retry, out.tooMany, out.lastErr, tt.converged, tt.retry, tt.tooMany, tt.lastErr)
			}
			if tt.fates != nil {
				got := map[string]hostFate{}
				for _, f := range out.hosts {
					got[f.host] = f.fate
				}
				if !reflect.DeepEqual(got, tt.fates) {
					t.Errorf("fates = %v, want %v", got, tt.fates)
				}
			}
		})
	}
}

func TestPushOutcomeRecord(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	claimed := state.State{Version: 3, Generation: 7, Pending: &state.Pending{Generation: 7, Region: "EU", ClaimedUntil: now.Add(time.Minute), Attempts: 1}}

	if next, ok := (pushOutcome{generation: 7, converged: true}).record(claimed, now); !ok || next.Pending != nil {
		t.Errorf("converged: record = %+v, %v; want the pending push cleared", next.Pending, ok)
	}
	next, ok := (pushOutcome{generation: 7, retry: []string{"h2"}, lastErr: "h2: down"}).record(claimed, now)
	if !ok || next.Pending == nil || !reflect.DeepEqual(next.Pending.Hosts, []string{"h2"}) || next.Pending.LastError != "h2: down" || !next.Pending.ClaimedUntil.IsZero() {
		t.Errorf("not converged: record = %+v, %v; want h2 pending, the error kept and the claim released", next.Pending, ok)
	}
	if claimed.Pending.Hosts != nil || claimed.Pending.ClaimedUntil.IsZero() {
		t.Error("record changed the state it was given")
	}
	inFlight := now.Add(5 * time.Minute)
	if next, _ := (pushOutcome{generation: 7, inFlightUntil: inFlight}).record(claimed, now); !next.Pending.ClaimedUntil.Equal(inFlight) {
		t.Errorf("in flight: claimed until %v, want %v (hosts may still run it)", next.Pending.ClaimedUntil, inFlight)
	}
	if next, _ := (pushOutcome{generation: 7, inFlightUntil: now.Add(-time.Second)}).record(claimed, now); !next.Pending.ClaimedUntil.IsZero() {
		t.Errorf("past in-flight: claimed until %v, want released", next.Pending.ClaimedUntil)
	}
	for _, cur := range []state.State{{Generation: 7}, {Generation: 8, Pending: &state.Pending{Generation: 8}}} {
		if _, ok := (pushOutcome{generation: 7, converged: true}).record(cur, now); ok {
			t.Errorf("record on %+v: ok, want nothing to do (recorded or superseded)", cur)
		}
	}
}

// TestInterpretPushInProgress: hosts still running a push are pending but
// not failed, and the round's commands are kept to poll, or, when the
// pusher cannot poll, bound how long nothing is pushed.
func TestInterpretPushInProgress(t *testing.T) {
	t.Parallel()
	until := time.Date(2026, 1, 1, 0, 5, 30, 0, time.UTC)
	running := remote.Result{Converged: []string{"h1"}, InProgress: []string{"h2"},
		Commands: []remote.Command{{ID: "c1", Until: until}, {ID: "c0", Until: until.Add(-time.Minute), Ended: true}}}

	out := interpretPush(state.Pending{Generation: 7}, running, nil, true)
	if out.converged || !out.running || !reflect.DeepEqual(out.retry, []string{"h2"}) || out.failed != 0 || out.lastErr != "" {
		t.Fatalf("in progress: %+v; want h2 pending, nothing failed", out)
	}
	if want := []state.Command{{ID: "c1", Until: until}, {ID: "c0", Until: until.Add(-time.Minute)}}; !reflect.DeepEqual(out.commands, want) || !out.inFlightUntil.IsZero() {
		t.Fatalf("commands %+v, in flight until %v; want every command of the round to poll", out.commands, out.inFlightUntil)
	}
	now := until.Add(-5 * time.Minute)
	claimed := state.State{Generation: 7, Pending: &state.Pending{Generation: 7, ClaimedUntil: now.Add(8 * time.Second), Attempts: 1}}
	next, _ := out.record(claimed, now)
	if !reflect.DeepEqual(next.Pending.Commands, out.commands) || !next.Pending.ClaimedUntil.IsZero() {
		t.Errorf("recorded %+v; want the commands and the claim released for the next check to poll", next.Pending)
	}

	out = interpretPush(state.Pending{Generation: 7}, running, nil, false)
	if out.commands != nil || !out.inFlightUntil.Equal(until) {
		t.Errorf("a pusher that cannot poll: commands %+v, in flight until %v; want none and %v", out.commands, out.inFlightUntil, until)
	}
	out = interpretPush(state.Pending{Generation: 7}, running, errors.New("ssm: throttled"), true)
	if out.commands != nil || !out.inFlightUntil.Equal(until) {
		t.Errorf("a failed call: commands %+v, in flight until %v; want none and %v", out.commands, out.inFlightUntil, until)
	}

	ended := remote.Result{Converged: []string{"h1"}, Commands: []remote.Command{{ID: "c1", Until: until, Ended: true}}}
	out = interpretPush(state.Pending{Generation: 7, Hosts: []string{"h1", "h2"}}, ended, nil, true)
	if out.converged || !reflect.DeepEqual(out.retry, []string{"h2"}) || out.running || out.commands != nil {
		t.Errorf("a pending host the result does not name: %+v; want it still pending, nothing to poll", out)
	}
	out.again = true
	next, _ = out.record(claimed, now)
	if !next.Pending.ClaimedUntil.Equal(claimed.Pending.ClaimedUntil) || next.Pending.Attempts != 2 {
		t.Errorf("pushing again at once: claimed until %v, attempts %d; want the claim kept and one more attempt", next.Pending.ClaimedUntil, next.Pending.Attempts)
	}
}
