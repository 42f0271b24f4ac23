// This file holds the failover command: a forced switch to --to REGION,
// refused when the region fails its pre-flight unless --force.

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"extcloud-failover/internal/check"
)

// failoverFlags is failover's own flags, --to and --force, and its body.
func failoverFlags(fs *flag.FlagSet) body {
	to := fs.String("to", "", "the region to switch to (required)")
	force := fs.Bool("force", false, "switch even when the region fails its pre-flight")
	return func(ctx context.Context, a *app) int { return a.failover(ctx, *to, *force) }
}

func (a *app) failover(ctx context.Context, to string, force bool) int {
	if to == "" {
		fmt.Fprintln(a.stderr, "extcloud-failover: --to: required with failover (e.g. failover --to EU)")
		return exitUsage
	}
	if _, err := a.cfg.CheckRegion("--to", to); err != nil {
		fmt.Fprintln(a.stderr, "extcloud-failover: "+err.Error())
		return exitUsage
	}
	req := check.FailoverRequest{To: to, Force: force, By: a.operator()}
	var refused error
	code := a.invoke(ctx, func(ctx context.Context, deps check.Deps) (check.Result, error) {
		res, err := check.Failover(ctx, a.cfg, deps, req)
		if errors.Is(err, check.ErrPreflightFailed) {
			refused = err
		}
		return res, err
	})
	if refused != nil {
		fmt.Fprintf(a.stderr, "extcloud-failover: failover --to %s refused: %v; add --force to switch anyway\n", to, refused)
	}
	return code
}
