package check

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"extcloud-failover/internal/probe"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
	"extcloud-failover/internal/testenv"
	"extcloud-failover/internal/testenv/syncbuf"
)

// recordingPusher stands in for the fleet in Run's own tests (the real
// pushers are tested against supervisord and the SSM endpoint): it records
// every push and fails the hosts it is told to.
type recordingPusher struct {
	mu     sync.Mutex
	hosts  []string
	fail   map[string]bool
	pushes []pushCall
}

type pushCall struct {
	target remote.Target
	hosts  []string
}

func (p *recordingPusher) Push(_ context.Context, t remote.Target, hosts []string) (remote.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pushes = append(p.pushes, pushCall{t, slices.Clone(hosts)})
	if len(hosts) == 0 {
		hosts = p.hosts
	}
	res := remote.Result{Failed: map[string]error{}}
	for _, h := range hosts {
		if p.fail[h] {
			res.Failed[h] = errors.New("connection refused")
		} else {
			res.Converged = append(res.Converged, h)
		}
	}
	return res, nil
}

func (p *recordingPusher) calls() []pushCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.pushes)
}

// world is three loopback regions, a real FileStore and a fake clock.
type world struct {
	t      *testing.T
	up     map[string]*atomic.Bool
	env    map[string]string
	store  *state.FileStore
	pusher *recordingPusher
	now    time.Time
	logs   syncbuf.Buffer
	guard  Guard
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, up: map[string]*atomic.Bool{}, now: t0,
		pusher: &recordingPusher{hosts: []string{"h1", "h2"}, fail: map[string]bool{}}}
	var list []string
	for _, name := range []string{"NAM", "EU", "APAC"} {
		up := &atomic.Bool{}
		up.Store(true)
		w.up[name] = up
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if !up.Load() {
				rw.WriteHeader(http.StatusServiceUnavailable)
			}
		}))
		t.Cleanup(srv.Close)
		list = append(list, name+"="+testenv.HostOf(srv))
	}
	w.env = map[string]string{
		"EXT_CLOUD_FAILOVER_LIST": strings.Join(list, ","),
		"FAILOVER_THRESHOLD":      "4m",
		"FAILOVER_MIN_INTERVAL":   "10m",
		"PROBE_INTERVAL":          "10s",
	}
	w.store = state.NewFileStore(filepath.Join(t.TempDir(), "state.json"))
	return w
}

func (w *world) deps() Deps {
	return Deps{
		Store:  w.store,
		Pusher: w.pusher,
		Prober: probe.New(testenv.Config(w.t, w.env)),
		Guard:  w.guard,
		Log:    slog.New(slog.NewJSONHandler(&w.logs, nil)),
		Now:    func() time.Time { return w.now },
	}
}

func (w *world) run(ctx context.Context, extra map[string]string) (Result, error) {
	env := map[string]string{}
	for k, v := range w.env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg := testenv.Config(w.t, env)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return Run(ctx, cfg, w.deps())
}

func (w *world) step(d time.Duration) Result {
	w.t.Helper()
	w.now = w.now.Add(d)
	res, err := w.run(context.Background(), nil)
	if err != nil {
		w.t.Fatalf("Run at %v: %v", w.now, err)
	}
	return res
}

