// Package statetest holds what the tests of every state.Store share: a
// record that sets every field, and the race that exactly one writer must
// win. It is imported by tests only.
package statetest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"extcloud-failover/internal/state"
)

// Full returns a State with every field set, at version 7.
func Full() state.State {
	at := time.Date(2025, 3, 4, 5, 6, 7, 890000000, time.UTC)
	return state.State{
		Version:         7,
		ActiveRegion:    "EU",
		Generation:      3,
		OutageStartedAt: at,
		LastProbeAt:     at.Add(10 * time.Second),
		LastFailoverAt:  at.Add(-time.Hour),
		PreviousRegion:  "NAM",
		Pending: &state.Pending{
			Generation:   3,
			Region:       "EU",
			Cloud:        "eu.cloud.example",
			Hosts:        []string{"i-0abc", "i-0def"},
			ClaimedUntil: at.Add(time.Minute),
			Attempts:     2,
			LastError:    "host i-0abc: timeout",
			Commands:     []state.Command{{ID: "4b3f2a1e-0000-4000-8000-000000000001", Until: at.Add(6 * time.Minute)}},
		},
		LatencyMS: 12.5,
		LatencyAt: at,
	}
}

// Race lets racers goroutines Swap from v1 at the same moment, racer i
// through storeFor(i), and fails t unless exactly one wins, every other gets
// state.ErrConflict, and a later Load returns the winner's record.
func Race(t *testing.T, ctx context.Context, v1 state.State, racers int, storeFor func(i int) state.Store) {
	t.Helper()
	var (
		wg        sync.WaitGroup
		start     = make(chan struct{})
		mu        sync.Mutex
		winners   []string
		conflicts int
		others    []error
	)
	for i := range racers {
		store := storeFor(i)
		id := "racer-" + strconv.Itoa(i)
		wg.Go(func() {
			<-start
			_, err := store.Swap(ctx, v1, state.State{ActiveRegion: "EU", PreviousRegion: id})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, id)
			case errors.Is(err, state.ErrConflict):
				conflicts++
			default:
				others = append(others, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(winners) != 1 || conflicts != racers-1 || len(others) != 0 {
		t.Fatalf("winners %v, %d conflicts, other errors %v; want exactly one winner and %d conflicts",
			winners, conflicts, others, racers-1)
	}
	got, err := storeFor(0).Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != v1.Version+1 || got.PreviousRegion != winners[0] {
		t.Errorf("stored %+v; want version %d written by %s", got, v1.Version+1, winners[0])
	}
}
