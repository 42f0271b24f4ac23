package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
	"extcloud-failover/internal/testenv"
)

// binPath is the real binary, built once by TestMain.
var binPath string

func TestMain(m *testing.M) {
	testenv.MainWithBinary(m, "extcloud-failover", &binPath)
}

// region is a simulated cloudlookup endpoint whose health the test switches.
type region = testenv.Region

func newRegion(t *testing.T, name string) *region { return testenv.StartRegion(t, name) }

// fleet is one host: three regions, a real supervisord running a program
// whose starts are counted, and the checker's environment.
type fleet struct {
	t                  *testing.T
	dir                string
	nam, eu, apac      *region
	sv                 *testenv.Supervisord
	starts             func() int
	env                []string
	envFile, stateFile string
	// deployed is the env file deploy wrote last.
	deployed string
}

func newFleet(t *testing.T, extra ...string) *fleet {
	t.Helper()
	dir := t.TempDir()
	cmd, starts := testenv.CountingProgram(t, dir)
	sv := testenv.StartSupervisord(t, testenv.SupervisordOptions{
		Programs: []testenv.SupervisordProgram{{Name: "app", Command: cmd}},
	})
	f := fleetOn(t, dir, sv, nil, extra...)
	f.starts = func() int { f.settle(); return starts() }
	waitFor(t, "app started by supervisord", func() bool { return f.starts() == 1 })
	return f
}

// fleetOn is a fleet in dir on a supervisord the caller started: three
// regions and the checker's environment, extra last (the last value of a
// variable wins).
func fleetOn(t *testing.T, dir string, sv *testenv.Supervisord, starts func() int, extra ...string) *fleet {
	t.Helper()
	f := &fleet{t: t, dir: dir, sv: sv, starts: starts}
	f.nam, f.eu, f.apac = newRegion(t, "NAM"), newRegion(t, "EU"), newRegion(t, "APAC")
	f.envFile = filepath.Join(dir, "ext_cloud.env")
	f.stateFile = filepath.Join(dir, "state.json")
	f.env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"EXT_CLOUD_FAILOVER_LIST=NAM=" + f.nam.Cloud() + ",EU=" + f.eu.Cloud() + ",APAC=" + f.apac.Cloud(),
		"CLOUDLOOKUP_URL=http://{cloud}/cloudlookup?orgId={org_id}&txnId={txn_id}",
		"CONNECTION_KEEPALIVE_ORG_ID=org-1",
		"CONNECTION_KEEPALIVE_TXN_ID=txn-1",
		"ENV_FILE=" + f.envFile,
		"STATE_FILE=" + f.stateFile,
		"SUPERVISOR_URL=" + sv.URL,
		"SUPERVISOR_PROGRAMS=app",
		"FAILOVER_THRESHOLD=2s",
		"FAILOVER_MIN_INTERVAL=0s",
		"PROBE_INTERVAL=1s",
		"PROBE_TIMEOUT=2s",
		"LATENCY_CHECK=off",
	}, extra...)
	f.deployed = f.deploy()
	return f
}

