package remote

import (
	"context"
	"sync"
)

// fanOut calls fn(ctx, i) for every i in [0, n), at most limit at a time
// (limit < 1 means one at a time), and returns the errors by index. Once ctx
// is done no further calls start; their error is ctx.Err(). fanOut returns
// when every started call has returned.
func fanOut(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) []error {
	errs := make([]error, n)
	if limit < 1 {
		limit = 1
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			for j := i; j < n; j++ {
				errs[j] = ctx.Err()
			}
			wg.Wait()
			return errs
		}
		if err := ctx.Err(); err != nil {
			<-sem
			for j := i; j < n; j++ {
				errs[j] = err
			}
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = fn(ctx, i)
		}()
	}
	wg.Wait()
	return errs
}
