package check

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"extcloud-failover/internal/ident"
	"extcloud-failover/internal/probe"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/remote/ssmpush"
	"extcloud-failover/internal/state"
	"extcloud-failover/internal/state/dynamo"
	"extcloud-failover/internal/testenv"
)

// Crash consistency, in process: one invocation fails over from NAM (down)
// to EU and is stopped at a fault point as a crash would stop it; then normal
// invocations run. On both stores (FileStore, dynamo.Store on dynalite) and
// both pushers (supervisord over XML-RPC, the SSM endpoint running push.sh
// against a real supervisord), the fleet converges to EU, the application is
// restarted exactly once, the generation only grows and nothing is lost.
// cmd/cron/crash_test.go does the same to the built binary with SIGKILL.

// crashPoint is where the crashing invocation stops.
type crashPoint string

const (
	// crashAfterIntent: intent stored, nothing pushed (Deps.Fault at
	// FaultAfterIntent).
	crashAfterIntent crashPoint = "after-intent"
	// crashAfterEnvWrite: the env file is written, the application not
	// restarted. Supervisor: the test pusher writes the env file with
	// remote.WriteEnvFile and dies. SSM: the host's push.sh is SIGKILLed by
	// its first supervisorctl call, after the file was renamed into place
	// and before the stop; then the invocation dies.
	crashAfterEnvWrite crashPoint = "after-env-write"
	// crashAfterPush: restarted, not recorded (Deps.Fault at FaultAfterPush).
	crashAfterPush crashPoint = "after-push"
	// crashStateWriteLost: the Swap that records the push dies before it
	// reaches the store.
	crashStateWriteLost crashPoint = "state-write-lost"
	// crashStateWriteUnacked: the Swap that records the push reaches the
	// store, and the invocation dies before it learns so.
	crashStateWriteUnacked crashPoint = "state-write-unacked"
)

var errCrash = errors.New("crash injected by the test")

// crashRig is one host: three loopback regions (NAM down), a real
// supervisord whose "app" counts its starts, a store, a real pusher and a
// fake clock.
type crashRig struct {
	t        *testing.T
	dir      string
	env      map[string]string
	now      time.Time
	store    state.Store
	pusher   Pusher
	envFile  string
	sv       *testenv.Supervisord
	starts   func() int
	crashSSM string // flag file: while it exists, push.sh is killed before the stop
	gens     []int64
}

func newCrashRig(t *testing.T, storeKind, pusherKind string, dynamoEndpoint string) *crashRig {
	t.Helper()
	rg := &crashRig{t: t, dir: t.TempDir(), now: t0}
	rg.envFile = filepath.Join(rg.dir, "ext_cloud.env")
	var list []string
	for _, name := range []string{"NAM", "EU", "APAC"} {
		down := name == "NAM"
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}))
		t.Cleanup(srv.Close)
		list = append(list, name+"="+testenv.HostOf(srv))
	}
	rg.env = map[string]string{
		"EXT_CLOUD_FAILOVER_LIST": strings.Join(list, ","),
		"FAILOVER_THRESHOLD":      "4m",
		"FAILOVER_MIN_INTERVAL":   "10m",
		"PROBE_INTERVAL":          "10s",
	}

	cmd, starts := testenv.CountingProgram(t, rg.dir)
	rg.starts = starts
	rg.sv = testenv.StartSupervisord(t, testenv.SupervisordOptions{
		Programs: []testenv.SupervisordProgram{{Name: "app", Command: cmd}},
	})
	waitCount(t, "first start of app", starts, 1)
	// Start times have a one-second resolution: let the second in which app
	// started pass, so an env file written from now on is strictly newer.
	waitNextSecond(t, rg.sv)

	switch storeKind {
	case "file":
		rg.store = state.NewFileStore(filepath.Join(rg.dir, "state.json"))
	case "dynamo":
		rg.store = dynamo.NewStore(testenv.DynamoClient(t, dynamoEndpoint), crashTable, t.Name())
	default:
		t.Fatalf("store %q", storeKind)
	}
	switch pusherKind {
	case "supervisor":
		sup, err := remote.NewSupervisor(remote.SupervisorConfig{URLs: []string{rg.sv.URL}, Programs: []string{"app"}, EnvFile: rg.envFile})
		if err != nil {
			t.Fatal(err)
		}
		rg.pusher = sup
	case "ssm":
		rg.crashSSM = filepath.Join(rg.dir, "crash-next-push")
		ctl := filepath.Join(rg.dir, "supervisorctl-wrapper")
		// The wrapper stands for the host dying between the rename of the
		// env file and the restart: push.sh's first supervisorctl call
		// kills push.sh itself while the flag file exists.
		script := fmt.Sprintf("#!/bin/sh\nif [ -e %s ]; then rm -f %s; kill -KILL $PPID; exit 1; fi\nexec supervisorctl -c %s \"$@\"\n",
			rg.crashSSM, rg.crashSSM, rg.sv.ConfigPath)
		if err := os.WriteFile(ctl, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		srv := testenv.StartSSM(t, testenv.SSMOptions{Instances: map[string]testenv.SSMInstance{
			crashInstance: {Dir: rg.dir, Env: []string{"SUPERVISORCTL=" + ctl}},
		}})
		rg.pusher = ssmpush.New(testenv.SSMClient(t, srv.URL), ssmpush.Config{
			Targets: []ident.SSMTarget{{InstanceID: crashInstance}}, EnvFile: rg.envFile, Programs: []string{"app"},
			PollInterval: 50 * time.Millisecond,
		})
	default:
		t.Fatalf("pusher %q", pusherKind)
	}
	return rg
}

