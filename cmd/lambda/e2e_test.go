package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state/dynamo"
	"extcloud-failover/internal/testenv"
	"extcloud-failover/internal/testenv/lambdart"
)

// bootstrapPath is the real function binary, built once by TestMain as
// `sam build` does (-tags lambda.norpc, CGO_ENABLED=0).
var bootstrapPath string

func TestMain(m *testing.M) {
	testenv.MainWithBinary(m, "bootstrap", &bootstrapPath, "lambda.norpc")
}

const (
	functionName = "extcloud-failover-CheckerFunction"
	instanceID   = "i-0123456789abcdef0"
	tableName    = "checker-state"
	// invokeTimeout is the function's timeout, as template.yaml sets it.
	invokeTimeout = 9 * time.Second
)

// invokeResult is what the function answered, and the round trip.
type invokeResult struct {
	lambdart.Answer
	elapsed time.Duration
}

// function is one bootstrap process with its own Runtime API.
type function struct {
	rt *lambdart.Server
	*lambdart.Function
}

func startFunction(t *testing.T, env []string) *function {
	t.Helper()
	rt, err := lambdart.Start(functionName)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	proc, err := rt.StartFunction(bootstrapPath, append([]string{"HOME=" + t.TempDir()}, env...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proc.Stop)
	return &function{rt: rt, Function: proc}
}

// invoke queues one event due within invokeTimeout and waits for the
// function's answer; it is safe to call from several goroutines.
func (f *function) invoke(payload string) (invokeResult, error) {
	start := time.Now()
	a, err := f.rt.Invoke(context.Background(), payload, start.Add(invokeTimeout))
	return invokeResult{Answer: a, elapsed: time.Since(start)}, err
}

// mustInvoke invokes and fails the test unless the function answered with a
// decision record.
func (f *function) mustInvoke(t *testing.T, payload string) map[string]any {
	t.Helper()
	res, err := f.invoke(payload)
	if err != nil {
		t.Fatalf("%v\n%s", err, f.Output())
	}
	return decodeResult(t, f, payload, res)
}

func decodeResult(t *testing.T, f *function, payload string, res invokeResult) map[string]any {
	t.Helper()
	if !res.OK {
		t.Fatalf("invoke %s: %s: %s\n%s", payload, res.ErrorType, res.ErrorMessage, f.Output())
	}
	var m map[string]any
	if err := json.Unmarshal(res.Body, &m); err != nil {
		t.Fatalf("invoke %s: response %q is not JSON: %v", payload, res.Body, err)
	}
	for _, k := range []string{"region", "healthy", "outage_seconds", "action", "generation", "pending_hosts"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("invoke %s: response %s has no %q", payload, res.Body, k)
		}
	}
	if res.elapsed > invokeTimeout {
		t.Errorf("invoke %s answered after %v, past the %v deadline", payload, res.elapsed, invokeTimeout)
	}
	return m
}

// region is a simulated cloudlookup endpoint whose health the test switches.
type region = testenv.Region

func newRegion(t *testing.T, name string) *region { return testenv.StartRegion(t, name) }

// fleet is everything the function talks to: three regions, dynalite with
// the state table, and a local SSM endpoint whose one instance (tagged as
// template.yaml expects) runs the pushed script against a real supervisord.
type fleet struct {
	nam, eu, apac *region
	ssm           *testenv.SSMServer
	envFile       string
	starts        func() int
	env           []string
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	f := &fleet{nam: newRegion(t, "NAM"), eu: newRegion(t, "EU"), apac: newRegion(t, "APAC")}

	endpoint := testenv.Dynalite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dynamo.CreateTable(ctx, testenv.DynamoClient(t, endpoint), tableName); err != nil {
		t.Fatalf("create table: %v", err)
	}

	sandbox := t.TempDir()
	command, starts := testenv.CountingProgram(t, sandbox)
	f.starts = starts
	sv := testenv.StartSupervisord(t, testenv.SupervisordOptions{Programs: []testenv.SupervisordProgram{{Name: "app", Command: command}}})
	waitFor(t, "app started by supervisord", func() bool { return f.starts() == 1 })
	f.envFile = filepath.Join(sandbox, "ext_cloud.env")
	f.ssm = testenv.StartSSM(t, testenv.SSMOptions{Instances: map[string]testenv.SSMInstance{
		instanceID: {Dir: sandbox, Tags: map[string]string{"ExtCloudFailover": "app"}, Env: []string{"SUPERVISORCTL=supervisorctl -c " + sv.ConfigPath}},
	}})

	f.env = []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint,
		"AWS_ENDPOINT_URL_SSM=" + f.ssm.URL,
		"EXT_CLOUD_FAILOVER_LIST=NAM=" + f.nam.Cloud() + ",EU=" + f.eu.Cloud() + ",APAC=" + f.apac.Cloud(),
		"CLOUDLOOKUP_URL=http://{cloud}/cloudlookup?orgId={org_id}&txnId={txn_id}",
		"CONNECTION_KEEPALIVE_ORG_ID=org-1",
		"CONNECTION_KEEPALIVE_TXN_ID=txn-1",
		"STATE_TABLE=" + tableName,
		"STATE_KEY=fleet-e2e",
		"ENV_FILE=" + f.envFile,
		"SUPERVISOR_PROGRAMS=app",
		"SSM_TARGETS=tag:ExtCloudFailover=app",
		"FAILOVER_THRESHOLD=4s",
		"FAILOVER_MIN_INTERVAL=0s",
		"PROBE_INTERVAL=2s",
		"PROBE_TIMEOUT=2s",
		"LATENCY_CHECK=off",
	}
	return f
}