// deploy writes the env file of a host that was deployed before and has
// converged: the region and generation of the state file when there is one,
// else the primary of f.env and args (-r/--region, the last wins), with the
// cloud f.env lists for it. A healthy run then reads the file and changes
// nothing. It returns what it wrote; nothing when the list does not name
// the region (a configuration error case).
func (f *fleet) deploy(args ...string) string {
	f.t.Helper()
	var list, region string
	for _, kv := range f.env {
		if v, ok := strings.CutPrefix(kv, "EXT_CLOUD_FAILOVER_LIST="); ok {
			list = v
		}
		if v, ok := strings.CutPrefix(kv, "EXT_CLOUD_REGION="); ok {
			region = v
		}
	}
	for i, a := range args {
		switch {
		case (a == "-r" || a == "--region") && i+1 < len(args):
			region = args[i+1]
		case strings.HasPrefix(a, "--region=") || strings.HasPrefix(a, "-r="):
			_, region, _ = strings.Cut(a, "=")
		}
	}
	var gen int64
	if data, err := os.ReadFile(f.stateFile); err == nil {
		if s, err := state.Decode(data); err == nil && s.ActiveRegion != "" {
			region, gen = s.ActiveRegion, s.Generation
		}
	}
	clouds := map[string]string{}
	first := ""
	for _, it := range strings.Split(list, ",") {
		name, cloud, _ := strings.Cut(it, "=")
		if first == "" {
			first = name
		}
		clouds[name] = cloud
	}
	if region == "" {
		region = first
	}
	t := remote.Target{Region: region, Cloud: clouds[region], Generation: gen}
	if remote.ValidateTarget(t) != nil {
		return ""
	}
	content := string(remote.Render(t))
	if err := os.WriteFile(f.envFile, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return content
}

// settle waits until the counter has recorded the start of the app that
// supervisord runs now: supervisord reports RUNNING (startsecs=0) a moment
// before the program has written its line.
func (f *fleet) settle() {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		pid, ok := f.sv.RunningPID("app")
		if !ok || testenv.LastStartedPID(f.t, f.dir) == pid {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.t.Fatalf("the app's start was not recorded within 10s")
}

// invocation is one run of the binary.
type invocation struct {
	code    int
	lines   []map[string]any
	stdout  string
	stderr  string
	summary map[string]any
}

func (f *fleet) run(args ...string) invocation {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = f.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	inv := invocation{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		inv.code = ee.ExitCode()
	case err != nil:
		f.t.Fatalf("run %v: %v", args, err)
	}
	sc := bufio.NewScanner(strings.NewReader(inv.stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if len(args) > 0 && (args[0] == "status" || args[0] == "validate" || args[0] == "doctor" || args[0] == "simulate") {
			break // not log lines
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			f.t.Fatalf("log line is not JSON: %q (%v)", sc.Text(), err)
		}
		inv.lines = append(inv.lines, m)
		if m["message"] == "check complete" {
			inv.summary = m
		}
	}
	control := len(args) > 0 && (args[0] == "pause" || args[0] == "resume") // they log their own line, no check
	if summaries := strings.Count(inv.stdout, `"message":"check complete"`); inv.code != 2 && len(inv.lines) > 0 && !control && summaries != 1 {
		f.t.Errorf("run %v wrote %d summary lines, want exactly 1:\n%s", args, summaries, inv.stdout)
	}
	return inv
}

func (inv invocation) action() string {
	if inv.summary == nil {
		return ""
	}
	s, _ := inv.summary["action"].(string)
	return s
}

func (f *fleet) envRegion() string {
	f.t.Helper()
	env, err := remote.ReadEnvFile(f.envFile)
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		f.t.Fatalf("read env file: %v", err)
	}
	return env.Region
}

func (f *fleet) readState() state.State {
	f.t.Helper()
	data, err := os.ReadFile(f.stateFile)
	if errors.Is(err, os.ErrNotExist) {
		return state.State{}
	}
	if err != nil {
		f.t.Fatal(err)
	}
	s, err := state.Decode(data)
	if err != nil {
		f.t.Fatalf("decode state: %v", err)
	}
	return s
}

// plantOutage plants an outage that is already past the threshold, and
// returns the state it wrote.
func (f *fleet) plantOutage(age time.Duration) state.State {
	f.t.Helper()
	now := time.Now().UTC()
	s := f.readState()
	s.ActiveRegion = "NAM"
	s.OutageStartedAt = now.Add(-age)
	s.LastProbeAt = now.Add(-500 * time.Millisecond)
	s.Version++
	data, err := state.Encode(s)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(f.stateFile, data, 0o600); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestE2EAllHealthyRestartsNothing(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	for i := 0; i < 5; i++ {
		inv := f.run()
		if inv.code != 0 || inv.action() != "none" {
			t.Fatalf("run %d: exit %d action %q\nstdout %s\nstderr %s", i, inv.code, inv.action(), inv.stdout, inv.stderr)
		}
		if inv.summary["region"] != "NAM" || inv.summary["healthy"] != true {
			t.Fatalf("summary %v, want NAM healthy", inv.summary)
		}
	}
	if got := f.starts(); got != 1 {
		t.Errorf("app started %d times, want 1 (no restart while healthy)", got)
	}
	if s := f.readState(); s.Version != 0 {
		t.Errorf("healthy runs wrote state (version %d): want no write", s.Version)
	}
	if st := f.run("status"); st.code != 0 || !strings.Contains(st.stdout, "active region:  NAM") {
		t.Errorf("status exit %d: %s %s", st.code, st.stdout, st.stderr)
	}
}

func TestE2EFailoverAfterThresholdSkipsDownCandidate(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	f.nam.Down.Store(true)
	f.eu.Down.Store(true) // the first candidate is down too: APAC is next
	first := f.run()
	if first.code != 0 || first.action() != "outage_started" {
		t.Fatalf("first failed probe: exit %d action %q: %s", first.code, first.action(), first.stdout)
	}
	var failover invocation
	runs := 0
	waitFor(t, "failover", func() bool {
		inv := f.run()
		runs++
		if inv.code != 0 {
			t.Fatalf("exit %d: %s %s", inv.code, inv.stdout, inv.stderr)
		}
		switch inv.action() {
		case "none":
			if f.envRegion() != "NAM" || f.starts() != 1 {
				t.Fatalf("switched before the threshold: env %q starts %d", f.envRegion(), f.starts())
			}
			return false
		case "failover":
			failover = inv
			return true
		}
		t.Fatalf("unexpected action %q: %s", inv.action(), inv.stdout)
		return false
	})
	if secs, _ := failover.summary["outage_seconds"].(float64); secs < 2 {
		t.Errorf("failed over after %.2fs of outage, threshold 2s", secs)
	}
	if failover.summary["to"] != "APAC" || f.envRegion() != "APAC" {
		t.Fatalf("failover to %v, env file %q, want APAC", failover.summary["to"], f.envRegion())
	}
	if got := f.starts(); got != 2 {
		t.Fatalf("app started %d times, want 2 (one restart)", got)
	}
	env, _ := os.ReadFile(f.envFile)
	if !strings.Contains(string(env), "EXT_CLOUD="+f.apac.Cloud()+"\n") || !strings.Contains(string(env), "EXT_CLOUD_GENERATION=1\n") {
		t.Errorf("env file:\n%s", env)
	}
	for i := 0; i < 3; i++ {
		if inv := f.run(); inv.code != 0 || inv.action() != "none" || inv.summary["region"] != "APAC" {
			t.Fatalf("after failover: exit %d action %q region %v", inv.code, inv.action(), inv.summary["region"])
		}
	}
	if got := f.starts(); got != 2 {
		t.Errorf("app started %d times after steady runs, want 2", got)
	}
	t.Logf("failover after %d runs", runs)
}

func TestE2ERecoveredBeforeThreshold(t *testing.T) {
	t.Parallel()
	f := newFleet(t, "FAILOVER_THRESHOLD=1h")
	f.nam.Down.Store(true)
	if inv := f.run(); inv.action() != "outage_started" {
		t.Fatalf("action %q", inv.action())
	}
	if inv := f.run(); inv.action() != "none" || inv.summary["outage_seconds"].(float64) <= 0 {
		t.Fatalf("second failed probe: action %q summary %v", inv.action(), inv.summary)
	}
	f.nam.Down.Store(false)
	// RECOVERY_PROBES=3: two healthy probes keep the outage, the third ends it.
	for i := 1; i <= 2; i++ {
		if inv := f.run(); inv.action() != "recovering" || inv.summary["reason"] != fmt.Sprintf("recovering (%d/3)", i) {
			t.Fatalf("healthy probe %d: action %q reason %v, want recovering", i, inv.action(), inv.summary["reason"])
		}
	}
	inv := f.run()
	if inv.action() != "recovered" {
		t.Fatalf("action %q, want recovered", inv.action())
	}
	found := false
	for _, l := range inv.lines {
		if msg, _ := l["message"].(string); strings.HasPrefix(msg, "recovered after ") {
			found = true
		}
	}
	if !found {
		t.Errorf("no 'recovered after Ns' line in %s", inv.stdout)
	}
	if f.envRegion() != "NAM" || f.starts() != 1 || f.readState().OutageStartedAt != (time.Time{}) {
		t.Errorf("recovery changed the fleet: env %q starts %d", f.envRegion(), f.starts())
	}
}

func TestE2EAllRegionsDown(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	for _, r := range []*region{f.nam, f.eu, f.apac} {
		r.Down.Store(true)
	}
	f.plantOutage(time.Minute)
	inv := f.run()
	if inv.code != 0 || inv.action() != "all_down" {
		t.Fatalf("exit %d action %q: %s", inv.code, inv.action(), inv.stdout)
	}
	if !strings.Contains(inv.stdout, `"all regions unavailable"`) {
		t.Errorf("no 'all regions unavailable' line: %s", inv.stdout)
	}
	if f.envRegion() != "NAM" || f.starts() != 1 || f.readState().Generation != 0 {
		t.Errorf("all down changed the fleet: env %q starts %d", f.envRegion(), f.starts())
	}
}

func TestE2EConcurrentInvocationsRestartOnce(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	f.nam.Down.Store(true)
	f.plantOutage(time.Minute)
	const n = 20
	results := make([]invocation, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = f.run() })
	}
	wg.Wait()
	failovers := 0
	for i, inv := range results {
		if inv.code != 0 {
			t.Errorf("invocation %d: exit %d: %s %s", i, inv.code, inv.stdout, inv.stderr)
		}
		if inv.action() == "failover" {
			failovers++
		}
	}
	if failovers != 1 {
		t.Errorf("%d invocations failed over, want exactly 1", failovers)
	}
	if got := f.starts(); got != 2 {
		t.Errorf("app started %d times, want 2 (exactly one restart)", got)
	}
	if s := f.readState(); s.Generation != 1 || s.ActiveRegion != "EU" || s.Pending != nil {
		t.Errorf("state %+v, want generation 1 on EU, nothing pending", s)
	}
}

func TestE2ESupervisordDownDuringFailover(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	f.nam.Down.Store(true)
	f.plantOutage(time.Minute)
	f.sv.Stop(t)
	inv := f.run()
	if inv.code != 1 || inv.action() != "failover" {
		t.Fatalf("exit %d action %q, want 1 and failover: %s %s", inv.code, inv.action(), inv.stdout, inv.stderr)
	}
	s := f.readState()
	if s.Pending == nil || s.Pending.Generation != 1 || s.ActiveRegion != "EU" {
		t.Fatalf("state %+v, want generation 1 pending", s)
	}
	st := f.run("status", "--json")
	var rep map[string]any
	if err := json.Unmarshal([]byte(st.stdout), &rep); err != nil || rep["pending"] == nil {
		t.Fatalf("status --json = %s (%v), want pending", st.stdout, err)
	}
	f.sv.Restart(t)
	waitFor(t, "app started by the restarted supervisord", func() bool { return f.starts() == 2 })
	inv = f.run()
	if inv.code != 0 {
		t.Fatalf("after supervisord is back: exit %d: %s", inv.code, inv.stdout)
	}
	if s := f.readState(); s.Pending != nil {
		t.Fatalf("still pending after supervisord came back: %+v", s.Pending)
	}
	// supervisord started the app after the env file was written, so the
	// re-push counts it converged without another restart.
	if got := f.starts(); got != 2 {
		t.Errorf("app started %d times, want 2", got)
	}
	if f.envRegion() != "EU" {
		t.Errorf("env file names %q, want EU", f.envRegion())
	}
}

func TestE2EUsageAndConfigErrors(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	tests := []struct {
		name     string
		args     []string
		env      []string
		wantCode int
		wantErr  string
	}{
		{"unknown command", []string{"frobnicate"}, nil, 2, `unknown command or argument "frobnicate"`},
		{"failover without --to", []string{"failover"}, nil, 2, "--to: required with failover"},
		{"failover to unknown region", []string{"failover", "--to", "MARS"}, nil, 2, `--to: unknown region "MARS"`},
		{"bad threshold", nil, []string{"FAILOVER_THRESHOLD=soon"}, 2, "FAILOVER_THRESHOLD"},
		{"flag overrides env", []string{"--failover-threshold", "x"}, nil, 2, "--failover-threshold"},
		{"hostile region", []string{"-r", "EU$(reboot)"}, nil, 2, "region"},
		{"validate ok", []string{"validate"}, nil, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := *f
			g.t = t
			g.env = append(append([]string{}, f.env...), tt.env...)
			inv := g.run(tt.args...)
			if inv.code != tt.wantCode || !strings.Contains(inv.stderr, tt.wantErr) {
				t.Fatalf("exit %d stderr %q, want %d containing %q", inv.code, inv.stderr, tt.wantCode, tt.wantErr)
			}
			if tt.wantCode == 2 && strings.Count(strings.TrimSpace(inv.stderr), "\n") != 0 {
				t.Errorf("error is not one line: %q", inv.stderr)
			}
		})
	}
	if _, err := os.Stat(f.stateFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bad input touched the state file: %v", err)
	}
	if f.starts() != 1 {
		t.Errorf("bad input restarted the app")
	}
}

