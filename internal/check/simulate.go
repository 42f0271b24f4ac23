// This file holds the simulator: the real Decide run over a timeline in
// virtual time, with no network, files or restarts, and its summary.
package check

import (
	"time"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/state"
)

// Cell is one region's condition in one row of a timeline.
type Cell uint8

// The cells of a timeline: CellDark means our own network is down (the
// region's probe fails, and so does the local-network guard).
const (
	CellUp Cell = iota
	CellDown
	CellDark
)

// String returns the cell as written in a timeline: up, down or dark.
func (c Cell) String() string {
	switch c {
	case CellUp:
		return "up"
	case CellDown:
		return "down"
	}
	return "dark"
}

// Row is one invocation of a timeline.
type Row struct {
	// At is the time of the invocation since the first row.
	At time.Duration
	// Cells holds one cell per Timeline.Regions entry.
	Cells []Cell
}

// Timeline is what a simulation replays: rows in time order, each with
// every region's condition.
type Timeline struct {
	// Regions are the column names, in EXT_CLOUD_FAILOVER_LIST order.
	Regions []string
	Rows    []Row
	// Start is the active region at the first row; empty means the primary.
	Start string
	// Origin is the wall time of the first row when the timeline came from a
	// log; zero for a CSV timeline.
	Origin time.Time
}

// SimOptions are the settings a simulation runs with.
type SimOptions struct {
	Policy  Policy
	Regions []config.Region // EXT_CLOUD_FAILOVER_LIST
	// ProbeInterval is PROBE_INTERVAL: rows further apart than one and a half
	// intervals are reported as a gap.
	ProbeInterval time.Duration
	// Guard is whether a local-network guard runs (LATENCY_CHECK is not
	// off): without one, a dark cell is just a failed probe.
	Guard bool
}

// SimSwitch is one switch of a simulation.
type SimSwitch struct {
	Seconds float64 `json:"seconds"`
	From    string  `json:"from"`
	To      string  `json:"to"`
	Kind    string  `json:"kind"`
	Reason  string  `json:"reason"`
	// DownSeconds is how long the region left had been down (zero for a
	// failback).
	DownSeconds float64 `json:"down_seconds"`
}

// SimGap is a stretch of missed invocations.
type SimGap struct {
	Seconds        float64 `json:"seconds"` // the row before the gap
	LengthSeconds  float64 `json:"length_seconds"`
	RestartedClock bool    `json:"restarted_clock"` // longer than OUTAGE_MAX_GAP during an outage
}

// SimDecision is one decision of a simulation that changed something.
type SimDecision struct {
	Seconds float64 `json:"seconds"`
	Action  Action  `json:"action"`
	Region  string  `json:"region"`
	To      string  `json:"to,omitempty"`
	Reason  string  `json:"reason"`
}

// SimRow is the simulation's state after one row, for drawing.
type SimRow struct {
	At          time.Duration
	Active      string
	Action      Action
	OutageSince time.Duration // when the active region's outage began; -1 when none
	FailbackDue time.Duration // when a failback is due; -1 when none
}

// Summary is the outcome of a simulation.
type Summary struct {
	Switches       []SimSwitch   `json:"switches"`
	Gaps           []SimGap      `json:"gaps"`
	AllDownSeconds float64       `json:"all_down_seconds"`
	Rows           int           `json:"rows"`
	FinalRegion    string        `json:"final_region"`
	Decisions      []SimDecision `json:"decisions"`
	// Trace holds one entry per row.
	Trace []SimRow `json:"-"`
}

// simEpoch is the virtual time of a CSV timeline's first row.
var simEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Simulate runs Decide over tl as Run would, every push converging at once,
// and summarises what it did. It reads no clock, file or network.
func Simulate(tl Timeline, o SimOptions) Summary {
	origin := tl.Origin
	if origin.IsZero() {
		origin = simEpoch
	}
	clouds := make(map[string]string, len(o.Regions))
	for _, r := range o.Regions {
		clouds[r.Name] = r.Cloud
	}
	start := tl.Start
	if start == "" {
		start = o.Policy.Primary
	}
	sum := Summary{Rows: len(tl.Rows), Switches: []SimSwitch{}, Gaps: []SimGap{}, Decisions: []SimDecision{},
		Trace: make([]SimRow, 0, len(tl.Rows))}
	s := state.State{ActiveRegion: start}
	obs := Observation{Regions: make([]RegionResult, len(tl.Regions))}
	var last SimDecision
	for i, row := range tl.Rows {
		now := origin.Add(row.At)
		fillObservation(&obs, tl.Regions, row.Cells, clouds, s.ActiveRegion, o.Guard)
		active := s.ActiveRegion
		d := Decide(s, obs, now, o.Policy)
		secs := row.At.Seconds()
		if i > 0 {
			if gap := row.At - tl.Rows[i-1].At; gap > o.ProbeInterval*3/2 {
				sum.Gaps = append(sum.Gaps, SimGap{Seconds: tl.Rows[i-1].At.Seconds(), LengthSeconds: gap.Seconds(), RestartedClock: d.Gap > 0})
			}
		}
		if d.Action == ActionAllDown {
			next := o.ProbeInterval
			if i+1 < len(tl.Rows) {
				next = tl.Rows[i+1].At - row.At
			}
			sum.AllDownSeconds += next.Seconds()
		}
		if d.Action == ActionFailover || d.Action == ActionFailback {
			sw := SimSwitch{Seconds: secs, From: active, To: d.To, Kind: string(d.Action), Reason: d.Reason}
			if d.Action == ActionFailover {
				sw.DownSeconds = d.Outage.Seconds()
			}
			sum.Switches = append(sum.Switches, sw)
		}
		if dec := (SimDecision{Seconds: secs, Action: d.Action, Region: active, To: d.To, Reason: d.Reason}); d.Action != ActionNone &&
			(dec.Action != last.Action || dec.Reason != last.Reason || dec.Region != last.Region) {
			sum.Decisions = append(sum.Decisions, dec)
		}
		last = SimDecision{Action: d.Action, Reason: d.Reason, Region: active}
		if d.Write {
			s = d.State
			s.Pending = nil
		}
		tr := SimRow{At: row.At, Active: s.ActiveRegion, Action: d.Action, OutageSince: -1, FailbackDue: -1}
		if !s.OutageStartedAt.IsZero() {
			tr.OutageSince = s.OutageStartedAt.Sub(origin)
		}
		if due, ok := FailbackDue(s, o.Policy); ok {
			tr.FailbackDue = due.Sub(origin)
		}
		sum.Trace = append(sum.Trace, tr)
	}
	sum.FinalRegion = s.ActiveRegion
	return sum
}

// fillObservation turns one row into what Run would have observed: a dark
// active region with no other region answering is inconclusive when a
// guard runs.
func fillObservation(obs *Observation, regions []string, cells []Cell, clouds map[string]string, active string, guard bool) {
	othersUp, dark, activeUp := false, false, false
	for i, name := range regions {
		c := cells[i]
		obs.Regions[i] = RegionResult{Region: name, Cloud: clouds[name], Healthy: c == CellUp}
		dark = dark || c == CellDark
		if name == active {
			activeUp = c == CellUp
		} else if c == CellUp {
			othersUp = true
		}
	}
	obs.Inconclusive = guard && dark && !activeUp && !othersUp
}
