// This file holds what every pusher shares: Target, Result and their
// errors.

package remote

import (
	"errors"
	"time"
)

// ErrStaleGeneration means a host already runs a newer generation than the
// one pushed; the push is refused there and must not be retried.
var ErrStaleGeneration = errors.New("remote: host has a newer generation")

// ErrUnknownHost means a pending host is no longer among the configured
// targets (the configuration changed); it is dropped, not retried.
var ErrUnknownHost = errors.New("remote: host no longer configured")

// Target is what the hosts must be pointed at after a push.
type Target struct {
	Region     string
	Cloud      string
	Generation int64
}

// Result is the outcome of one push, per host.
type Result struct {
	// Converged lists hosts that now run with the target's env file.
	Converged []string
	// Failed maps each host that did not converge to why. A host that refused
	// a stale generation maps to an error wrapping ErrStaleGeneration.
	Failed map[string]error
	// InFlightUntil, when set, is how long hosts that had not answered may
	// still run this push (a command outlives the caller's deadline); a
	// re-push before then would overlap it.
	InFlightUntil time.Time
}
