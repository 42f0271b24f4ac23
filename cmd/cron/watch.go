package main

// watch.go: `extcloud-failover watch`, the long-running form for a container
// whose PID 1 is supervisord, or any host without a timer: one invocation
// every PROBE_INTERVAL, in process.

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"
)

// watchLoop runs one invocation every interval, start to start, never two
// at once. It is the loop of `watch` without the process around it.
type watchLoop struct {
	// interval is PROBE_INTERVAL: from one start to the next.
	interval time.Duration
	// timeout is CHECK_TIMEOUT: each invocation's deadline.
	timeout time.Duration
	// once is one invocation; its error is logged and the loop goes on.
	once func(ctx context.Context) error
	log  *slog.Logger
	// now and after are the clock (nil: the real one).
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

// run calls once every interval until ctx is done. An invocation in flight
// when ctx ends is not cancelled: it runs to its own deadline (timeout), then
// run returns. An invocation that overruns its slot makes the loop skip the
// slots it covered, so the cadence stays and invocations never overlap. It
// returns the number of invocations.
func (w *watchLoop) run(ctx context.Context) int {
	now, after := w.now, w.after
	if now == nil {
		now = time.Now
	}
	if after == nil {
		after = time.After
	}
	n := 0
	next := now()
	for {
		start := now()
		w.invoke(ctx)
		n++
		if ctx.Err() != nil {
			return n
		}
		next = next.Add(w.interval)
		if late := now().Sub(next); late > 0 {
			skipped := late/w.interval + 1
			next = next.Add(skipped * w.interval)
			w.log.Warn(fmt.Sprintf("invocation took %s, longer than PROBE_INTERVAL (%s); %d start(s) skipped",
				now().Sub(start).Round(time.Millisecond), w.interval, skipped))
		}
		select {
		case <-ctx.Done():
			return n
		case <-after(next.Sub(now())):
		}
	}
}

// invoke runs one invocation under its own deadline, detached from ctx's
// cancellation so that a SIGTERM lets it finish. A panic is logged like a
// failure: the loop must outlive one bad invocation.
func (w *watchLoop) invoke(ctx context.Context) {
	runCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			w.log.Error("invocation panicked; watch goes on", "error", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	if err := w.once(runCtx); err != nil {
		w.log.Error("invocation failed; watch goes on", "error", err.Error())
	}
}