// waitFor polls cond until it holds or 20 seconds pass.
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

// checkLogs fails unless every line f wrote to stdout is a JSON object with
// the contract's keys, and returns the lines.
func checkLogs(t *testing.T, f *function) []map[string]any {
	t.Helper()
	ls := lines(t, f.Stdout.String())
	for _, l := range ls {
		for _, k := range []string{"timestamp", "level", "service", "message"} {
			if _, ok := l[k]; !ok {
				t.Errorf("log line %v has no %q", l, k)
			}
		}
	}
	return ls
}

// TestLambdaOutage drives a whole outage through eight real bootstrap
// processes on a fleet the Python handler ran: the first check records the
// primary and pushes generation 0 once without a restart, nothing is pushed
// before the threshold, exactly one push after it even when all eight check
// at once, and the host ends up on EU with the application restarted once.
func TestLambdaOutage(t *testing.T) {
	fl := newFleet(t)
	// The fleet was run by the Python handler, on NAM.
	handlerFile := "export EXT_CLOUD=" + fl.nam.Cloud() + "\nexport EXT_REGION=NAM\n"
	if err := os.WriteFile(fl.envFile, []byte(handlerFile), 0o644); err != nil {
		t.Fatal(err)
	}
	fns := make([]*function, 8)
	for i := range fns {
		fns[i] = startFunction(t, fl.env)
	}
	seeded := string(remote.Render(remote.Target{Region: "NAM", Cloud: fl.nam.Cloud(), Generation: 0}))
	noPush := func(when string) {
		t.Helper()
		if n := fl.ssm.SendCommandCalls(); n != 1 {
			t.Fatalf("%s: %d SendCommand calls, want only the first state's", when, n)
		}
		if data, err := os.ReadFile(fl.envFile); err != nil || string(data) != seeded {
			t.Fatalf("%s: env file %q (%v), want the first state's %q", when, data, err, seeded)
		}
	}

	// No state item yet: the primary is recorded and generation 0 pushed
	// once, which the handler's file already means: nothing restarts.
	res := fns[0].mustInvoke(t, `{}`)
	if res["region"] != "NAM" || res["healthy"] != true || res["action"] != "pending_push" || res["generation"] != 0.0 {
		t.Fatalf("first check = %v, want NAM healthy, action pending_push, generation 0", res)
	}
	noPush("first check")
	if fl.starts() != 1 {
		t.Fatalf("app started %d times after the first state's push, want 1 (the handler's file meant the same)", fl.starts())
	}
	res = fns[1].mustInvoke(t, `{}`)
	if res["action"] != "none" {
		t.Fatalf("second healthy check = %v, want action none", res)
	}
	noPush("healthy")

	fl.nam.Down.Store(true)
	res = fns[1].mustInvoke(t, `{"offset": 10}`)
	answered := time.Now() // the outage started before this
	if res["action"] != "outage_started" || res["healthy"] != false {
		t.Fatalf("first failed check = %v, want outage_started", res)
	}
	noPush("outage started")

	// Checks before the threshold, from each trigger, two per second.
	threshold := 4 * time.Second
	payloads := []string{`{"offset": 20}`, `{}`, mustRead(t, "../../events/eventbridge.json"), mustRead(t, "../../events/stepfunctions.json")}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	checks := 0
	for i := 0; ; i++ {
		<-tick.C
		if time.Since(answered) >= threshold-1500*time.Millisecond {
			break
		}
		checks++
		res := fns[(i+2)%len(fns)].mustInvoke(t, payloads[i%len(payloads)])
		if res["action"] == "failover" || res["region"] != "NAM" || res["healthy"] != false {
			t.Fatalf("check %d before the threshold = %v, want NAM unhealthy, no failover", i, res)
		}
		if secs := res["outage_seconds"].(float64); secs <= 0 || secs >= threshold.Seconds() {
			t.Fatalf("check %d: outage_seconds %v, want between 0 and %v", i, secs, threshold.Seconds())
		}
		noPush(fmt.Sprintf("check %d before the threshold", i))
	}

	if checks < 2 {
		t.Fatalf("%d checks between the first failure and the threshold, want at least 2", checks)
	}

	// Past the threshold, all eight at once.
	<-time.After(time.Until(answered.Add(threshold + 250*time.Millisecond)))
	release := make(chan struct{})
	results := make([]invokeResult, len(fns))
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, f := range fns {
		wg.Go(func() {
			<-release
			results[i], errs[i] = f.invoke(fmt.Sprintf(`{"offset": %d}`, 10*(i%6)))
		})
	}
	close(release)
	wg.Wait()
	failovers := 0
	for i, f := range fns {
		if errs[i] != nil {
			t.Fatalf("function %d: %v\nstdout:\n%s", i, errs[i], f.Stdout)
		}
		res := decodeResult(t, f, "burst", results[i])
		if res["action"] == "failover" {
			failovers++
			if res["from"] != "NAM" || res["to"] != "EU" || res["generation"] != 1.0 || len(res["pending_hosts"].([]any)) != 0 {
				t.Errorf("failover result = %v, want NAM to EU, generation 1, nothing pending", res)
			}
		}
	}
	if failovers != 1 {
		t.Fatalf("%d of 8 concurrent checks failed over, want exactly 1: %v", failovers, results)
	}
	if n := fl.ssm.SendCommandCalls(); n != 2 {
		t.Fatalf("%d SendCommand calls after the threshold, want exactly 2 (the first state's and the failover's): %+v", n, fl.ssm.Invocations())
	}
	cmds := fl.ssm.Commands()
	if len(cmds) != 2 || cmds[1].DocumentName != "AWS-RunShellScript" || len(cmds[1].Targets) != 1 || cmds[1].Targets[0].Key != "tag:ExtCloudFailover" {
		t.Errorf("commands = %+v, want AWS-RunShellScript to tag:ExtCloudFailover", cmds)
	}
	env, err := remote.ReadEnvFile(fl.envFile)
	if err != nil {
		t.Fatalf("env file in the sandbox: %v (%+v)", err, fl.ssm.Invocations())
	}
	if env.Region != "EU" || env.Cloud != fl.eu.Cloud() || env.Generation != 1 {
		t.Errorf("env file = %+v, want EU %s generation 1", env, fl.eu.Cloud())
	}
	waitFor(t, "app restarted once", func() bool { return fl.starts() == 2 })

	// The fleet now runs on EU, which is healthy: nothing more to do.
	res = fns[0].mustInvoke(t, `{"offset": 40}`)
	if res["region"] != "EU" || res["healthy"] != true || res["action"] != "none" || res["generation"] != 1.0 || len(res["pending_hosts"].([]any)) != 0 {
		t.Errorf("check after the failover = %v, want EU healthy, generation 1, nothing pending", res)
	}
	if n := fl.ssm.SendCommandCalls(); n != 2 || fl.starts() != 2 {
		t.Errorf("after the failover: %d SendCommand calls, %d starts; want 2 and 2", n, fl.starts())
	}

	for i, f := range fns {
		summaries := 0
		for _, l := range checkLogs(t, f) {
			if l["message"] == "check complete" {
				summaries++
				if l["request_id"] == nil || l["trigger"] == nil {
					t.Errorf("function %d: summary %v has no request_id or trigger", i, l)
				}
			}
		}
		if summaries == 0 {
			t.Errorf("function %d wrote no check complete line:\n%s", i, f.Stdout)
		}
		if strings.Contains(f.Stdout.String()+f.Stderr.String(), "datadog:") {
			t.Errorf("function %d mentions datadog without a key:\n%s\n%s", i, f.Stdout, f.Stderr)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestLambdaConfigError starts the function with a bad configuration: it
// logs one line, stays up and answers every invocation with ConfigError.
func TestLambdaConfigError(t *testing.T) {
	f := startFunction(t, []string{
		"EXT_CLOUD_FAILOVER_LIST=NAM=nam.example.net,eu=eu.example.net",
		"CONNECTION_KEEPALIVE_ORG_ID=org-1",
		"CONNECTION_KEEPALIVE_TXN_ID=txn-1",
		"STATE_TABLE=" + tableName,
		"SSM_TARGETS=tag:ExtCloudFailover=app",
		"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:1",
		"AWS_ENDPOINT_URL_SSM=http://127.0.0.1:1",
	})
	for i := range 2 {
		res, err := f.invoke(`{"offset": 0}`)
		if err != nil {
			t.Fatal(err)
		}
		if res.OK || res.ErrorType != "ConfigError" || !strings.HasPrefix(res.ErrorMessage, "configuration: EXT_CLOUD_FAILOVER_LIST: ") {
			t.Fatalf("invocation %d: ok=%v %s: %s, want ConfigError naming EXT_CLOUD_FAILOVER_LIST", i, res.OK, res.ErrorType, res.ErrorMessage)
		}
	}
	select {
	case <-f.Exited():
		t.Fatal("the process exited")
	default:
	}
	ls := checkLogs(t, f)
	if len(ls) != 1 || ls[0]["level"] != "error" || !strings.HasPrefix(ls[0]["message"].(string), "invalid configuration: EXT_CLOUD_FAILOVER_LIST: ") {
		t.Errorf("logs = %v, want one error line naming the field", ls)
	}
	if len(f.rt.InitErrors()) != 0 {
		t.Errorf("init errors reported: %v", f.rt.InitErrors())
	}
}

// intake records what datadog-lambda-go sends.
type intake struct {
	srv   *httptest.Server
	mu    sync.Mutex
	posts []intakePost
}

type intakePost struct {
	path, apiKey, body string
}

func (in *intake) received() []intakePost {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]intakePost(nil), in.posts...)
}

// TestLambdaDatadog checks that metrics reach the site DD_SITE names (a
// local server here: datadog-lambda-go sends to <DD_SITE>/api/v1 when it is
// a URL) and that a Datadog that does not answer never fails a check.
func TestLambdaDatadog(t *testing.T) {
	fl := newFleet(t)
	const apiKey = "0123456789abcdef0123456789abcdef"

	t.Run("metrics arrive", func(t *testing.T) {
		in := &intake{}
		in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			in.mu.Lock()
			in.posts = append(in.posts, intakePost{path: r.URL.Path, apiKey: r.URL.Query().Get("api_key"), body: string(body)})
			in.mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{}`)
		}))
		t.Cleanup(in.srv.Close)
		f := startFunction(t, append(fl.env, "DD_API_KEY="+apiKey, "DD_SITE="+in.srv.URL, "STATE_KEY=fleet-dd"))
		res := f.mustInvoke(t, `{"offset": 0}`)
		if res["healthy"] != true {
			t.Fatalf("check = %v, want healthy", res)
		}
		waitFor(t, "metrics at the local site", func() bool { return len(in.received()) > 0 })
		var body string
		for _, p := range in.received() {
			if p.path != "/api/v1/distribution_points" || p.apiKey != apiKey {
				t.Errorf("metrics posted to %s with key %q, want /api/v1/distribution_points with DD_API_KEY", p.path, p.apiKey)
			}
			body += p.body
		}
		for _, want := range []string{`"extcloud.probe.latency"`, `"extcloud.outage.seconds"`, `"region:NAM"`, `"status:ok"`, `"service:extcloud-failover"`} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics body has no %s:\n%s", want, body)
			}
		}
		if strings.Contains(f.Stdout.String(), apiKey) || strings.Contains(f.Stderr.String(), apiKey) {
			t.Errorf("the API key reached the logs")
		}
	})

	t.Run("site that never answers", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var conns []net.Conn
		accepted := make(chan struct{})
		go func() {
			defer close(accepted)
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			ln.Close()
			<-accepted
			for _, c := range conns {
				c.Close()
			}
		})
		site := (&url.URL{Scheme: "http", Host: ln.Addr().String()}).String()
		f := startFunction(t, append(fl.env, "DD_API_KEY="+apiKey, "DD_SITE="+site, "STATE_KEY=fleet-dd-hang"))
		for range 2 {
			res, err := f.invoke(`{}`)
			if err != nil {
				t.Fatal(err)
			}
			m := decodeResult(t, f, "{}", res)
			if m["healthy"] != true {
				t.Errorf("check = %v, want healthy", m)
			}
			if res.elapsed > ddHTTPTimeout+3*time.Second {
				t.Errorf("answered after %v: the metrics flush is not bounded", res.elapsed)
			}
		}
		mu.Lock()
		tried := len(conns)
		mu.Unlock()
		if tried == 0 {
			t.Error("no metrics were sent to the site: the test proves nothing")
		}
	})
}
