package check

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"extcloud-failover/internal/probe"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
	"extcloud-failover/internal/testenv"
)

// convergeRun runs one invocation of w with extra deps changes.
func (w *world) convergeRun(edit func(*Deps)) (Result, error) {
	w.t.Helper()
	cfg := testenv.Config(w.t, w.env)
	d := w.deps()
	d.Prober = probe.New(cfg)
	edit(&d)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return Run(ctx, cfg, d)
}

func TestConvergeLambdaSeedsTheFleetOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.env["EXT_CLOUD_REGION"] = "EU"
	seed := func(d *Deps) { d.SeedFleet = true }
	res, err := w.convergeRun(seed)
	if err != nil {
		t.Fatal(err)
	}
	calls := w.pusher.calls()
	if len(calls) != 1 || calls[0].target.Region != "EU" || calls[0].target.Generation != 0 || len(calls[0].hosts) != 0 {
		t.Fatalf("pushes = %+v, want one push of EU generation 0 to every host", calls)
	}
	if res.Action != ActionPendingPush || res.Region != "EU" {
		t.Errorf("result %+v, want pending_push on EU", res)
	}
	s := w.load()
	if s.Version == 0 || s.ActiveRegion != "EU" || s.Generation != 0 || s.Pending != nil {
		t.Errorf("state %+v, want EU recorded, generation 0, nothing pending", s)
	}
	if !strings.Contains(w.logs.String(), "no state yet: recording EU (EXT_CLOUD_REGION, the primary) as active and pushing generation 0 to the fleet once") {
		t.Errorf("log lacks the seed warning:\n%s", w.logs.String())
	}
	w.now = w.now.Add(10 * time.Second)
	if _, err := w.convergeRun(seed); err != nil {
		t.Fatal(err)
	}
	if n := len(w.pusher.calls()); n != 1 {
		t.Errorf("%d pushes after the second invocation, want still 1", n)
	}
}

func TestConvergeLambdaSeedFailureStaysPending(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.pusher.fail["h2"] = true
	seed := func(d *Deps) { d.SeedFleet = true }
	if _, err := w.convergeRun(seed); !errors.Is(err, ErrPushIncomplete) {
		t.Fatalf("error = %v, want ErrPushIncomplete", err)
	}
	s := w.load()
	if s.Pending == nil || s.Pending.Generation != 0 || strings.Join(s.Pending.Hosts, ",") != "h2" {
		t.Fatalf("state %+v, want generation 0 pending on h2", s)
	}
	delete(w.pusher.fail, "h2")
	w.now = w.now.Add(10 * time.Second)
	if _, err := w.convergeRun(seed); err != nil {
		t.Fatal(err)
	}
	calls := w.pusher.calls()
	if len(calls) != 2 || strings.Join(calls[1].hosts, ",") != "h2" {
		t.Fatalf("pushes = %+v, want the re-push to h2 only", calls)
	}
	if s := w.load(); s.Pending != nil {
		t.Errorf("still pending: %+v", s.Pending)
	}
}

// hostWorld is w with a real supervisord running app and a Supervisor
// pushing to it, for the host path.
func hostWorld(t *testing.T) (w *world, sv *testenv.Supervisord, sup *remote.Supervisor, envFile string, starts func() int) {
	t.Helper()
	w = newWorld(t)
	dir := t.TempDir()
	cmd, starts := testenv.CountingProgram(t, dir)
	sv = testenv.StartSupervisord(t, testenv.SupervisordOptions{
		Programs: []testenv.SupervisordProgram{{Name: "app", Command: cmd, NoAutostart: true}},
	})
	envFile = filepath.Join(dir, "ext_cloud.env")
	sup, err := remote.NewSupervisor(remote.SupervisorConfig{URLs: []string{sv.URL}, Programs: []string{"app"}, EnvFile: envFile})
	if err != nil {
		t.Fatal(err)
	}
	return w, sv, sup, envFile, starts
}

func TestConvergeHost(t *testing.T) {
	t.Parallel()
	w, sv, sup, envFile, starts := hostWorld(t)
	host := func(d *Deps) {
		d.Pusher, d.Env = sup, sup
		d.Recover = func(context.Context) (string, int64, error) {
			e, err := remote.ReadEnvFile(envFile)
			return e.Region, e.Generation, err
		}
	}

	// supervisord down: the file is written but the restart fails, so the
	// push stays pending and is retried.
	sv.Stop(t)
	if _, err := w.convergeRun(host); !errors.Is(err, ErrPushIncomplete) {
		t.Fatalf("first run with supervisord down: %v, want ErrPushIncomplete", err)
	}
	if s := w.load(); s.Pending == nil || s.Pending.Region != "NAM" || s.Pending.Generation != 0 {
		t.Fatalf("state %+v, want NAM generation 0 pending", s)
	}
	sv.Restart(t)
	w.now = w.now.Add(time.Minute) // past the claim
	if _, err := w.convergeRun(host); err != nil {
		t.Fatalf("re-push: %v", err)
	}
	if s := w.load(); s.Pending != nil {
		t.Fatalf("still pending after supervisord came back: %+v", s.Pending)
	}
	waitStarts(t, starts, 1)
	if got, _ := os.ReadFile(envFile); string(got) != string(remote.Render(remote.Target{Region: "NAM", Cloud: w.cloud("NAM"), Generation: 0})) {
		t.Errorf("env file = %q", got)
	}

	// A newer generation in the file than in the state: the hosts' truth.
	newer := remote.Target{Region: "APAC", Cloud: w.cloud("APAC"), Generation: 5}
	if _, err := remote.WriteEnvFile(envFile, newer); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(10 * time.Second)
	if _, err := w.convergeRun(host); err != nil {
		t.Fatal(err)
	}
	if s := w.load(); s.ActiveRegion != "APAC" || s.Generation != 5 {
		t.Errorf("state %+v, want APAC generation 5 adopted from the env file", s)
	}
	if starts() != 1 {
		t.Errorf("app started %d times, want 1 (adopting restarts nothing)", starts())
	}
}

