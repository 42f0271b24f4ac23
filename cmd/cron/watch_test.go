package main

import (
	"bytes"
	"context"
	"errors"
	"extcloud-failover/internal/testenv/syncbuf"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeClock drives watchLoop: an invocation advances it by its duration,
// and a wait advances it by the wait.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) after(d time.Duration) <-chan time.Time {
	c.advance(d)
	ch := make(chan time.Time, 1)
	ch <- c.now()
	return ch
}

// loopOf returns a watchLoop on a fake clock whose invocations take the
// given durations in turn and cancel ctx after the last; it records their
// start times (seconds from the first) and the log.
func loopOf(t *testing.T, interval time.Duration, took []time.Duration, fail func(i int) error) (w *watchLoop, ctx context.Context, starts *[]float64, log *bytes.Buffer) {
	t.Helper()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	t0 := clock.now()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log = &bytes.Buffer{}
	starts = &[]float64{}
	running := 0
	w = &watchLoop{
		interval: interval,
		timeout:  30 * time.Second,
		log:      slog.New(slog.NewTextHandler(log, nil)),
		now:      clock.now,
		after:    clock.after,
		once: func(runCtx context.Context) error {
			running++
			defer func() { running-- }()
			if running != 1 {
				t.Errorf("%d invocations at once", running)
			}
			i := len(*starts)
			*starts = append(*starts, clock.now().Sub(t0).Seconds())
			clock.advance(took[i])
			if i == len(took)-1 {
				cancel()
			}
			if fail != nil {
				return fail(i)
			}
			return nil
		},
	}
	return w, ctx, starts, log
}

func TestWatchLoopCadence(t *testing.T) {
	tests := []struct {
		name string
		took []time.Duration
		want []float64
		warn string
	}{
		{"start to start", []time.Duration{3 * time.Second, time.Second, 9 * time.Second, 0}, []float64{0, 10, 20, 30}, ""},
		{"exactly one interval starts the next at once", []time.Duration{10 * time.Second, 0}, []float64{0, 10}, ""},
		{"an overrun skips the slots it covered", []time.Duration{15 * time.Second, 2 * time.Second, 31 * time.Second, 0}, []float64{0, 20, 30, 70},
			"longer than PROBE_INTERVAL (10s); 1 start(s) skipped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, ctx, starts, log := loopOf(t, 10*time.Second, tt.took, nil)
			if n := w.run(ctx); n != len(tt.took) {
				t.Errorf("run() = %d invocations, want %d", n, len(tt.took))
			}
			if got := *starts; len(got) != len(tt.want) || !equalFloats(got, tt.want) {
				t.Errorf("starts at %v s, want %v", got, tt.want)
			}
			if tt.warn == "" && strings.Contains(log.String(), "skipped") {
				t.Errorf("log warns of a skip: %s", log)
			}
			if tt.warn != "" && !strings.Contains(log.String(), tt.warn) {
				t.Errorf("log %q lacks %q", log, tt.warn)
			}
		})
	}
}