func (w *world) load() state.State {
	w.t.Helper()
	s, err := w.store.Load(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// plantOutage stores an outage of NAM that started age ago.
func (w *world) plantOutage(age time.Duration) state.State {
	w.t.Helper()
	planted := state.State{ActiveRegion: "NAM", OutageStartedAt: w.now.Add(-age), LastProbeAt: w.now.Add(-5 * time.Second)}
	stored, err := w.store.Swap(context.Background(), state.State{}, planted)
	if err != nil {
		w.t.Fatal(err)
	}
	return stored
}

func TestRunHealthyWritesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for i := 0; i < 3; i++ {
		if res := w.step(10 * time.Second); res.Action != ActionNone || res.Healthy == nil || !*res.Healthy || res.Region != "NAM" {
			t.Fatalf("result %+v", res)
		}
	}
	if s := w.load(); s.Version != 0 {
		t.Fatalf("healthy runs wrote state version %d", s.Version)
	}
	if n := len(w.pusher.calls()); n != 0 {
		t.Fatalf("%d pushes while healthy", n)
	}
}

func TestRunOutageToFailover(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.up["NAM"].Store(false)
	if res := w.step(0); res.Action != ActionOutageStarted {
		t.Fatalf("first failure: %+v", res)
	}
	for elapsed := 10 * time.Second; elapsed < 4*time.Minute; elapsed += 10 * time.Second {
		if res := w.step(10 * time.Second); res.Action != ActionNone || len(w.pusher.calls()) != 0 {
			t.Fatalf("at %v: %+v, %d pushes", elapsed, res, len(w.pusher.calls()))
		}
	}
	res := w.step(10 * time.Second)
	if res.Action != ActionFailover || res.To != "EU" || res.From != "NAM" || res.Generation != 1 || len(res.PendingHosts) != 0 {
		t.Fatalf("at the threshold: %+v", res)
	}
	calls := w.pusher.calls()
	if len(calls) != 1 || calls[0].target.Region != "EU" || calls[0].target.Generation != 1 || len(calls[0].hosts) != 0 {
		t.Fatalf("pushes %+v, want one push of generation 1 to EU, all hosts", calls)
	}
	if s := w.load(); s.ActiveRegion != "EU" || s.Pending != nil || s.Generation != 1 {
		t.Fatalf("state %+v", s)
	}
	if res := w.step(10 * time.Second); res.Action != ActionNone || res.Region != "EU" || len(w.pusher.calls()) != 1 {
		t.Fatalf("after failover: %+v", res)
	}
}

func TestRunPartialPushStaysPendingAndRepushesOnlyFailedHosts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.pusher.fail["h2"] = true
	w.up["NAM"].Store(false)
	w.plantOutage(5 * time.Minute)
	res, err := w.run(context.Background(), nil)
	if !errors.Is(err, ErrPushIncomplete) || res.Action != ActionFailover || !slices.Equal(res.PendingHosts, []string{"h2"}) {
		t.Fatalf("partial push: %+v, %v", res, err)
	}
	s := w.load()
	if s.Pending == nil || !slices.Equal(s.Pending.Hosts, []string{"h2"}) || !strings.Contains(s.Pending.LastError, "h2") {
		t.Fatalf("pending %+v", s.Pending)
	}
	w.pusher.fail["h2"] = false
	res = w.step(10 * time.Second)
	calls := w.pusher.calls()
	if len(calls) != 2 || !slices.Equal(calls[1].hosts, []string{"h2"}) || calls[1].target.Generation != 1 {
		t.Fatalf("re-push %+v, want generation 1 to h2 only", calls)
	}
	if res.Action != ActionPendingPush || w.load().Pending != nil {
		t.Fatalf("after re-push: %+v pending %+v", res, w.load().Pending)
	}
}

func TestRunDoesNotRepushAClaimedIntent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	claimed := state.State{ActiveRegion: "EU", Generation: 1,
		Pending: &state.Pending{Generation: 1, Region: "EU", Cloud: "eu", ClaimedUntil: w.now.Add(20 * time.Second), Attempts: 1}}
	if _, err := w.store.Swap(context.Background(), state.State{}, claimed); err != nil {
		t.Fatal(err)
	}
	res := w.step(5 * time.Second)
	if len(w.pusher.calls()) != 0 {
		t.Fatalf("re-pushed a push still claimed by its invocation: %+v", w.pusher.calls())
	}
	if !slices.Equal(res.PendingHosts, []string{"*"}) {
		t.Errorf("pending hosts %v, want [*]", res.PendingHosts)
	}
	w.step(20 * time.Second) // claim expired: this one repairs the crash
	calls := w.pusher.calls()
	if len(calls) != 1 || calls[0].target.Generation != 1 {
		t.Fatalf("after claim expiry: pushes %+v", calls)
	}
	if s := w.load(); s.Pending != nil || s.Generation != 1 {
		t.Fatalf("state %+v", s)
	}
}

func TestRunConcurrentInvocationsPushOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.up["NAM"].Store(false)
	w.plantOutage(5 * time.Minute)
	var wg sync.WaitGroup
	var failovers atomic.Int64
	for range 20 {
		wg.Go(func() {
			res, err := w.run(context.Background(), nil)
			if err != nil {
				t.Errorf("Run: %v", err)
			}
			if res.Action == ActionFailover {
				failovers.Add(1)
			}
		})
	}
	wg.Wait()
	if n := len(w.pusher.calls()); n != 1 || failovers.Load() != 1 {
		t.Fatalf("%d pushes, %d failovers; want exactly one", n, failovers.Load())
	}
}

func TestRunCorruptStateContinuesFromHosts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte(`{"version": 3, "active_reg`), 0o600); err != nil {
		t.Fatal(err)
	}
	w.store = state.NewFileStore(path)
	deps := w.deps()
	deps.Recover = func(context.Context) (string, int64, error) { return "APAC", 4, nil }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := Run(ctx, testenv.Config(t, w.env), deps)
	if err != nil || res.Region != "APAC" || res.Generation != 4 {
		t.Fatalf("Run = %+v, %v; want APAC generation 4 from the env file", res, err)
	}
	aside, _ := filepath.Glob(path + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("corrupt file kept aside as %v", aside)
	}
	if !strings.Contains(w.logs.String(), "state unreadable") {
		t.Errorf("no error logged: %s", w.logs.String())
	}
}

type fixedGuard probe.GuardResult

func (g fixedGuard) Check(context.Context) probe.GuardResult { return probe.GuardResult(g) }

func TestRunLocalNetworkGuard(t *testing.T) {
	t.Parallel()
	t.Run("everything down and guard failing is inconclusive", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.guard = fixedGuard{OK: false, Err: errors.New("witness: connection refused")}
		for _, up := range w.up {
			up.Store(false)
		}
		for i := 0; i < 40; i++ {
			if res := w.step(10 * time.Second); res.Action != ActionInconclusive {
				t.Fatalf("step %d: %+v", i, res)
			}
		}
		if s := w.load(); s.Version != 0 || len(w.pusher.calls()) != 0 {
			t.Fatalf("inconclusive runs changed state %+v or pushed", s)
		}
		if !strings.Contains(w.logs.String(), "local network unavailable") {
			t.Error("log does not say local network unavailable")
		}
	})
	t.Run("other regions answering make the outage real", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.guard = fixedGuard{OK: false, Err: errors.New("speedtest: timeout")}
		w.up["NAM"].Store(false)
		if res := w.step(0); res.Action != ActionOutageStarted {
			t.Fatalf("%+v", res)
		}
	})
}

func TestRunDryRunKeepsItsOwnState(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.up["NAM"].Store(false)
	real := w.store
	dry := state.NewFileStore(real.Path() + ".dry-run")
	cfg := testenv.Config(t, w.env)
	cfg.DryRun = true
	deps := w.deps()
	deps.DryRunStore = dry
	// The whole outage, from an empty folder: the clock starts, runs past
	// the threshold, and the dry run fails over in its own state.
	var res Result
	for i := 0; i < 30 && res.Action != "would_failover"; i++ {
		var err error
		if res, err = Run(context.Background(), cfg, deps); err != nil {
			t.Fatal(err)
		}
		w.now = w.now.Add(10 * time.Second)
	}
	if res.Action != "would_failover" || res.To != "EU" || !res.DryRun || res.OutageSeconds < 240 {
		t.Fatalf("dry run = %+v, want would_failover to EU past the 4m threshold", res)
	}
	if _, err := os.Stat(real.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dry run created the real state file: %v", err)
	}
	if n := len(w.pusher.calls()); n != 0 {
		t.Errorf("the dry run pushed %d times", n)
	}
	s, err := dry.Load(context.Background())
	if err != nil || s.ActiveRegion != "EU" || s.Generation != 1 || s.Pending != nil {
		t.Fatalf("dry state %+v, %v: want EU generation 1 converged", s, err)
	}
	logs := w.logs.String()
	if !strings.Contains(logs, `"level":"INFO","msg":"would fail over from NAM to EU"`) || strings.Contains(logs, `"msg":"failover from`) {
		t.Errorf("want an info would-fail-over line and no failover warning:\n%s", logs)
	}
	// The dry run goes on from its own state: EU is healthy there.
	w.now = w.now.Add(10 * time.Second)
	if res, err = Run(context.Background(), cfg, deps); err != nil || res.Region != "EU" || res.Action != ActionNone {
		t.Fatalf("after the dry failover: %+v, %v", res, err)
	}
}

