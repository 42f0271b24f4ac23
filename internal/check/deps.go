// This file holds the small interfaces check uses its parts through; the
// state store is state.Store, whose contract state defines.

package check

import (
	"context"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/probe"
	"extcloud-failover/internal/remote"
)

// Pusher points hosts at a target. hosts lists the hosts to push to; empty
// means every configured target.
type Pusher interface {
	Push(ctx context.Context, t remote.Target, hosts []string) (remote.Result, error)
}

// RegionProber probes one region; probe.Prober is the real one.
type RegionProber interface {
	Probe(ctx context.Context, r config.Region) probe.Result
}

// Guard tells a failure of our own network from an outage of the cloud;
// probe.Guard is the real one.
type Guard interface {
	Check(ctx context.Context) probe.GuardResult
}

// Metrics receives the invocation's figures. Implementations must not block
// and must never fail the invocation.
type Metrics interface {
	Gauge(name string, value float64, tags ...string)
	Count(name string, value int64, tags ...string)
}