func equalFloats(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestWatchLoopGoesOnAfterFailure(t *testing.T) {
	w, ctx, starts, log := loopOf(t, time.Second, []time.Duration{0, 0, 0}, func(i int) error {
		switch i {
		case 0:
			return errors.New("store state: disk full")
		case 1:
			panic("boom")
		}
		return nil
	})
	if n := w.run(ctx); n != 3 || len(*starts) != 3 {
		t.Fatalf("run() = %d invocations (%d started), want 3 after a failure and a panic", n, len(*starts))
	}
	for _, want := range []string{"invocation failed; watch goes on", "store state: disk full", "invocation panicked; watch goes on", "boom"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestWatchLoopSignalLetsTheInvocationFinish(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	w := &watchLoop{
		interval: time.Hour,
		timeout:  7 * time.Second,
		log:      slog.New(slog.DiscardHandler),
		once: func(runCtx context.Context) error {
			calls++
			cancel() // SIGTERM arrives in the middle of the invocation
			if err := runCtx.Err(); err != nil {
				t.Errorf("invocation cancelled by the signal: %v", err)
			}
			dl, ok := runCtx.Deadline()
			if left := time.Until(dl); !ok || left <= 6*time.Second || left > 7*time.Second {
				t.Errorf("invocation deadline in %s (set %t), want CHECK_TIMEOUT 7s", left, ok)
			}
			return nil
		},
	}
	done := make(chan int, 1)
	go func() { done <- w.run(ctx) }()
	select {
	case n := <-done:
		if n != 1 || calls != 1 {
			t.Errorf("run() = %d, %d calls; want one invocation, then return", n, calls)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the signal (waited for the next hour's slot?)")
	}
}

func TestWatchLoopLogsItsFigures(t *testing.T) {
	took := make([]time.Duration, watchStatsEvery+1)
	w, ctx, _, log := loopOf(t, time.Second, took, nil)
	w.run(ctx)
	if got := strings.Count(log.String(), "watch running"); got != 1 {
		t.Fatalf("%d watch running lines after %d invocations, want 1:\n%.2000s", got, len(took), log)
	}
	for _, want := range []string{"invocations=1000", "goroutines=", "heap_bytes=", "open_files="} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("watch running line lacks %s", want)
		}
	}
}

// runningWatch is `watch` of the built binary, with its output and its end.
type runningWatch struct {
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan error
}

// startWatch starts `watch` with env; the test's clean-up kills it if the
// test has not stopped it.
func startWatch(t *testing.T, env []string) *runningWatch {
	t.Helper()
	w := &runningWatch{cmd: exec.Command(binPath, "watch"), out: &syncbuf.Buffer{}, done: make(chan error, 1)}
	w.cmd.Env = env
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		<-w.done
	})
	return w
}

// stop sends SIGTERM and returns how watch ended; the test fails when it
// has not ended within limit.
func (w *runningWatch) stop(t *testing.T, limit time.Duration) error {
	t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-w.done:
		w.done <- err // for the clean-up
		return err
	case <-time.After(limit):
		t.Fatalf("watch did not exit within %v of SIGTERM", limit)
		return nil
	}
}

// TestE2EWatchAndTimerRunsSideBySide runs `watch` and one-shot checks at
// the same time, on the same state file, through an outage: they share the
// lock and the compare-and-swap, so there is one failover and one restart.
func TestE2EWatchAndTimerRunsSideBySide(t *testing.T) {
	t.Parallel()
	f := newFleet(t, "PROBE_INTERVAL=200ms")
	w := startWatch(t, f.env)
	watchOut := w.out
	waitFor(t, "watch's first check", func() bool { return strings.Contains(watchOut.String(), `"message":"check complete"`) })

	f.nam.Down.Store(true)
	var mu sync.Mutex
	var oneShots []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				cmd := exec.Command(binPath, "check")
				cmd.Env = f.env
				out, _ := cmd.CombinedOutput()
				mu.Lock()
				oneShots = append(oneShots, string(out))
				mu.Unlock()
			}
		})
	}
	waitFor(t, "the failover to EU", func() bool { return f.envRegion() == "EU" })
	waitFor(t, "the restart", func() bool { return f.starts() >= 2 })
	// A while longer on EU: nobody switches again.
	want := strings.Count(watchOut.String(), `"message":"check complete"`) + 5
	waitFor(t, "five more watch checks", func() bool { return strings.Count(watchOut.String(), `"message":"check complete"`) >= want })
	close(stop)
	wg.Wait()

	if err := w.stop(t, 10*time.Second); err != nil {
		t.Errorf("watch after SIGTERM: %v, want exit 0", err)
	}
	all := watchOut.String() + strings.Join(oneShots, "")
	if n := strings.Count(all, `"message":"failover from NAM to EU"`); n != 1 {
		t.Errorf("%d failover lines across watch and %d one-shots, want 1", n, len(oneShots))
	}
	if got := f.starts(); got != 2 {
		t.Errorf("app started %d times, want 2 (one restart)", got)
	}
	if s := f.readState(); s.ActiveRegion != "EU" || s.Generation != 1 || s.Pending != nil {
		t.Errorf("state %+v, want EU generation 1, nothing pending", s)
	}
}