func TestRunDryRunNeedsItsOwnStore(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := testenv.Config(t, w.env)
	cfg.DryRun = true
	if _, err := Run(context.Background(), cfg, w.deps()); !errors.Is(err, errNoDryRunStore) {
		t.Fatalf("dry run without a store of its own: %v, want errNoDryRunStore", err)
	}
	if w.load().Version != 0 {
		t.Error("the dry run wrote the real state")
	}
}

func TestFailoverForced(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := testenv.Config(t, w.env)
	res, err := Failover(ctx, cfg, w.deps(), FailoverRequest{To: "APAC", By: "alice"})
	if err != nil || res.Action != ActionFailover || res.To != "APAC" || res.Generation != 1 {
		t.Fatalf("Failover = %+v, %v", res, err)
	}
	if h := w.load().History; len(h) != 1 || h[0].Kind != state.EventForced || h[0].From != "NAM" || h[0].To != "APAC" || h[0].By != "alice" || h[0].Generation != 1 {
		t.Errorf("history %+v, want one forced NAM -> APAC by alice", h)
	}
	res, err = Failover(ctx, cfg, w.deps(), FailoverRequest{To: "APAC"})
	if err != nil || res.Action != ActionNone || res.Reason != "already active" {
		t.Fatalf("second Failover = %+v, %v", res, err)
	}
	if n := len(w.pusher.calls()); n != 1 {
		t.Fatalf("%d pushes, want 1", n)
	}
}

// countingGuard reports a fixed latency and counts its runs.
type countingGuard struct{ n atomic.Int64 }

func (g *countingGuard) Check(context.Context) probe.GuardResult {
	g.n.Add(1)
	return probe.GuardResult{OK: true, Latency: 12 * time.Millisecond}
}

type metricsRecorder struct {
	mu     sync.Mutex
	gauges map[string][]float64
	counts map[string]int64
}

func (m *metricsRecorder) Gauge(name string, v float64, _ ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gauges == nil {
		m.gauges = map[string][]float64{}
	}
	m.gauges[name] = append(m.gauges[name], v)
}

func (m *metricsRecorder) Count(name string, v int64, _ ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counts == nil {
		m.counts = map[string]int64{}
	}
	m.counts[name] += v
}

func (m *metricsRecorder) count(name string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts[name]
}

func TestRunLatencyAlwaysMeasuresOncePerInterval(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := &countingGuard{}
	w.guard = g
	metrics := &metricsRecorder{}
	env := map[string]string{"LATENCY_CHECK": "always", "LATENCY_INTERVAL": "5m"}
	for i := 0; i < 61; i++ { // ten minutes and ten seconds of healthy checks
		deps := w.deps()
		deps.Metrics = metrics
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		for k, v := range env {
			w.env[k] = v
		}
		if _, err := Run(ctx, testenv.Config(t, w.env), deps); err != nil {
			t.Fatal(err)
		}
		cancel()
		w.now = w.now.Add(10 * time.Second)
	}
	if n := g.n.Load(); n != 3 {
		t.Fatalf("guard ran %d times in 10m10s of healthy checks, want 3 (at 0, 5m and 10m)", n)
	}
	if s := w.load(); s.LatencyMS != 12 || s.LatencyAt.IsZero() {
		t.Fatalf("latency not kept in state: %+v", s)
	}
	if got := metrics.gauges["extcloud.latency.ms"]; len(got) != 3 || got[0] != 12 {
		t.Fatalf("extcloud.latency.ms gauges %v, want three of 12", got)
	}
	if !strings.Contains(w.logs.String(), `"latency_ms":12`) {
		t.Errorf("summary lacks latency_ms: %s", w.logs.String())
	}
}

