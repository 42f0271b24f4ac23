package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state/dynamo"
	"extcloud-failover/internal/testenv"
	"extcloud-failover/internal/testenv/rie"
	"extcloud-failover/internal/testenv/supervisord"
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
)

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
	return newFleetWith(t, 0)
}

// newFleetWith is newFleet with a host whose application takes stopSecs to
// stop (it finishes its work on SIGTERM), as supervisorctl stop then does.
func newFleetWith(t *testing.T, stopSecs int) *fleet {
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
	program := testenv.SupervisordProgram{Name: "app", Command: command}
	if stopSecs > 0 {
		// The counting command's shell, but SIGTERM lets it finish for
		// stopSecs first.
		slow, err := supervisord.CountingCommand(filepath.Join(sandbox, "slow-starts"))
		if err != nil {
			t.Fatal(err)
		}
		program.Command = strings.Replace(slow, "exec sleep 3600", fmt.Sprintf(`trap "sleep %d; exit 0" TERM; sleep 3600 & wait`, stopSecs), 1)
		program.StopWaitSecs = stopSecs + 15
		starts = func() int {
			n, _ := supervisord.CountStarts(filepath.Join(sandbox, "slow-starts"))
			return n
		}
	}
	f.starts = starts
	sv := testenv.StartSupervisord(t, testenv.SupervisordOptions{Programs: []testenv.SupervisordProgram{program}})
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
		"DD_ENHANCED_METRICS=false", // as template.yaml sets it by default
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

// checkLogs fails unless every line the function wrote, in and between
// invocations, is a JSON object with the contract's keys, and returns the
// lines. The emulator's own START, END and REPORT lines are skipped.
func checkLogs(t *testing.T, f *function) []map[string]any {
	t.Helper()
	var own []string
	for _, l := range strings.Split(f.Stdout(), "\n") {
		if !strings.HasPrefix(l, "START RequestId: ") && !strings.HasPrefix(l, "END RequestId: ") && !strings.HasPrefix(l, "REPORT RequestId: ") {
			own = append(own, l)
		}
	}
	ls := lines(t, strings.Join(own, "\n"))
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
	results := make([]rie.Invocation, len(fns))
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, f := range fns {
		wg.Go(func() {
			<-release
			results[i], errs[i] = f.Invoke(context.Background(), fmt.Sprintf(`{"offset": %d}`, 10*(i%6)))
		})
	}
	close(release)
	wg.Wait()
	failovers := 0
	for i, f := range fns {
		if errs[i] != nil {
			t.Fatalf("function %d: %v\n%s", i, errs[i], f.Output())
		}
		res := mustResult(t, "burst", decodeInvocation(t, f, "burst", results[i]))
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
			t.Errorf("function %d wrote no check complete line:\n%s", i, f.Output())
		}
		if strings.Contains(f.Stdout(), "datadog:") {
			t.Errorf("function %d mentions datadog without a key:\n%s", i, f.Output())
		}
	}
}

// TestLambdaConfigError starts the function with a bad configuration: it
// logs the reason once, stays up (it is not started again) and answers
// every invocation with ConfigError.
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
		res := f.invoke(t, `{"offset": 0}`)
		if res.OK || res.ErrorType != "ConfigError" || !strings.HasPrefix(res.ErrorMessage, "configuration: EXT_CLOUD_FAILOVER_LIST: ") {
			t.Fatalf("invocation %d: ok=%v %s: %s, want ConfigError naming EXT_CLOUD_FAILOVER_LIST", i, res.OK, res.ErrorType, res.ErrorMessage)
		}
	}
	var reasons, answers int
	for _, l := range checkLogs(t, f) {
		msg, _ := l["message"].(string)
		switch {
		case l["level"] == "error" && strings.HasPrefix(msg, "invalid configuration: EXT_CLOUD_FAILOVER_LIST: "):
			reasons++
		case l["level"] == "error" && l["error_type"] == "ConfigError":
			answers++
		default:
			t.Errorf("unexpected log line %v", l)
		}
	}
	if reasons != 1 || answers != 2 {
		t.Errorf("%d lines with the reason and %d error answers logged, want 1 (one start) and 2:\n%s", reasons, answers, f.Output())
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
		if strings.Contains(f.Output(), apiKey) {
			t.Errorf("the API key reached the logs")
		}
		assertJSONLines(t, f)
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
			res := f.invoke(t, `{}`)
			m := mustResult(t, "{}", res)
			if m["healthy"] != true {
				t.Errorf("check = %v, want healthy", m)
			}
			if res.Elapsed > ddHTTPTimeout+3*time.Second {
				t.Errorf("answered after %v: the metrics flush is not bounded", res.Elapsed)
			}
		}
		mu.Lock()
		tried := len(conns)
		mu.Unlock()
		if tried == 0 {
			t.Error("no metrics were sent to the site: the test proves nothing")
		}
		assertJSONLines(t, f)
	})
}

// assertJSONLines stops f and fails the test for every line it wrote, in
// an invocation or between them, that is not one JSON object, and for any
// library's plain text on the emulator's stderr.
func assertJSONLines(t *testing.T, f *function) {
	t.Helper()
	f.Close()
	for _, l := range functionLines(f.Stdout()) {
		if !strings.HasPrefix(l, "{") || !json.Valid([]byte(l)) {
			t.Errorf("the function wrote a line that is not a JSON object: %q", l)
		}
	}
	if strings.Contains(f.Stderr(), "SDK ") || strings.Contains(f.Stderr(), "Datadog Tracer") {
		t.Errorf("a library wrote to stderr around the JSON handler:\n%s", f.Stderr())
	}
}

