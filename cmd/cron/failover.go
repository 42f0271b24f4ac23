package main

// This file holds the failover command: a forced switch to --to REGION,
// refused when the region fails its pre-flight unless --force.

import (
	"context"
	"errors"
	"fmt"

	"extcloud-failover/internal/check"
)

func (a *app) failover(ctx context.Context) int {
	if _, err := a.cfg.CloudOf("--to", a.to); err != nil {
		fmt.Fprintln(a.stderr, "extcloud-failover: "+err.Error())
		return exitUsage
	}
	req := check.FailoverRequest{To: a.to, Force: a.force, By: a.operator()}
	var refused error
	code := a.invoke(ctx, func(ctx context.Context, deps check.Deps) (check.Result, error) {
		res, err := check.Failover(ctx, a.cfg, deps, req)
		if errors.Is(err, check.ErrPreflightFailed) {
			refused = err
		}
		return res, err
	})
	if refused != nil {
		fmt.Fprintf(a.stderr, "extcloud-failover: failover --to %s refused: %v; add --force to switch anyway\n", a.to, refused)
	}
	return code
}
