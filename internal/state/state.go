// This file holds the State record, its parts (pending push, region health,
// pause, audit trail), the Store interface and its sentinel errors.

package state

import (
	"context"
	"errors"
	"time"
)

// ErrConflict means the stored version is not the one the caller read: another
// invocation wrote first. Callers reload and do not act.
var ErrConflict = errors.New("state: version conflict")

// ErrCorrupt means the stored record could not be decoded. The FileStore has
// already moved the damaged file aside when it returns this error.
var ErrCorrupt = errors.New("state: corrupt record")

// State is the record one checker keeps between invocations. The zero value
// (Version 0) means "nothing stored yet".
type State struct {
	// Version is the compare-and-swap token: every write must name the version
	// it read, and a successful write stores Version+1.
	Version int64 `json:"version"`
	// ActiveRegion is the region the hosts are (or are being) pointed at.
	ActiveRegion string `json:"active_region,omitempty"`
	// Generation counts failovers; the env file carries it as
	// EXT_CLOUD_GENERATION so a stale push can be refused.
	Generation int64 `json:"generation"`
	// OutageStartedAt is the first failed probe of the current outage of
	// ActiveRegion, zero when healthy.
	OutageStartedAt time.Time `json:"outage_started_at,omitzero"`
	// LastProbeAt is the last conclusive probe of the current outage (failed,
	// or healthy while it recovers); a gap longer than OUTAGE_MAX_GAP restarts
	// the outage clock.
	LastProbeAt time.Time `json:"last_probe_at,omitzero"`
	// LastFailoverAt is when the last failover intent was written.
	LastFailoverAt time.Time `json:"last_failover_at,omitzero"`
	// PreviousRegion is the region the last failover left.
	PreviousRegion string `json:"previous_region,omitempty"`
	// Pending is a failover whose push has not yet converged on every host.
	Pending *Pending `json:"pending,omitempty"`
	// LatencyMS is the last local-network latency figure, measured at LatencyAt.
	LatencyMS float64   `json:"latency_ms,omitempty"`
	LatencyAt time.Time `json:"latency_at,omitzero"`
	// Regions is each region's health as last probed, by region name. It is
	// written only when something flips (or a streak grows towards its cap),
	// so a healthy steady state costs no write.
	Regions map[string]RegionHealth `json:"regions,omitempty"`
	// Pause holds automatic switches until Pause.Until; nil when not paused.
	Pause *Pause `json:"pause,omitempty"`
	// History is the audit trail of switches and controls, oldest first, at
	// most HistoryMax entries; see Record.
	History []Event `json:"history,omitempty"`
}

// RegionHealth is what the checker knows of one region between invocations.
type RegionHealth struct {
	// Healthy is the result of the last conclusive probe.
	Healthy bool `json:"healthy"`
	// Since is when Healthy last flipped (the first probe with this result).
	Since time.Time `json:"since,omitzero"`
	// Streak counts consecutive probes with this result; writers cap it (at
	// RECOVERY_PROBES) so that a steady state stops writing.
	Streak int `json:"streak,omitempty"`
}

// Pause is an operator's hold on automatic switches.
type Pause struct {
	Until  time.Time `json:"until"`
	At     time.Time `json:"at,omitzero"`
	Reason string    `json:"reason,omitempty"`
	// By names who paused: $USER@hostname on a host, the caller on Lambda.
	By string `json:"by,omitempty"`
}

// Event kinds of the audit trail.
const (
	EventFailover = "failover"
	EventFailback = "failback"
	EventForced   = "forced"
	EventPause    = "pause"
	EventResume   = "resume"
)

// HistoryMax is how many events State.History keeps.
const HistoryMax = 20

// Event is one entry of the audit trail: a switch or an operator's control.
type Event struct {
	At         time.Time `json:"at"`
	Kind       string    `json:"kind"`
	From       string    `json:"from,omitempty"`
	To         string    `json:"to,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	By         string    `json:"by,omitempty"`
	Generation int64     `json:"generation,omitempty"`
}

// Record returns s with e appended to its history, dropping the oldest events
// beyond HistoryMax. It never shares the caller's slice.
func (s State) Record(e Event) State {
	h := make([]Event, 0, min(len(s.History)+1, HistoryMax))
	if drop := len(s.History) + 1 - HistoryMax; drop > 0 {
		h = append(h, s.History[drop:]...)
	} else {
		h = append(h, s.History...)
	}
	s.History = append(h, e)
	return s
}

// Pending is a failover intent: written before the push, removed once every
// host has converged.
type Pending struct {
	Generation int64  `json:"generation"`
	Region     string `json:"region"`
	Cloud      string `json:"cloud"`
	// Hosts are the hosts that have not converged yet; empty means all targets.
	Hosts []string `json:"hosts,omitempty"`
	// ClaimedUntil is the deadline of the invocation that holds the push; no
	// other invocation pushes this generation before it has passed.
	ClaimedUntil time.Time `json:"claimed_until,omitzero"`
	// Attempts counts pushes of this generation.
	Attempts int `json:"attempts"`
	// LastError is the last push failure, for status.
	LastError string `json:"last_error,omitempty"`
	// Commands are the commands of the last push round (SSM Run Command)
	// while one of them may still run on hosts: a later invocation polls
	// them instead of sending again, and sends again only to the hosts that
	// failed, timed out or never received them. Empty once the round is
	// over, and for pushers whose pushes end with the call (supervisord).
	Commands []Command `json:"commands,omitempty"`
}

// Command is one command of a push round that outlives the invocation that
// sent it.
type Command struct {
	// ID is the service's name for it (an SSM command ID).
	ID string `json:"id"`
	// Until is when it has ended on every host whatever happens: sent, plus
	// the delivery timeout, plus the execution timeout.
	Until time.Time `json:"until"`
}

// MaxCommands is the most commands a Pending keeps: 10,000 hosts sent 50
// instance IDs to a command, with room to spare.
const MaxCommands = 250

// maxCommandID bounds a command ID's length (SSM's are 36 characters).
const maxCommandID = 128

// Store keeps one State with compare-and-swap semantics.
type Store interface {
	// Load returns the stored state, or the zero State when none is stored.
	Load(ctx context.Context) (State, error)
	// Swap stores next if the stored version is still old.Version and returns
	// next with its new version; otherwise it returns ErrConflict.
	Swap(ctx context.Context, old, next State) (State, error)
}
