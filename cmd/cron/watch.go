package main

// watch.go: `extcloud-failover watch`, the long-running form for a container
// whose PID 1 is supervisord, or any host without a timer: one invocation
// every PROBE_INTERVAL, in process.

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"extcloud-failover/internal/check"
	"extcloud-failover/internal/config"
	"extcloud-failover/internal/remote"
)

// watch is `extcloud-failover watch`: the configuration was loaded and
// validated once (exit 2 before anything runs); the parts are built once;
// then one invocation every PROBE_INTERVAL until ctx ends (SIGTERM,
// SIGINT), when the invocation in flight finishes within CHECK_TIMEOUT and
// watch exits 0. It uses the same state file with the same flock and
// compare-and-swap as timer runs, so both may run side by side.
func (a *app) watch(ctx context.Context) int {
	if err := a.refuseSelfRestart(); err != nil {
		fmt.Fprintln(a.stderr, "extcloud-failover: "+err.Error())
		return exitUsage
	}
	p, err := a.hostParts()
	if err != nil {
		fmt.Fprintln(a.stderr, "extcloud-failover: "+err.Error())
		return exitUsage
	}
	defer p.close()
	log := p.deps.Log
	loop := &watchLoop{
		interval: a.cfg.ProbeInterval,
		timeout:  a.cfg.CheckTimeout,
		log:      log,
		once: func(ctx context.Context) error {
			return p.once(ctx, func(ctx context.Context, deps check.Deps) (check.Result, error) {
				return check.Run(ctx, a.cfg, deps)
			})
		},
	}
	if a.environ != nil {
		// Once, to the log: a container's log is where a typo gets noticed.
		for _, m := range config.NearMisses(a.environ()) {
			log.Warn(nearMissText(m), "variable", m.Name, "did_you_mean", m.Variable)
		}
	}
	log.Info("watch started", "interval", a.cfg.ProbeInterval.String(), "check_timeout", a.cfg.CheckTimeout.String())
	n := loop.run(ctx)
	slog.New(p.local).Info("watch stopped", "invocations", n, "reason", fmt.Sprint(context.Cause(ctx)))
	return exitOK
}

// refuseSelfRestart refuses a SUPERVISOR_PROGRAMS that would restart this
// very process: supervisord tells the programs it starts their name
// (SUPERVISOR_GROUP_NAME, SUPERVISOR_PROCESS_NAME) and its address
// (SUPERVISOR_SERVER_URL). When that address is one of SUPERVISOR_URL (or
// not given), a listed entry naming the checker (app:* with the checker in
// group app) would stop it in the middle of its own push.
func (a *app) refuseSelfRestart() error {
	get := func(k string) string {
		if a.lookupEnv == nil {
			return ""
		}
		v, _ := a.lookupEnv(k)
		return v
	}
	group, name := get("SUPERVISOR_GROUP_NAME"), get("SUPERVISOR_PROCESS_NAME")
	if group == "" || name == "" {
		return nil // not started by supervisord
	}
	if server := get("SUPERVISOR_SERVER_URL"); server != "" && !remote.SameSupervisor(server, a.cfg.SupervisorURLs) {
		return nil // another supervisord runs the checker
	}
	if entry := remote.RestartsSelf(a.cfg.SupervisorPrograms, group, name); entry != "" {
		return fmt.Errorf("SUPERVISOR_PROGRAMS: %q would restart this checker, which supervisord runs as %s:%s, in the middle of its own push (list the other programs, e.g. %s)",
			entry, group, name, exampleOthers(group, name))
	}
	return nil
}

// exampleOthers is the handler's program list for the checker's group.
func exampleOthers(group, name string) string {
	if group == name {
		return "app:stunnel,app:cloud-client,app:application"
	}
	return group + ":stunnel," + group + ":cloud-client," + group + ":application"
}

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
		if n%watchStatsEvery == 0 {
			w.stats(n)
		}
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

// watchStatsEvery is how many invocations pass between two "watch running"
// lines (about 2 h 45 min at the default PROBE_INTERVAL).
const watchStatsEvery = 1000

// stats logs that the loop is alive and what it holds, so that a leak
// shows in the log (make bench reads these lines over 10,000 invocations).
// heap_bytes is the live heap: it collects garbage first, which every
// 1,000 invocations costs nothing that matters.
func (w *watchLoop) stats(n int) {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	attrs := []any{"invocations", n, "goroutines", runtime.NumGoroutine(), "heap_bytes", m.HeapAlloc}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		// Between two invocations, so nothing of one is open; less the
		// descriptor of the listing itself.
		attrs = append(attrs, "open_files", len(fds)-1)
	}
	w.log.Info("watch running", attrs...)
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