// TestLambdaSDKWarningsAreJSON: the AWS SDK has a logger of its own (its
// default prints "SDK <date> WARN ..." to stderr) and so has dd-trace-go,
// which datadog-lambda-go brings; neither is the standard logger. A
// DynamoDB whose answers carry a Date header the SDK cannot parse makes the
// SDK warn on every call; with Datadog on, every line the bootstrap writes,
// in an invocation or between them, must still be one JSON object, the
// SDK's warning among them.
func TestLambdaSDKWarningsAreJSON(t *testing.T) {
	fl := newFleet(t)
	var dynamoURL string
	for _, kv := range fl.env {
		if v, ok := strings.CutPrefix(kv, "AWS_ENDPOINT_URL_DYNAMODB="); ok {
			dynamoURL = v
		}
	}
	target, err := url.Parse(dynamoURL)
	if err != nil || dynamoURL == "" {
		t.Fatalf("fleet's DynamoDB endpoint %q: %v", dynamoURL, err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		r.Header.Set("Date", "the day after tomorrow")
		return nil
	}
	badDate := httptest.NewServer(proxy)
	t.Cleanup(badDate.Close)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(site.Close)

	f := startFunction(t, append(fl.env, "AWS_ENDPOINT_URL_DYNAMODB="+badDate.URL, "STATE_KEY=fleet-sdk-warn",
		"DD_API_KEY=0123456789abcdef0123456789abcdef", "DD_SITE="+site.URL))
	warned := false
	for range 2 {
		inv := f.invoke(t, `{}`) // fails on a line that is not JSON
		mustResult(t, "{}", inv)
		for _, l := range inv.Logs {
			if msg, _ := l["message"].(string); strings.Contains(msg, "failed to parse response Date header") && l["source"] == "aws-sdk-go-v2" {
				warned = true
			}
		}
	}
	if !warned {
		t.Errorf("no JSON line with the SDK's Date header warning: the test proves nothing\n%s", f.Output())
	}
	assertJSONLines(t, f)
}

// functionLines are the lines of the emulator's stdout that the function
// wrote: all but the emulator's own START, END and REPORT lines.
func functionLines(stdout string) []string {
	var out []string
	for _, l := range strings.Split(stdout, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "START RequestId:") || strings.HasPrefix(l, "END RequestId:") || strings.HasPrefix(l, "REPORT RequestId:") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// TestLambdaSlowHostConvergesWithOneCommand: the host's restart takes 15 s,
// longer than the function's 9 s timeout. The failover's invocation leaves
// it running; later invocations poll the command, send nothing and record
// it converged once the script ends. One SendCommand in all, with the
// configured executionTimeout, and the application restarted once.
func TestLambdaSlowHostConvergesWithOneCommand(t *testing.T) {
	const stopSecs = 15
	if timeout := functionTimeout(t); timeout >= stopSecs*time.Second {
		t.Fatalf("function timeout %v: the test wants a restart longer than it", timeout)
	}
	fl := newFleetWith(t, stopSecs)
	f := startFunction(t, append(fl.env, "STATE_KEY=fleet-slow", "SSM_COMMAND_TIMEOUT=120s"))

	start := time.Now()
	inv := f.invoke(t, `{"failover_to": "EU"}`)
	res := mustResult(t, "failover_to", inv)
	if res["action"] != "failover" || res["to"] != "EU" || !slices.Equal(toStrings(res["pending_hosts"]), []string{instanceID}) {
		t.Fatalf("failover = %v, want EU with the host pending (its restart outlasts the invocation)", res)
	}
	invocations := 1
	for {
		if time.Since(start) > 60*time.Second {
			t.Fatalf("the host did not converge within 60s:\n%s", f.Output())
		}
		inv = f.invoke(t, `{"offset": 10}`)
		invocations++
		res = mustResult(t, "offset", inv)
		if len(toStrings(res["pending_hosts"])) == 0 {
			break
		}
		if res["action"] != "pending_push" || !slices.Equal(toStrings(res["pending_hosts"]), []string{instanceID}) {
			t.Fatalf("check while the host restarts = %v, want pending_push on the host", res)
		}
	}
	converged := time.Since(start)
	if converged < stopSecs*time.Second {
		t.Errorf("converged after %v, before the %ds restart could end", converged, stopSecs)
	}
	if invocations < 2 {
		t.Errorf("%d invocations; the restart cannot fit in one", invocations)
	}
	wantLog(t, inv, "info", "push converged: every host runs the generation")

	cmds := fl.ssm.Commands()
	if len(cmds) != 1 {
		t.Fatalf("%d SendCommand calls, want exactly 1: %+v", len(cmds), fl.ssm.Invocations())
	}
	if et := cmds[0].Parameters["executionTimeout"]; !slices.Equal(et, []string{"120"}) {
		t.Errorf("executionTimeout %v, want the configured [120], not the function's remaining time", et)
	}
	if got := fl.ssm.RequestsByOperation()["ListCommandInvocations"]; got < invocations {
		t.Errorf("%d ListCommandInvocations over %d invocations: later invocations did not poll", got, invocations)
	}
	env, err := remote.ReadEnvFile(fl.envFile)
	if err != nil || env.Region != "EU" || env.Generation != 1 {
		t.Fatalf("env file %+v, %v; want EU generation 1", env, err)
	}
	if n := fl.starts(); n != 2 {
		t.Errorf("app started %d times, want 2 (once, then the one restart)", n)
	}
	checkLogs(t, f)
}

// toStrings reads a JSON list of strings.
func toStrings(v any) []string {
	var out []string
	for _, e := range asSlice(v) {
		out = append(out, fmt.Sprint(e))
	}
	return out
}