// unknownHostPusher answers like remote.Supervisor for a host that has left
// SUPERVISOR_URL.
type unknownHostPusher struct{ recordingPusher }

func (p *unknownHostPusher) Push(ctx context.Context, t remote.Target, hosts []string) (remote.Result, error) {
	res, err := p.recordingPusher.Push(ctx, t, hosts)
	res.Failed["gone"] = fmt.Errorf("supervisor gone: not configured in SUPERVISOR_URL: %w", remote.ErrUnknownHost)
	return res, err
}

func TestRunDropsPendingHostsNoLongerConfigured(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	pending := state.State{ActiveRegion: "EU", Generation: 1,
		Pending: &state.Pending{Generation: 1, Region: "EU", Cloud: "eu", Hosts: []string{"gone", "h1"}}}
	if _, err := w.store.Swap(context.Background(), state.State{}, pending); err != nil {
		t.Fatal(err)
	}
	p := &unknownHostPusher{recordingPusher{hosts: []string{"h1"}, fail: map[string]bool{}}}
	deps := w.deps()
	deps.Pusher = p
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Run(ctx, testenv.Config(t, w.env), deps); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s := w.load(); s.Pending != nil {
		t.Fatalf("pending %+v, want the unconfigured host dropped and the push done", s.Pending)
	}
}

func TestRunAdoptsHostsWhenStateIsBehind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		stored  *state.State
		hosts   string
		hostGen int64
		want    string
		wantGen int64
	}{
		{name: "state deleted by hand", hosts: "APAC", hostGen: 7, want: "APAC", wantGen: 7},
		{name: "hosts behind a pending push are not adopted", stored: &state.State{ActiveRegion: "EU", Generation: 3,
			Pending: &state.Pending{Generation: 3, Region: "EU", Cloud: "eu", ClaimedUntil: t0.Add(time.Minute)}}, hosts: "NAM", hostGen: 2, want: "EU", wantGen: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.up["NAM"].Store(false)
			if tt.stored != nil {
				if _, err := w.store.Swap(context.Background(), state.State{}, *tt.stored); err != nil {
					t.Fatal(err)
				}
			}
			deps := w.deps()
			deps.Recover = func(context.Context) (string, int64, error) { return tt.hosts, tt.hostGen, nil }
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := Run(ctx, testenv.Config(t, w.env), deps)
			if err != nil || res.Region != tt.want || res.Generation != tt.wantGen {
				t.Fatalf("Run = %+v, %v; want %s at generation %d", res, err, tt.want, tt.wantGen)
			}
			if s := w.load(); s.ActiveRegion != tt.want || s.Generation != tt.wantGen {
				t.Fatalf("stored %+v, want %s at generation %d", s, tt.want, tt.wantGen)
			}
			if n := len(w.pusher.calls()); n != 0 {
				t.Fatalf("%d pushes, want none", n)
			}
		})
	}
}

// stalePusher refuses every push like remote.Supervisor does when
// ext_cloud.env holds a newer generation.
type stalePusher struct{ recordingPusher }

func (p *stalePusher) Push(ctx context.Context, t remote.Target, hosts []string) (remote.Result, error) {
	p.recordingPusher.Push(ctx, t, hosts)
	err := fmt.Errorf("env file holds generation 5: %w", remote.ErrStaleGeneration)
	return remote.Result{Failed: map[string]error{"h1": err}}, err
}

func TestRunAdoptsHostsAfterAStalePush(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.up["NAM"].Store(false)
	w.plantOutage(5 * time.Minute) // restored from an old copy: generation 0
	p := &stalePusher{recordingPusher{hosts: []string{"h1"}, fail: map[string]bool{}}}
	deps := w.deps()
	deps.Pusher = p
	deps.Recover = func(context.Context) (string, int64, error) { return "APAC", 5, nil }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := Run(ctx, testenv.Config(t, w.env), deps)
	if err != nil || res.To != "APAC" || res.Generation != 5 {
		t.Fatalf("Run = %+v, %v; want APAC at generation 5 adopted", res, err)
	}
	if s := w.load(); s.ActiveRegion != "APAC" || s.Generation != 5 || s.Pending != nil || !s.OutageStartedAt.IsZero() {
		t.Fatalf("stored %+v", s)
	}
	res, err = Run(ctx, testenv.Config(t, w.env), deps)
	if err != nil || res.Action != ActionNone || res.Region != "APAC" || len(p.calls()) != 1 {
		t.Fatalf("next run = %+v, %v, %d pushes; want a quiet APAC", res, err, len(p.calls()))
	}
}

