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
	// InProgress lists hosts still running the push when the call returned
	// (an SSM command outlives one invocation); they are neither converged
	// nor failed yet.
	InProgress []string
	// Commands are the commands the call sent or followed (SSM), ended or
	// not. While one is still running, a later call polls them all (their
	// hosts' outcomes together) instead of pushing again. Empty for pushers
	// whose pushes end with the call.
	Commands []Command
}

// Running reports whether a command of r may still run on some host.
func (r Result) Running() bool {
	for _, c := range r.Commands {
		if !c.Ended {
			return true
		}
	}
	return false
}

// Command is a push that runs on hosts beyond the call that started it: an
// SSM Run Command command.
type Command struct {
	// ID names it to the service (an SSM command ID).
	ID string
	// Until is when it has ended on every host whatever happens: sent, plus
	// the delivery timeout, plus the execution timeout.
	Until time.Time
	// Ended is set once it had ended on every host when last read.
	Ended bool
}
