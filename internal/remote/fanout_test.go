package remote

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func TestFanOut(t *testing.T) {
	tests := []struct {
		name     string
		n, limit int
		wantMax  int
	}{
		{"limit below n", 20, 3, 3},
		{"limit above n", 2, 8, 2},
		{"zero limit means one", 5, 0, 1},
		{"nothing to do", 0, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var running, peak atomic.Int32
			// Each call waits until limit calls run at once (or all have
			// started), so the peak is reached deterministically.
			var mu sync.Mutex
			started := 0
			full := make(chan struct{})
			errs := fanOut(context.Background(), tt.n, tt.limit, func(ctx context.Context, i int) error {
				cur := running.Add(1)
				defer running.Add(-1)
				for {
					p := peak.Load()
					if cur <= p || peak.CompareAndSwap(p, cur) {
						break
					}
				}
				mu.Lock()
				started++
				if started == min(tt.n, tt.wantMax) && tt.n > 0 {
					close(full)
				}
				mu.Unlock()
				<-full
				if i%2 == 1 {
					return fmt.Errorf("call %d", i)
				}
				return nil
			})
			if len(errs) != tt.n {
				t.Fatalf("got %d errors, want %d", len(errs), tt.n)
			}
			for i, err := range errs {
				if want := i%2 == 1; (err != nil) != want || (want && err.Error() != fmt.Sprintf("call %d", i)) {
					t.Errorf("errs[%d] = %v", i, err)
				}
			}
			if got := int(peak.Load()); got != tt.wantMax {
				t.Errorf("peak concurrency %d, want %d", got, tt.wantMax)
			}
		})
	}
}

func TestFanOutCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	errs := fanOut(ctx, 5, 1, func(ctx context.Context, i int) error {
		calls.Add(1)
		if i == 1 {
			cancel()
		}
		return nil
	})
	if got := calls.Load(); got != 2 {
		t.Errorf("%d calls, want 2 (none after cancel)", got)
	}
	for i, err := range errs {
		if want := i >= 2; errors.Is(err, context.Canceled) != want {
			t.Errorf("errs[%d] = %v, want canceled=%t", i, err, want)
		}
	}
}
