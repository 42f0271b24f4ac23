package check

import (
	"context"
	"time"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
)

// Store is the state the checker keeps between invocations.
type Store interface {
	Load(ctx context.Context) (state.State, error)
	Swap(ctx context.Context, old, next state.State) (state.State, error)
}

// Pusher points hosts at a target. hosts lists the hosts to push to; empty
// means every configured target.
type Pusher interface {
	Push(ctx context.Context, t remote.Target, hosts []string) (remote.Result, error)
}

// GuardResult is one local-network measurement.
type GuardResult struct {
	// OK is true when our own network reached something.
	OK bool
	// Latency is the measured round trip, when one was measured.
	Latency time.Duration
	// Err says why the guard failed.
	Err error
}

// Guard tells a failure of our own network from an outage of the cloud.
type Guard interface {
	Check(ctx context.Context) GuardResult
}

// Metrics receives the invocation's figures. Implementations must not block
// and must never fail the invocation.
type Metrics interface {
	Gauge(name string, value float64, tags ...string)
	Count(name string, value int64, tags ...string)
}
