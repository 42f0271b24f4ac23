package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
	"extcloud-failover/internal/testenv"
	"extcloud-failover/internal/testenv/syncbuf"
)

// Crash consistency on the built binary: a failover from NAM (down) to EU is
// SIGKILLed while it is held, by outside means only, at one point of the
// invocation; then normal invocations run. The binary has no test hooks:
//
//   - after the intent, before the push: ENV_FILE is a FIFO, so reading the
//     current env file blocks after the intent is stored;
//   - after the env file is written, before the restart: a proxy in front of
//     supervisord holds supervisor.getState, the first call after the write;
//   - after the restart, before the state records it: the proxy holds the
//     getProcessInfo that checks the restarted program;
//   - during the state write: the test holds the state's flock (<state>.lock),
//     for the intent's write or for the write that records the push.
//
// Afterwards the fleet converges to EU with exactly one restart of the
// application, the generation only grows, the state decodes and the env
// file parses. The in-process matrix over both stores and both pushers is
// internal/check/crash_test.go.

// crashEnv is the fleet environment for crash tests: a short CHECK_TIMEOUT,
// so that the claim of a killed invocation expires quickly.
var crashEnv = []string{"CHECK_TIMEOUT=3s", "PROBE_TIMEOUT=1s", "LATENCY_TIMEOUT=1s"}

// heldProxy forwards XML-RPC to a supervisord on a unix socket, holding the
// first call of one method until released.
type heldProxy struct {
	srv     *httptest.Server
	method  string
	mu      sync.Mutex
	holding bool // a call is held now
	done    bool // the held call was answered (or dropped)
	release chan struct{}
	once    sync.Once
}

var methodNameRE = regexp.MustCompile(`<methodName>([^<]*)</methodName>`)

func newHeldProxy(t *testing.T, socket, method string) *heldProxy {
	t.Helper()
	p := &heldProxy{method: method, release: make(chan struct{})}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		m := methodNameRE.FindSubmatch(body)
		held := false
		p.mu.Lock()
		if m != nil && string(m[1]) == p.method && !p.holding && !p.done {
			p.holding, held = true, true
		}
		p.mu.Unlock()
		if held {
			defer func() {
				p.mu.Lock()
				p.holding, p.done = false, true
				p.mu.Unlock()
			}()
			select {
			case <-p.release:
			case <-r.Context().Done():
				return // the caller was killed: drop the call
			}
		}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, "http://localhost/RPC2", bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header = r.Header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(func() { p.Release(); p.srv.Close() })
	return p
}

// URL is the proxy's address for SUPERVISOR_URL.
func (p *heldProxy) URL() string { return p.srv.URL + "/RPC2" }

// Holding reports whether a call is held now.
func (p *heldProxy) Holding() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.holding
}

// Answered reports whether the held call has been forwarded and answered.
func (p *heldProxy) Answered() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Release lets the held call (and every later one) through.
func (p *heldProxy) Release() { p.once.Do(func() { close(p.release) }) }

// background is a binary started without waiting for it.
type background struct {
	cmd  *exec.Cmd
	out  syncbuf.Buffer
	done chan struct{}
	err  error
}

func (f *fleet) start() *background {
	f.t.Helper()
	b := &background{done: make(chan struct{})}
	b.cmd = exec.Command(binPath)
	b.cmd.Env = f.env
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.out
	if err := b.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	go func() { b.err = b.cmd.Wait(); close(b.done) }()
	f.t.Cleanup(func() { _ = b.cmd.Process.Kill(); <-b.done })
	return b
}