// cloud returns the cloud the world lists for region.
func (w *world) cloud(region string) string {
	for _, it := range strings.Split(w.env["EXT_CLOUD_FAILOVER_LIST"], ",") {
		if name, cloud, _ := strings.Cut(it, "="); name == region {
			return cloud
		}
	}
	w.t.Fatalf("no region %s", region)
	return ""
}

// waitStarts polls until a counting program has started want times.
func waitStarts(t *testing.T, starts func() int, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for starts() < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // poll interval, bounded by the deadline
	}
	if got := starts(); got != want {
		t.Fatalf("app started %d times, want %d", got, want)
	}
}

func TestConvergeUnusableEnvFileStillDecides(t *testing.T) {
	t.Parallel()
	w, _, _, _, _ := hostWorld(t)
	dir := t.TempDir()
	envDir := filepath.Join(dir, "ext_cloud.env")
	if err := os.Mkdir(envDir, 0o755); err != nil {
		t.Fatal(err)
	}
	sup, err := remote.NewSupervisor(remote.SupervisorConfig{URLs: []string{"unix:///nonexistent.sock"}, Programs: []string{"app"}, EnvFile: envDir})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.convergeRun(func(d *Deps) { d.Pusher, d.Env = sup, sup })
	if !errors.Is(err, ErrEnvFile) || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("error = %v, want ErrEnvFile naming the directory", err)
	}
	if res.Healthy == nil || !*res.Healthy || res.Region != "NAM" {
		t.Errorf("result %+v: the region was not probed", res)
	}
	var s state.State = w.load()
	if s.Pending != nil {
		t.Errorf("an intent was stored for an unusable env file: %+v", s.Pending)
	}
}

// missingEnv is an EnvInspector for which the env file is missing.
type missingEnv struct{}

func (missingEnv) Inspect(remote.Target) (remote.EnvWrite, error) {
	return remote.EnvWrite{Change: remote.EnvCreated}, nil
}
func (missingEnv) Compare(t remote.Target) (remote.EnvWrite, error) { return missingEnv{}.Inspect(t) }

// rivalStore lets a rival invocation store rival(old) just before the
// first Swap, which then loses the compare-and-swap.
type rivalStore struct {
	state.Store
	rival func(old state.State) state.State
	once  sync.Once
}

func (s *rivalStore) Swap(ctx context.Context, old, next state.State) (state.State, error) {
	s.once.Do(func() {
		if _, err := s.Store.Swap(ctx, old, s.rival(old)); err != nil {
			panic(err)
		}
	})
	return s.Store.Swap(ctx, old, next)
}

// TestConvergeOnlyTheWinnerWarns: of simultaneous first-deploy runs that
// all find the env file missing, only the one whose compare-and-swap wins
// logs the warning (a monitor counts it); a loser logs at info that
// another invocation acted, and pushes nothing.
func TestConvergeOnlyTheWinnerWarns(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rival := func(old state.State) state.State {
		next := old
		next.ActiveRegion = "NAM"
		next.Pending = &state.Pending{Generation: 0, Region: "NAM", Cloud: w.cloud("NAM"), ClaimedUntil: w.now.Add(time.Minute), Attempts: 1}
		return next
	}
	store := &rivalStore{Store: w.store, rival: rival}
	res, err := w.convergeRun(func(d *Deps) { d.Env, d.Store = missingEnv{}, store })
	if err != nil {
		t.Fatal(err)
	}
	logs := w.logs.String()
	if strings.Contains(logs, "env file missing") {
		t.Errorf("the invocation that lost the compare-and-swap warned:\n%s", logs)
	}
	if !strings.Contains(logs, `"level":"INFO","msg":"another invocation acted; this one pushes nothing"`) {
		t.Errorf("the loser does not say at info that another invocation acted:\n%s", logs)
	}
	if n := len(w.pusher.calls()); n != 0 || res.Action != ActionNone {
		t.Errorf("the loser pushed %d times, action %q", n, res.Action)
	}

	// The winner (no rival) warns, once.
	w2 := newWorld(t)
	if _, err := w2.convergeRun(func(d *Deps) { d.Env = missingEnv{} }); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(w2.logs.String(), `"level":"WARN","msg":"env file missing: writing it for NAM, generation 0, and restarting the programs"`); n != 1 {
		t.Errorf("the winner warned %d times, want 1:\n%s", n, w2.logs.String())
	}
}
