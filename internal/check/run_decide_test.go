package check

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/probe"
	"extcloud-failover/internal/state"
	"extcloud-failover/internal/testenv"
)

// allLines returns the JSON log lines written so far, in order.
func (w *world) allLines() []map[string]any {
	w.t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(w.logs.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			w.t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// linesWith returns the log lines whose message starts with prefix.
func (w *world) linesWith(prefix string) []map[string]any {
	var out []map[string]any
	for _, l := range w.allLines() {
		if msg, _ := l["msg"].(string); strings.HasPrefix(msg, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func TestRunSummaryCarriesEveryRegion(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.up["EU"].Store(false)
	res := w.step(10 * time.Second)
	if len(res.Regions) != 3 || !res.Regions["NAM"].Healthy || res.Regions["EU"].Healthy || res.Regions["EU"].Status != 503 || res.Regions["APAC"].Status != 200 {
		t.Fatalf("result regions %+v", res.Regions)
	}
	lines := w.linesWith("check complete")
	if len(lines) != 1 {
		t.Fatalf("%d check complete lines", len(lines))
	}
	regions, _ := lines[0]["regions"].(map[string]any)
	eu, _ := regions["EU"].(map[string]any)
	if len(regions) != 3 || eu["healthy"] != false || eu["status"] != float64(503) || eu["ms"] == nil {
		t.Errorf("regions field = %v", lines[0]["regions"])
	}
	// EU was never seen down before: its first failure is recorded, once.
	if s := w.load(); s.Version != 1 || s.Regions["EU"].Healthy || len(s.Regions) != 1 {
		t.Errorf("state %+v", s)
	}
	w.step(10 * time.Second)
	w.step(10 * time.Second)
	w.step(10 * time.Second) // the streak is at its cap now
	if v := w.load().Version; v != 3 {
		t.Errorf("state version %d after the streak reached its cap, want 3 (no more writes)", v)
	}
}

func TestRunFlappingRegionFailsOverOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var failovers []time.Duration
	for i := range 90 { // 15 minutes: NAM down 50 s of every minute
		w.up["NAM"].Store(i%6 == 5)
		if res := w.step(10 * time.Second); res.Action == ActionFailover {
			failovers = append(failovers, w.now.Sub(t0))
		}
	}
	if len(failovers) != 1 || failovers[0] != 250*time.Second {
		t.Fatalf("failovers at %v, want one at 250s (4 min after the first failure at 10s)", failovers)
	}
	if n := len(w.linesWith("recovering (1/3)")); n == 0 {
		t.Error("no recovering (1/3) line")
	}
	if n := len(w.linesWith("failover from NAM to EU")); n != 1 {
		t.Errorf("%d failover lines, want 1", n)
	}
}

func TestRunGapRestartsTheClockWithAWarning(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.up["NAM"].Store(false)
	w.step(10 * time.Second)
	if res := w.step(60 * time.Second); res.Action != ActionNone || res.OutageSeconds != 60 {
		t.Fatalf("a once-a-minute run: %+v, want the outage to go on", res)
	}
	res := w.step(2 * time.Minute)
	if res.Action != ActionOutageStarted {
		t.Fatalf("after a 2m gap: %+v", res)
	}
	warns := w.linesWith("outage clock restarted after 2m0s without probes (longer than OUTAGE_MAX_GAP 1m30s)")
	if len(warns) != 1 || warns[0]["level"] != "WARN" || warns[0]["gap_seconds"] != float64(120) || warns[0]["setting"] != "OUTAGE_MAX_GAP" {
		t.Errorf("gap warnings %v", warns)
	}
}

func TestRunConcurrentFailoverLogsOneLine(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.up["NAM"].Store(false)
	w.plantOutage(5 * time.Minute)
	metrics := &metricsRecorder{}
	cfg := w.config(nil)
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			deps := w.deps()
			deps.Metrics = metrics
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := Run(ctx, cfg, deps); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	wg.Wait()
	if n := len(w.linesWith("failover from")); n != 1 {
		t.Errorf("%d failover lines, want exactly 1", n)
	}
	if n := metrics.count("extcloud.failover"); n != 1 {
		t.Errorf("extcloud.failover counted %d, want 1", n)
	}
	for _, l := range w.linesWith("another invocation acted") {
		if l["level"] != "INFO" {
			t.Errorf("lost race logged at %v", l["level"])
		}
	}
	if n := len(w.pusher.calls()); n != 1 {
		t.Errorf("%d pushes, want 1", n)
	}
}

// TestRunLostSwapLogsNoFailover loses the compare-and-swap of the intent
// on purpose: the loser must log at info, and no failover line or metric.
func TestRunLostSwapLogsNoFailover(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.up["NAM"].Store(false)
	w.plantOutage(5 * time.Minute)
	metrics := &metricsRecorder{}
	deps := w.deps()
	deps.Metrics = metrics
	deps.Store = &racingStore{Store: w.store}
	res, err := Run(context.Background(), w.config(nil), deps)
	if err != nil || res.Action != ActionNone {
		t.Fatalf("Run = %+v, %v; want none (another invocation acted)", res, err)
	}
	if n := len(w.linesWith("failover from")); n != 0 || metrics.count("extcloud.failover") != 0 {
		t.Errorf("the loser logged %d failover lines and counted %d", n, metrics.count("extcloud.failover"))
	}
	if l := w.linesWith("another invocation acted"); len(l) != 1 || l[0]["level"] != "INFO" {
		t.Errorf("lost-race lines %v", l)
	}
	if len(w.pusher.calls()) != 0 {
		t.Error("the loser pushed")
	}
}

// racingStore lets another writer in just before the first Swap.
type racingStore struct {
	state.Store
	raced bool
}

func (s *racingStore) Swap(ctx context.Context, old, next state.State) (state.State, error) {
	if !s.raced {
		s.raced = true
		other := old
		other.LastProbeAt = other.LastProbeAt.Add(time.Second)
		if _, err := s.Store.Swap(ctx, old, other); err != nil {
			return state.State{}, err
		}
	}
	return s.Store.Swap(ctx, old, next)
}

func TestRunFutureTimesDoNotDelayAFailover(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.up["NAM"].Store(false)
	ahead := w.now.Add(3 * time.Hour)
	planted := state.State{ActiveRegion: "NAM", OutageStartedAt: ahead, LastProbeAt: ahead, LastFailoverAt: ahead.Add(-time.Hour),
		Regions: map[string]state.RegionHealth{"NAM": {Since: ahead, Streak: 3}}}
	if _, err := w.store.Swap(context.Background(), state.State{}, planted); err != nil {
		t.Fatal(err)
	}
	w.env["FAILOVER_MIN_INTERVAL"] = "0"
	res := w.step(10 * time.Second)
	warns := w.linesWith("state time outage_started_at, last_probe_at, last_failover_at, regions.NAM.since lies more than CHECK_TIMEOUT (30s) ahead")
	if len(warns) != 1 || warns[0]["level"] != "WARN" {
		t.Fatalf("no warning naming the fields: %s", w.logs.String())
	}
	start := w.now
	for res.Action != ActionFailover && w.now.Sub(start) < time.Hour {
		res = w.step(10 * time.Second)
	}
	if got := w.now.Sub(start); res.Action != ActionFailover || got != 4*time.Minute {
		t.Fatalf("failover %v after the future state was read, want 4m (the threshold)", got)
	}
}

func TestRunBudgetExhaustedLogsTheSwitchesAndCounts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.up["NAM"].Store(false)
	s := state.State{ActiveRegion: "NAM", OutageStartedAt: w.now.Add(-5 * time.Minute), LastProbeAt: w.now.Add(-5 * time.Second)}
	for i, h := range []time.Duration{-20 * time.Hour, -10 * time.Hour, -5 * time.Hour} {
		s = s.Record(state.Event{At: w.now.Add(h), Kind: state.EventFailover, From: "EU", To: "NAM", Generation: int64(i + 1)})
	}
	if _, err := w.store.Swap(context.Background(), state.State{}, s); err != nil {
		t.Fatal(err)
	}
	metrics := &metricsRecorder{}
	deps := w.deps()
	deps.Metrics = metrics
	w.now = w.now.Add(10 * time.Second)
	res, err := Run(context.Background(), w.config(nil), deps)
	if err != nil || res.Action != ActionBudgetExhausted || res.Region != "NAM" {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	lines := w.linesWith("failover budget exhausted")
	if len(lines) != 1 || lines[0]["level"] != "ERROR" {
		t.Fatalf("budget lines %v", lines)
	}
	if used, _ := lines[0]["switches"].([]any); len(used) != 3 || !strings.Contains(used[0].(string), "failover EU->NAM") {
		t.Errorf("switches = %v", lines[0]["switches"])
	}
	if metrics.count("extcloud.budget_exhausted") != 1 || len(w.pusher.calls()) != 0 {
		t.Errorf("metric %d, pushes %d", metrics.count("extcloud.budget_exhausted"), len(w.pusher.calls()))
	}
	// A forced failover still works.
	if res, err := Failover(context.Background(), w.config(nil), w.deps(), FailoverRequest{To: "EU"}); err != nil || res.Action != ActionFailover {
		t.Errorf("forced failover past the budget = %+v, %v", res, err)
	}
}

// config is the world's configuration with extra settings.
func (w *world) config(extra map[string]string) *config.Config {
	env := map[string]string{}
	for k, v := range w.env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	return testenv.Config(w.t, env)
}

// TestRunProbesEveryRegionAtOnceThroughPreflight: the active region goes
// through Deps.Prober, the others through Deps.Preflight, all at once: the
// probes answer only when all three are in flight together, so probing one
// after the other would time out.
func TestRunProbesEveryRegionAtOnceThroughPreflight(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := &barrier{open: make(chan struct{}), calls: map[string][]string{}}
	deps := w.deps()
	deps.Prober, deps.Preflight = b.prober("active", true), b.prober("preflight", false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := Run(ctx, w.config(nil), deps)
	if err != nil || res.Healthy == nil || !*res.Healthy {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	b.mu.Lock()
	calls := b.calls
	b.mu.Unlock()
	if len(calls["active"]) != 1 || calls["active"][0] != "NAM" || len(calls["preflight"]) != 2 {
		t.Errorf("calls %v: want NAM through Prober, EU and APAC through Preflight", calls)
	}
	if !res.Regions["NAM"].Healthy || res.Regions["EU"].Healthy || res.Regions["APAC"].Status != 503 {
		t.Errorf("regions %+v", res.Regions)
	}
}

// barrier holds every probe until three are in flight at once.
type barrier struct {
	mu       sync.Mutex
	inFlight int
	open     chan struct{}
	calls    map[string][]string // region names, by prober
}

func (b *barrier) prober(name string, healthy bool) RegionProber {
	return proberFunc(func(ctx context.Context, r config.Region) probe.Result {
		b.mu.Lock()
		b.calls[name] = append(b.calls[name], r.Name)
		if b.inFlight++; b.inFlight == 3 {
			close(b.open)
		}
		b.mu.Unlock()
		select {
		case <-b.open:
		case <-ctx.Done():
			return probe.Result{Region: r.Name, Err: ctx.Err()}
		}
		if healthy {
			return probe.Result{Region: r.Name, Healthy: true, Status: 200}
		}
		return probe.Result{Region: r.Name, Status: 503, Err: errors.New("status 503")}
	})
}

type proberFunc func(ctx context.Context, r config.Region) probe.Result

func (f proberFunc) Probe(ctx context.Context, r config.Region) probe.Result { return f(ctx, r) }
