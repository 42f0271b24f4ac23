// This file holds fanOut, the bounded concurrency of pushes to several
// supervisords.

package remote

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// fanOut calls fn(ctx, i) for every i in [0, n), at most limit at a time
// (limit < 1 means one at a time), and returns the errors by index: one
// call's error stops no other. Once ctx is done no further calls start;
// their error is ctx.Err(). fanOut returns when every started call has
// returned.
func fanOut(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) []error {
	errs := make([]error, n)
	var g errgroup.Group
	g.SetLimit(max(limit, 1))
	for i := range n {
		g.Go(func() error {
			if errs[i] = ctx.Err(); errs[i] == nil {
				errs[i] = fn(ctx, i)
			}
			return nil
		})
	}
	_ = g.Wait() // every call returns nil: the errors are by index
	return errs
}