func TestRunManyUnconvergedHostsRepushToAllTargets(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.pusher.hosts = nil
	for i := range MaxPendingHosts + 20 {
		h := fmt.Sprintf("i-%017x", i)
		w.pusher.hosts = append(w.pusher.hosts, h)
		w.pusher.fail[h] = i%2 == 0 || i < MaxPendingHosts // 110 of 120 fail
	}
	w.up["NAM"].Store(false)
	w.plantOutage(5 * time.Minute)
	res, err := w.run(context.Background(), nil)
	if !errors.Is(err, ErrPushIncomplete) || !slices.Equal(res.PendingHosts, []string{"*"}) {
		t.Fatalf("Run = %+v, %v; want incomplete with every target pending", res, err)
	}
	s := w.load()
	if s.Pending == nil || len(s.Pending.Hosts) != 0 || !strings.Contains(s.Pending.LastError, "110 hosts not converged") {
		t.Fatalf("pending %+v", s.Pending)
	}
}

// inFlightPusher answers like ssmpush when a host has not answered yet.
type inFlightPusher struct {
	recordingPusher
	until time.Time
}

func (p *inFlightPusher) Push(ctx context.Context, t remote.Target, hosts []string) (remote.Result, error) {
	res, err := p.recordingPusher.Push(ctx, t, hosts)
	res.Commands = []remote.Command{{ID: "cmd-1", Until: p.until}}
	return res, err
}

func TestRunDoesNotRepushWhileHostsMayStillRunThePush(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	p := &inFlightPusher{recordingPusher{hosts: []string{"i-1", "i-2"}, fail: map[string]bool{"i-2": true}}, w.now.Add(40 * time.Second)}
	deps := w.deps()
	deps.Pusher = p
	w.up["NAM"].Store(false)
	w.plantOutage(5 * time.Minute)
	run := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		Run(ctx, testenv.Config(t, w.env), deps)
	}
	run()
	if s := w.load(); s.Pending == nil || !s.Pending.ClaimedUntil.Equal(p.until) {
		t.Fatalf("pending %+v, want claimed until %v", s.Pending, p.until)
	}
	w.now = w.now.Add(30 * time.Second)
	run()
	if n := len(p.calls()); n != 1 {
		t.Fatalf("%d pushes while the first may still run, want 1", n)
	}
	w.now = w.now.Add(15 * time.Second)
	run()
	if calls := p.calls(); len(calls) != 2 || !slices.Equal(calls[1].hosts, []string{"i-2"}) {
		t.Fatalf("pushes %+v, want a re-push to i-2 after the command's time", calls)
	}
}

func TestRunActiveRegionDroppedFromTheList(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	gone := state.State{ActiveRegion: "MARS", OutageStartedAt: w.now.Add(-5 * time.Minute), LastProbeAt: w.now.Add(-5 * time.Second)}
	if _, err := w.store.Swap(context.Background(), state.State{}, gone); err != nil {
		t.Fatal(err)
	}
	res := w.step(0)
	if res.Action != ActionFailover || res.To != "NAM" {
		t.Fatalf("Run = %+v; want a failover to the first listed region", res)
	}
	if !strings.Contains(w.logs.String(), `active region \"MARS\" is not in EXT_CLOUD_FAILOVER_LIST`) {
		t.Errorf("log does not say why MARS is down: %s", w.logs.String())
	}
}

// pollingPusher answers like ssmpush for a host that restarts slowly: the
// first Push leaves i-2 running one command; each Poll answers the next of
// polls; a later Push converges every host it is sent to.
type pollingPusher struct {
	recordingPusher
	until  time.Time
	polls  []remote.Result
	polled [][]remote.Command
}