func TestE2EForcedFailoverAndDryRun(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	f.nam.Down.Store(true)
	planted := f.plantOutage(time.Minute)
	// The dry run keeps its own state: the real outage is not its own, its
	// clock starts now.
	dry := f.run("check", "--dry-run")
	if dry.code != 0 || dry.action() != "outage_started" || dry.summary["dry_run"] != true {
		t.Fatalf("dry run: exit %d action %q: %s", dry.code, dry.action(), dry.stdout)
	}
	if f.envRegion() != "NAM" || f.starts() != 1 || f.readState().Version != planted.Version {
		t.Fatalf("dry run changed the fleet: env %q starts %d", f.envRegion(), f.starts())
	}
	f.nam.Down.Store(false)
	inv := f.run("failover", "--to", "APAC")
	if inv.code != 0 || inv.action() != "failover" || f.envRegion() != "APAC" || f.starts() != 2 {
		t.Fatalf("failover --to APAC: exit %d action %q env %q starts %d: %s", inv.code, inv.action(), f.envRegion(), f.starts(), inv.stdout)
	}
	again := f.run("failover", "--to", "APAC")
	if again.code != 0 || again.action() != "none" || f.starts() != 2 {
		t.Fatalf("second failover --to APAC: exit %d action %q starts %d", again.code, again.action(), f.starts())
	}
	st := f.run("status")
	for _, want := range []string{"active region:  APAC", "generation:     1", "last failover:", "from NAM", "pending push:   none"} {
		if !strings.Contains(st.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, st.stdout)
		}
	}
}

func TestE2ESecretsNeverLogged(t *testing.T) {
	t.Parallel()
	intake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(intake.Close)
	const apiKey, password = "dd-api-key-0123456789abcdef", "sv-pass-S3cr3t"
	f := newFleet(t, "DD_API_KEY="+apiKey, "DD_LOGS_INTAKE_URL="+intake.URL+"/api/v2/logs",
		"SUPERVISOR_PASSWORD="+password, "SUPERVISOR_USERNAME=admin")
	f.nam.Down.Store(true)
	f.plantOutage(time.Minute)
	inv := f.run()
	st := f.run("status", "--json")
	for _, out := range []string{inv.stdout, inv.stderr, st.stdout, st.stderr} {
		if strings.Contains(out, apiKey) || strings.Contains(out, password) {
			t.Fatalf("a secret was printed:\n%s", out)
		}
	}
	if !strings.Contains(inv.stdout, "datadog logs intake failed") {
		t.Errorf("intake failure not logged locally: %s", inv.stdout)
	}
	if inv.action() != "failover" {
		t.Errorf("action %q: a failing intake must not change the check", inv.action())
	}
}
