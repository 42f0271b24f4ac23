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
	// LastProbeAt is the last conclusive failed probe of the current outage; a
	// gap longer than three probe intervals restarts the outage clock.
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
}

// Store keeps one State with compare-and-swap semantics.
type Store interface {
	// Load returns the stored state, or the zero State when none is stored.
	Load(ctx context.Context) (State, error)
	// Swap stores next if the stored version is still old.Version and returns
	// next with its new version; otherwise it returns ErrConflict.
	Swap(ctx context.Context, old, next State) (State, error)
}