const (
	crashTable    = "crash"
	crashInstance = "i-0123456789abcdef0"
)

// waitCount polls count until it reaches want, failing at a deadline or if
// it goes past want.
func waitCount(t *testing.T, what string, count func() int, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := count()
		if got == want {
			return
		}
		if got > want || time.Now().After(deadline) {
			t.Fatalf("%s: count %d, want %d", what, got, want)
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}

// waitNextSecond waits until the wall clock is past the second in which
// supervisord last started app.
func waitNextSecond(t *testing.T, sv *testenv.Supervisord) {
	t.Helper()
	info, _ := sv.Call(t, "supervisor.getProcessInfo", "app").(map[string]any)
	start, ok := info["start"].(int64)
	if !ok {
		t.Fatalf("getProcessInfo(app) = %v: no start time", info)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Unix() <= start {
		if time.Now().After(deadline) {
			t.Fatal("clock did not pass app's start second")
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}

// plant stores an outage of NAM already past the threshold.
func (rg *crashRig) plant() {
	rg.t.Helper()
	s := state.State{ActiveRegion: "NAM", OutageStartedAt: rg.now.Add(-5 * time.Minute), LastProbeAt: rg.now.Add(-5 * time.Second)}
	if _, err := rg.store.Swap(context.Background(), state.State{}, s); err != nil {
		rg.t.Fatal(err)
	}
}

func (rg *crashRig) deps() Deps {
	return Deps{Store: rg.store, Pusher: rg.pusher, Prober: probe.New(testenv.Config(rg.t, rg.env)), Now: func() time.Time { return rg.now }}
}

// verify checks that nothing is lost: the state decodes, its generation has
// not gone down, and the env file, when there is one, parses.
func (rg *crashRig) verify(when string) state.State {
	rg.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := rg.store.Load(ctx)
	if err != nil {
		rg.t.Fatalf("%s: state unreadable: %v", when, err)
	}
	if n := len(rg.gens); n > 0 && s.Generation < rg.gens[n-1] {
		rg.t.Fatalf("%s: generation went down from %d to %d", when, rg.gens[n-1], s.Generation)
	}
	rg.gens = append(rg.gens, s.Generation)
	if _, err := remote.ReadEnvFile(rg.envFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		rg.t.Fatalf("%s: env file unreadable: %v", when, err)
	}
	return s
}

// crashingStore fails the Swap that records a push once armed.
type crashingStore struct {
	state.Store
	armed   atomic.Bool
	applied bool // the write reaches the store before the crash
	cancel  context.CancelFunc
	crashed atomic.Bool
}

func (s *crashingStore) Swap(ctx context.Context, old, next state.State) (state.State, error) {
	if !s.armed.Load() || s.crashed.Load() {
		return s.Store.Swap(ctx, old, next)
	}
	s.crashed.Store(true)
	if s.applied {
		if _, err := s.Store.Swap(ctx, old, next); err != nil {
			return state.State{}, fmt.Errorf("unacked write did not land: %w", err)
		}
	}
	s.cancel()
	return state.State{}, errCrash
}

// armingPusher arms the store's fault once the push has been sent.
type armingPusher struct {
	Pusher
	store *crashingStore
}

func (p *armingPusher) Push(ctx context.Context, t remote.Target, hosts []string) (remote.Result, error) {
	res, err := p.Pusher.Push(ctx, t, hosts)
	p.store.armed.Store(true)
	return res, err
}

// envWriteCrashPusher writes the env file and dies before any restart.
type envWriteCrashPusher struct {
	envFile string
}

func (p *envWriteCrashPusher) Push(ctx context.Context, t remote.Target, _ []string) (remote.Result, error) {
	if _, err := remote.WriteEnvFile(p.envFile, t); err != nil {
		return remote.Result{}, err
	}
	return remote.Result{}, errCrash
}

// crashRun runs the invocation that crashes at point, and checks that it
// stopped there.
func (rg *crashRig) crashRun(point crashPoint) {
	rg.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	deps := rg.deps()
	var pushes atomic.Int64
	crashAt := func(want FaultPoint) func(context.Context, FaultPoint) error {
		return func(ctx context.Context, p FaultPoint) error {
			if p != want {
				return nil
			}
			cancel()
			return errCrash
		}
	}
	switch point {
	case crashAfterIntent:
		deps.Fault = crashAt(FaultAfterIntent)
	case crashAfterEnvWrite:
		if rg.crashSSM != "" {
			if err := os.WriteFile(rg.crashSSM, nil, 0o644); err != nil {
				rg.t.Fatal(err)
			}
		} else {
			deps.Pusher = &envWriteCrashPusher{envFile: rg.envFile}
		}
		// The invocation itself dies as soon as the push returns: nothing
		// after it runs.
		deps.Fault = crashAt(FaultAfterPush)
	case crashAfterPush:
		deps.Fault = crashAt(FaultAfterPush)
	case crashStateWriteLost, crashStateWriteUnacked:
		cs := &crashingStore{Store: rg.store, applied: point == crashStateWriteUnacked, cancel: cancel}
		deps.Store = cs
		deps.Pusher = &armingPusher{Pusher: rg.pusher, store: cs}
	}
	counted := deps.Pusher
	deps.Pusher = pusherFunc(func(ctx context.Context, t remote.Target, hosts []string) (remote.Result, error) {
		pushes.Add(1)
		return counted.Push(ctx, t, hosts)
	})
	res, err := Run(ctx, testenv.Config(rg.t, rg.env), deps)
	if !errors.Is(err, errCrash) {
		rg.t.Fatalf("crashing run at %s = %+v, %v; want the injected crash", point, res, err)
	}
	if res.Action != ActionFailover || res.To != "EU" {
		rg.t.Fatalf("crashing run at %s = %+v; want a failover to EU", point, res)
	}
	if point == crashAfterIntent && pushes.Load() != 0 {
		rg.t.Fatalf("crash after the intent pushed %d times", pushes.Load())
	}
	if point != crashAfterIntent && pushes.Load() != 1 {
		rg.t.Fatalf("crash at %s: %d pushes before the crash, want 1", point, pushes.Load())
	}
}

type pusherFunc func(ctx context.Context, t remote.Target, hosts []string) (remote.Result, error)

func (f pusherFunc) Push(ctx context.Context, t remote.Target, hosts []string) (remote.Result, error) {
	return f(ctx, t, hosts)
}

// recover runs normal invocations, 10 s of fake time apart, starting a minute
// after the crash (past the crashed invocation's claim), until nothing is
// pending; it returns how many ran.
func (rg *crashRig) recover() int {
	rg.t.Helper()
	rg.now = rg.now.Add(time.Minute)
	for i := 1; i <= 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := Run(ctx, testenv.Config(rg.t, rg.env), rg.deps())
		cancel()
		if err != nil {
			rg.t.Fatalf("recovery run %d: %+v, %v", i, res, err)
		}
		if res.Action == ActionFailover {
			rg.t.Fatalf("recovery run %d failed over again: %+v", i, res)
		}
		if s := rg.verify(fmt.Sprintf("after recovery run %d", i)); s.Pending == nil {
			return i
		}
		rg.now = rg.now.Add(10 * time.Second)
	}
	rg.t.Fatal("still pending after 5 recovery runs")
	return 0
}

func TestCrashConsistency(t *testing.T) {
	t.Parallel()
	endpoint := testenv.Dynalite(t)
	{
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dynamo.CreateTable(ctx, testenv.DynamoClient(t, endpoint), crashTable); err != nil {
			t.Fatal(err)
		}
	}
	// wantRestarts is the number of times app is restarted by the crashing
	// invocation and the recovery together. It is 1 at every point, the
	// least any failover needs:
	//   after-intent: nothing was pushed; the re-push writes the file and
	//     restarts once.
	//   after-env-write: the file is new but app was not restarted; the
	//     re-push finds app started before the file was written (supervisor:
	//     by start time against the file's mtime; SSM: no .applied marker for
	//     the generation) and restarts it once.
	//   after-push, state-write-lost: the crashed run restarted app; the
	//     re-push finds it started after the file was written (SSM: the
	//     marker holds the generation) and restarts nothing.
	//   state-write-unacked: the record landed; nothing is re-pushed.
	const wantRestarts = 1
	points := []crashPoint{crashAfterIntent, crashAfterEnvWrite, crashAfterPush, crashStateWriteLost, crashStateWriteUnacked}
	for _, storeKind := range []string{"file", "dynamo"} {
		for _, pusherKind := range []string{"supervisor", "ssm"} {
			for _, point := range points {
				t.Run(storeKind+"/"+pusherKind+"/"+string(point), func(t *testing.T) {
					t.Parallel()
					rg := newCrashRig(t, storeKind, pusherKind, endpoint)
					rg.plant()
					rg.verify("before the crash")
					rg.crashRun(point)
					after := rg.verify("after the crash")
					if after.Generation != 1 || after.ActiveRegion != "EU" {
						t.Fatalf("after the crash: state %+v, want the intent of generation 1 to EU kept", after)
					}
					if point != crashStateWriteUnacked && after.Pending == nil {
						t.Fatalf("after the crash at %s nothing is pending: %+v", point, after)
					}
					runs := rg.recover()
					final := rg.verify("converged")
					env, err := remote.ReadEnvFile(rg.envFile)
					if err != nil {
						t.Fatalf("env file: %v", err)
					}
					if env.Region != "EU" || env.Generation != 1 || final.ActiveRegion != "EU" || final.Generation != 1 {
						t.Fatalf("converged to env %+v, state %+v; want EU generation 1", env, final)
					}
					waitCount(t, "app starts", rg.starts, 1+wantRestarts)
					// Steady runs afterwards restart nothing.
					for i := 0; i < 2; i++ {
						rg.now = rg.now.Add(10 * time.Second)
						if _, err := Run(context.Background(), testenv.Config(t, rg.env), rg.deps()); err != nil {
							t.Fatal(err)
						}
					}
					if got := rg.starts(); got != 1+wantRestarts {
						t.Fatalf("app started %d times, want %d (%d restart)", got, 1+wantRestarts, wantRestarts)
					}
					assertNoTempFiles(t, rg.dir)
					t.Logf("converged after %d recovery runs; generations %v", runs, rg.gens)
				})
			}
		}
	}
}

// assertNoTempFiles fails if a temporary file of an atomic write (".name123",
// "name.tmp.XXXXXX") is left in dir.
func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || strings.Contains(e.Name(), ".tmp.") {
			t.Errorf("temporary file left behind: %s", filepath.Join(dir, e.Name()))
		}
	}
}

// TestCrashOfLockHolder kills (SIGKILL) another process while it holds the
// FileStore's flock: the kernel releases the lock, and an invocation waiting
// for it goes on and fails over within its deadline.
func TestCrashOfLockHolder(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.up["NAM"].Store(false)
	w.plantOutage(5 * time.Minute)
	before := w.load()

	holder := testenv.HoldLock(t, w.store.Path()+".lock")

	type outcome struct {
		res Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := w.run(context.Background(), nil)
		done <- outcome{res, err}
	}()
	// The invocation cannot store its intent while the lock is held.
	select {
	case o := <-done:
		t.Fatalf("Run finished while another process held the lock: %+v, %v", o.res, o.err)
	case <-time.After(300 * time.Millisecond):
	}
	if s := w.load(); s.Version != before.Version || len(w.pusher.calls()) != 0 {
		t.Fatalf("state written (version %d -> %d) or pushed under a held lock", before.Version, s.Version)
	}
	holder.Kill(t)
	select {
	case o := <-done:
		if o.err != nil || o.res.Action != ActionFailover || o.res.To != "EU" {
			t.Fatalf("after the holder died: %+v, %v", o.res, o.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run still waiting 20s after the lock holder was killed")
	}
	if n := len(w.pusher.calls()); n != 1 {
		t.Fatalf("%d pushes, want 1", n)
	}
	if s := w.load(); s.Generation != 1 || s.Pending != nil {
		t.Fatalf("state %+v", s)
	}
}
