// This file holds the Lambda function's checks: the state item and the SSM
// targets.

package doctor

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/state"
)

// StateLoader reads the state item; the DynamoDB store satisfies it.
type StateLoader interface {
	Load(ctx context.Context) (state.State, error)
}

// Instances is what one SSM target resolves to (see ssmpush.Describe).
type Instances struct {
	// Target is the target as SSM_TARGETS writes it.
	Target string
	// Online are the instance IDs whose agent is online.
	Online []string
	// NotOnline maps the other instance IDs to their ping status.
	NotOnline map[string]string
	// Err says why SSM could not be asked.
	Err error
}

// Lambda is everything the function's doctor talks to.
type Lambda struct {
	Config *config.Config
	Probes
	Store StateLoader
	// Describe resolves every entry of SSM_TARGETS.
	Describe func(ctx context.Context) []Instances
}

// Run runs every check of the function, in order: the state item, regions,
// guard, SSM targets.
func (l Lambda) Run(ctx context.Context) Report {
	var rep Report
	cfg := l.Config
	part := fmt.Sprintf("state item %s in table %s", cfg.StateKey, cfg.StateTable)
	s, err := l.Store.Load(ctx)
	switch {
	case err != nil:
		rep.add(Fail, part, err.Error(), "check that STATE_TABLE exists in this account and region and that the function's role may GetItem and PutItem on it")
	case s.Version == 0:
		rep.ok(part, "table readable; no item yet (the first check that has something to keep writes it)")
	default:
		rep.ok(part, "readable; version %d, %s active, generation %d", s.Version, s.ActiveRegion, s.Generation)
	}
	active := s.ActiveRegion
	if active == "" {
		active = cfg.Primary()
	}
	l.checkRegions(ctx, &rep, cfg, active)
	l.checkGuard(ctx, &rep, cfg)
	total := 0
	for _, in := range l.Describe(ctx) {
		part := "SSM target " + in.Target
		total += len(in.Online)
		switch {
		case in.Err != nil:
			rep.add(Fail, part, in.Err.Error(), "check that the function's role may ssm:DescribeInstanceInformation")
		case len(in.Online) == 0 && len(in.NotOnline) == 0:
			fix := "tag the hosts as SSM_TARGETS says, and check that their SSM agent is registered"
			if !strings.HasPrefix(in.Target, "tag:") {
				fix = "check the instance ID in SSM_TARGETS, and that its SSM agent is registered in this account and region"
			}
			rep.add(Fail, part, "resolves to no managed instance", fix)
		case len(in.NotOnline) > 0:
			ids := slices.Sorted(maps.Keys(in.NotOnline))
			var offline []string
			for _, id := range ids {
				offline = append(offline, id+" "+in.NotOnline[id])
			}
			rep.add(Fail, part, fmt.Sprintf("%d online, %d not online (%s)", len(in.Online), len(ids), strings.Join(offline, ", ")),
				"a push does not reach a host whose SSM agent is offline: restart the agent, or remove the host from the target")
		default:
			rep.ok(part, "%d managed instances online", len(in.Online))
		}
	}
	if len(cfg.SSMTargets) > 0 && total == 0 {
		rep.add(Fail, "SSM targets", "no managed instance online: a failover would reach no host", "see the targets above")
	}
	return rep
}