func (p *pollingPusher) Push(ctx context.Context, t remote.Target, hosts []string) (remote.Result, error) {
	res, err := p.recordingPusher.Push(ctx, t, hosts)
	if len(p.calls()) == 1 {
		return remote.Result{Converged: []string{"i-1"}, InProgress: []string{"i-2"}, Commands: []remote.Command{{ID: "c1", Until: p.until}}}, nil
	}
	res.Commands = []remote.Command{{ID: "c2", Until: p.until, Ended: true}}
	return res, err
}

func (p *pollingPusher) Poll(_ context.Context, cmds []remote.Command) (remote.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.polled = append(p.polled, slices.Clone(cmds))
	res := p.polls[0]
	p.polls = p.polls[1:]
	return res, nil
}

// TestRunPollsAPushInFlight: a host still running the push when the
// failover's invocation ends is polled by the next ones, with no new
// command and no error, and only once the command has ended on it without
// success is it sent again, by the invocation that saw it end.
func TestRunPollsAPushInFlight(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c1 := remote.Command{ID: "c1", Until: w.now.Add(330 * time.Second)}
	p := &pollingPusher{recordingPusher: recordingPusher{hosts: []string{"i-1", "i-2"}}, until: c1.Until, polls: []remote.Result{
		{Converged: []string{"i-1"}, InProgress: []string{"i-2"}, Commands: []remote.Command{c1}},
		{Converged: []string{"i-1"}, Failed: map[string]error{"i-2": errors.New("ssm command c1: TimedOut (ExecutionTimedOut)")},
			Commands: []remote.Command{{ID: "c1", Until: c1.Until, Ended: true}}},
	}}
	deps := w.deps()
	deps.Pusher = p
	w.up["NAM"].Store(false)
	w.plantOutage(5 * time.Minute)
	run := func(d time.Duration) Result {
		t.Helper()
		w.now = w.now.Add(d)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := Run(ctx, testenv.Config(t, w.env), deps)
		if err != nil {
			t.Fatalf("Run at %v: %v (a push in progress is no error)", w.now, err)
		}
		return res
	}

	res := run(0)
	if res.Action != ActionFailover || !slices.Equal(res.PendingHosts, []string{"i-2"}) {
		t.Fatalf("failover = %+v, want i-2 pending", res)
	}
	s := w.load()
	if s.Pending == nil || len(s.Pending.Commands) != 1 || s.Pending.Commands[0].ID != "c1" || !s.Pending.Commands[0].Until.Equal(c1.Until) || !s.Pending.ClaimedUntil.IsZero() {
		t.Fatalf("pending %+v, want command c1 recorded and the claim released", s.Pending)
	}

	res = run(10 * time.Second)
	if res.Action != ActionPendingPush || !slices.Equal(res.PendingHosts, []string{"i-2"}) || len(p.calls()) != 1 {
		t.Fatalf("second check = %+v after %d pushes, want pending_push on i-2 and no new push", res, len(p.calls()))
	}
	if len(p.polled) != 1 || len(p.polled[0]) != 1 || p.polled[0][0].ID != "c1" {
		t.Fatalf("polled %+v, want c1", p.polled)
	}
	if s := w.load(); s.Pending.Attempts != 1 {
		t.Errorf("attempts %d after a poll, want 1 (a poll is not a push)", s.Pending.Attempts)
	}

	res = run(10 * time.Second)
	calls := p.calls()
	if len(calls) != 2 || !slices.Equal(calls[1].hosts, []string{"i-2"}) || len(p.polled) != 2 {
		t.Fatalf("pushes %+v, polls %d; want the second push to i-2 only, after the second poll", calls, len(p.polled))
	}
	if res.Action != ActionPendingPush || len(res.PendingHosts) != 0 || w.load().Pending != nil {
		t.Fatalf("third check = %+v, pending %+v; want converged", res, w.load().Pending)
	}
	if !strings.Contains(w.logs.String(), `"msg":"push converged: every host runs the generation"`) {
		t.Errorf("no push converged line")
	}
}