func (b *background) running() bool {
	select {
	case <-b.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and checks that the binary was still running, so that
// it died by the kill and not on its own.
func (b *background) kill(t *testing.T) {
	t.Helper()
	if !b.running() {
		t.Fatalf("the binary exited before the kill (%v):\n%s", b.err, b.out.String())
	}
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-b.done
	var ee *exec.ExitError
	if !errors.As(b.err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("binary ended with %v, want killed by SIGKILL", b.err)
	}
}

// waitHeld polls until cond holds while the binary is still running.
func waitHeld(t *testing.T, b *background, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2500 * time.Millisecond) // inside CHECK_TIMEOUT=3s
	for !cond() {
		if !b.running() {
			t.Fatalf("binary exited before %s (%v):\n%s", what, b.err, b.out.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s:\n%s", what, b.out.String())
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
}

// appStartedBefore waits until the wall clock is past the second in which
// supervisord last started app, so an env file written from now on is
// strictly newer than app's start (start times have one-second resolution).
func (f *fleet) waitPastAppStart() {
	f.t.Helper()
	info, _ := f.sv.Call(f.t, "supervisor.getProcessInfo", "app").(map[string]any)
	start, _ := info["start"].(int64)
	if start == 0 {
		f.t.Fatalf("getProcessInfo(app) = %v", info)
	}
	waitFor(f.t, "the second after app's start", func() bool { return time.Now().Unix() > start })
}

// lockState takes the state's flock, as another invocation would hold it,
// and returns the function that releases it.
func (f *fleet) lockState() func() {
	f.t.Helper()
	lf, err := os.OpenFile(f.stateFile+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		f.t.Fatal(err)
	}
	var once sync.Once
	unlock := func() { once.Do(func() { lf.Close() }) }
	f.t.Cleanup(unlock)
	return unlock
}

// outageBehindProxy plants an outage of NAM past the threshold and puts a
// proxy that can hold method between the checker and supervisord.
func (f *fleet) outageBehindProxy(method string) *heldProxy {
	f.t.Helper()
	proxy := newHeldProxy(f.t, f.sv.SocketPath, method)
	f.env = append(f.env, "SUPERVISOR_URL="+proxy.URL())
	f.nam.Down.Store(true)
	f.plantOutage(time.Minute)
	return proxy
}

// recoverAndConverge runs normal invocations after a kill and checks that
// the fleet converged.
func (f *fleet) recoverAndConverge(s state.State) {
	f.t.Helper()
	runs := f.recoverAfterCrash(s)
	f.converged()
	f.t.Logf("converged after %d runs", runs)
}

// recoverAfterCrash runs the binary until nothing is pending, checking after
// each run that the generation has not gone down and that the state and env
// file decode; it returns how many runs it took. Until the killed run's
// claim (its CHECK_TIMEOUT) expires, runs leave the push alone.
func (f *fleet) recoverAfterCrash(before state.State) int {
	f.t.Helper()
	gen := before.Generation
	runs := 0
	deadline := time.Now().Add(30 * time.Second)
	for {
		inv := f.run()
		runs++
		if inv.code != 0 || inv.action() == "failover" {
			f.t.Fatalf("recovery run %d: exit %d action %q:\n%s%s", runs, inv.code, inv.action(), inv.stdout, inv.stderr)
		}
		s := f.readState()
		if s.Generation < gen {
			f.t.Fatalf("generation went down from %d to %d", gen, s.Generation)
		}
		gen = s.Generation
		if _, err := remote.ReadEnvFile(f.envFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			f.t.Fatalf("env file unreadable: %v", err)
		}
		if s.Pending == nil {
			return runs
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("still pending after %d runs: %+v", runs, s.Pending)
		}
		time.Sleep(250 * time.Millisecond) // the cadence of the timer, shortened
	}
}

// converged checks the end state: EU, generation 1, app restarted once.
func (f *fleet) converged() {
	f.t.Helper()
	s := f.readState()
	if s.ActiveRegion != "EU" || s.Generation != 1 || s.Pending != nil {
		f.t.Fatalf("state %+v, want EU generation 1, nothing pending", s)
	}
	env, err := remote.ReadEnvFile(f.envFile)
	if err != nil || env.Region != "EU" || env.Generation != 1 {
		f.t.Fatalf("env file %+v, %v; want EU generation 1", env, err)
	}
	// Exactly one restart (two starts: supervisord's own and the failover's),
	// the least a failover needs: whoever restarted app, the re-push either
	// restarts an app that was started before the file was written, or
	// counts an app started after it as converged.
	waitFor(f.t, "app's second start", func() bool { return f.starts() >= 2 })
	for i := 0; i < 2; i++ {
		if inv := f.run(); inv.code != 0 || inv.action() != "none" {
			f.t.Fatalf("steady run: exit %d action %q", inv.code, inv.action())
		}
	}
	if got := f.starts(); got != 2 {
		f.t.Fatalf("app started %d times, want 2 (exactly one restart)", got)
	}
	assertNoTempFiles(f.t, f.dir)
}

// assertNoTempFiles fails if an atomic write left a temporary file.
func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name()[0] == '.' {
			t.Errorf("temporary file left behind: %s", filepath.Join(dir, e.Name()))
		}
	}
}

func TestCrashKillAfterIntent(t *testing.T) {
	t.Parallel()
	f := newFleet(t, crashEnv...)
	f.nam.Down.Store(true)
	f.plantOutage(time.Minute)
	removeFile(t, f.envFile)
	if err := syscall.Mkfifo(f.envFile, 0o644); err != nil {
		t.Fatal(err)
	}
	b := f.start()
	waitHeld(t, b, "the intent", func() bool {
		data, err := os.ReadFile(f.stateFile)
		if err != nil {
			return false
		}
		s, err := state.Decode(data)
		return err == nil && s.Pending != nil
	})
	b.kill(t)
	if err := os.Remove(f.envFile); err != nil {
		t.Fatal(err)
	}
	s := f.readState()
	if s.Pending == nil || s.Pending.Generation != 1 || f.starts() != 1 {
		t.Fatalf("after the kill: state %+v, starts %d; want generation 1 pending, no restart", s, f.starts())
	}
	f.recoverAndConverge(s)
}

func TestCrashKillAfterEnvWrite(t *testing.T) {
	t.Parallel()
	f := newFleet(t, crashEnv...)
	proxy := f.outageBehindProxy("supervisor.getState")
	f.waitPastAppStart()
	b := f.start()
	waitHeld(t, b, "getState after the env write", proxy.Holding)
	if f.envRegion() != "EU" {
		t.Fatalf("env file names %q while getState is held, want EU", f.envRegion())
	}
	b.kill(t)
	proxy.Release()
	s := f.readState()
	if s.Pending == nil || f.starts() != 1 {
		t.Fatalf("after the kill: state %+v, starts %d; want pending, no restart", s, f.starts())
	}
	f.recoverAndConverge(s)
}

func TestCrashKillAfterRestart(t *testing.T) {
	t.Parallel()
	f := newFleet(t, crashEnv...)
	proxy := f.outageBehindProxy("supervisor.getProcessInfo")
	b := f.start()
	waitHeld(t, b, "the check after the restart", proxy.Holding)
	waitFor(t, "app restarted", func() bool { return f.starts() == 2 })
	b.kill(t)
	proxy.Release()
	s := f.readState()
	if s.Pending == nil {
		t.Fatalf("after the kill: state %+v, want pending", s)
	}
	f.recoverAndConverge(s)
}

func TestCrashKillDuringStateWrite(t *testing.T) {
	t.Parallel()
	t.Run("recording the push", func(t *testing.T) {
		t.Parallel()
		f := newFleet(t, crashEnv...)
		proxy := f.outageBehindProxy("supervisor.getProcessInfo")
		b := f.start()
		waitHeld(t, b, "the check after the restart", proxy.Holding)
		unlock := f.lockState()
		proxy.Release()
		waitHeld(t, b, "the check answered", proxy.Answered)
		// The binary now waits for the lock to record the push (or is about
		// to): either way the record cannot be written while we hold it.
		time.Sleep(100 * time.Millisecond)
		b.kill(t)
		unlock()
		s := f.readState()
		if s.Pending == nil {
			t.Fatalf("after the kill: state %+v, want pending (the record was blocked)", s)
		}
		f.recoverAndConverge(s)
	})
	t.Run("storing the intent", func(t *testing.T) {
		t.Parallel()
		f := newFleet(t, crashEnv...)
		f.nam.Down.Store(true)
		f.plantOutage(time.Minute)
		before := f.readState()
		unlock := f.lockState()
		b := f.start()
		// Probing takes milliseconds; the intent's write then waits for the
		// lock until CHECK_TIMEOUT.
		time.Sleep(300 * time.Millisecond)
		b.kill(t)
		unlock()
		if s := f.readState(); s.Version != before.Version || f.envRegion() != "NAM" || f.starts() != 1 {
			t.Fatalf("a run killed while waiting for the lock changed something: state %+v env %q starts %d", s, f.envRegion(), f.starts())
		}
		inv := f.run()
		if inv.code != 0 || inv.action() != "failover" {
			t.Fatalf("next run: exit %d action %q:\n%s", inv.code, inv.action(), inv.stdout)
		}
		f.converged()
	})
	t.Run("lock holder killed", func(t *testing.T) {
		t.Parallel()
		f := newFleet(t, crashEnv...)
		f.nam.Down.Store(true)
		f.plantOutage(time.Minute)
		holder := testenv.HoldLock(t, f.stateFile+".lock")
		b := f.start()
		time.Sleep(300 * time.Millisecond) // the binary is now waiting for the lock
		if !b.running() || f.starts() != 1 {
			t.Fatalf("the binary did not wait for the lock: %s", b.out.String())
		}
		holder.Kill(t)
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			t.Fatal("binary still waiting 10s after the lock holder was killed")
		}
		if b.err != nil {
			t.Fatalf("binary: %v\n%s", b.err, b.out.String())
		}
		f.converged()
	})
}
