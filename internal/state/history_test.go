// Tests of the audit trail and the per-region health record.
package state_test

import (
	"testing"
	"time"

	"extcloud-failover/internal/state"
)

func TestRecordKeepsTheNewestHistoryMax(t *testing.T) {
	t.Parallel()
	var s state.State
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for i := range state.HistoryMax + 5 {
		prev := s.History
		s = s.Record(state.Event{At: at.Add(time.Duration(i) * time.Minute), Kind: state.EventFailover, Generation: int64(i)})
		if len(prev) > 0 && &prev[0] == &s.History[0] {
			t.Fatal("Record shares the caller's slice")
		}
	}
	if len(s.History) != state.HistoryMax {
		t.Fatalf("len(History) = %d, want %d", len(s.History), state.HistoryMax)
	}
	if first, last := s.History[0].Generation, s.History[len(s.History)-1].Generation; first != 5 || last != int64(state.HistoryMax+4) {
		t.Fatalf("History keeps generations %d..%d, want 5..%d", first, last, state.HistoryMax+4)
	}
}

func TestNewFieldsRoundTrip(t *testing.T) {
	t.Parallel()
	est := time.FixedZone("EST", -5*3600)
	at := time.Date(2026, 12, 1, 3, 0, 0, 0, est)
	s := state.State{
		Version:      1,
		ActiveRegion: "EU",
		Regions:      map[string]state.RegionHealth{"NAM": {Healthy: false, Since: at, Streak: 3}},
		Pause:        &state.Pause{Until: at.Add(time.Hour), At: at, Reason: "maintenance", By: "sre@host"},
	}.Record(state.Event{At: at, Kind: state.EventPause, Reason: "maintenance", By: "sre@host"})
	data, err := state.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := state.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if h := got.Regions["NAM"]; h.Since.Location() != time.UTC || !h.Since.Equal(at) || h.Streak != 3 {
		t.Errorf("Regions[NAM] = %+v, want since %v in UTC, streak 3", h, at)
	}
	if got.Pause == nil || !got.Pause.Until.Equal(at.Add(time.Hour)) || got.Pause.Reason != "maintenance" {
		t.Errorf("Pause = %+v", got.Pause)
	}
	if len(got.History) != 1 || got.History[0].Kind != state.EventPause || got.History[0].At.Location() != time.UTC {
		t.Errorf("History = %+v", got.History)
	}
	bad := s
	bad.Regions = map[string]state.RegionHealth{"EU": {Streak: -1}}
	data, _ = state.Encode(bad)
	if _, err := state.Decode(data); err == nil {
		t.Error("Decode accepted a negative streak")
	}
}
