package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"extcloud-failover/internal/check"
	"extcloud-failover/internal/config"
	"extcloud-failover/internal/ident"
	"extcloud-failover/internal/probe"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/remote/ssmpush"
	"extcloud-failover/internal/state"
	"extcloud-failover/internal/testenv/syncbuf"
)

// errorType is the errorType aws-lambda-go reports for err: the name of its
// type, through one pointer.
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func envLookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

// goodEnv is a valid Lambda configuration; tests change entries of a copy.
func goodEnv() map[string]string {
	return map[string]string{
		"EXT_CLOUD_FAILOVER_LIST":     "NAM=nam.example.net,EU=eu.example.net,APAC=apac.example.net",
		"CONNECTION_KEEPALIVE_ORG_ID": "org-1",
		"CONNECTION_KEEPALIVE_TXN_ID": "txn-1",
		"STATE_TABLE":                 "checker-state",
		"STATE_KEY":                   "fleet-a",
		"SSM_TARGETS":                 "tag:ExtCloudFailover=app",
		"FAILOVER_THRESHOLD":          "4m",
		"LATENCY_CHECK":               "off",
	}
}

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.FromEnv(envLookup(goodEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ValidateLambda(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// lines decodes JSON log lines.
func lines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var ls []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		ls = append(ls, m)
	}
	return ls
}

func TestDecodeEvent(t *testing.T) {
	ten := 10
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join("..", "..", "events", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	tests := []struct {
		name    string
		payload string
		want    Event
		trigger string
		wantErr string
	}{
		{name: "scheduler", payload: `{}`, trigger: "direct"},
		{name: "empty", payload: ``, trigger: "direct"},
		{name: "null", payload: `null`, trigger: "direct"},
		{name: "step functions", payload: `{"offset": 10}`, want: Event{Offset: &ten}, trigger: "stepfunctions"},
		{name: "unknown fields", payload: `{"offset": 10, "execution": "x", "extra": {"a": [1]}}`, want: Event{Offset: &ten}, trigger: "stepfunctions"},
		{name: "events/stepfunctions.json", payload: read("stepfunctions.json"), want: Event{Offset: &ten}, trigger: "stepfunctions"},
		{name: "events/scheduler.json", payload: read("scheduler.json"), trigger: "direct"},
		{name: "events/eventbridge.json", payload: read("eventbridge.json"),
			want:    Event{Source: "aws.events", DetailType: "Scheduled Event", ID: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"},
			trigger: "eventbridge"},
		{name: "failover", payload: `{"failover_to": "EU"}`, want: Event{FailoverTo: "EU"}, trigger: "failover"},
		{name: "offset not a number", payload: `{"offset": "ten"}`, wantErr: "event: json: cannot unmarshal string"},
		{name: "not an object", payload: `[1, 2]`, wantErr: `event: want a JSON object such as {"offset": 10}, got [1, 2]`},
		{name: "string", payload: `"tick"`, wantErr: `event: want a JSON object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := decodeEvent([]byte(tt.payload))
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want prefix %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ev, tt.want) {
				t.Errorf("event = %+v, want %+v", ev, tt.want)
			}
			if got := ev.trigger(); got != tt.trigger {
				t.Errorf("trigger = %q, want %q", got, tt.trigger)
			}
		})
	}
}

// fakeStore is a Store in memory with injectable failures.
type fakeStore struct {
	mu      sync.Mutex
	s       state.State
	loadErr error
	swapErr error
}

func (f *fakeStore) Load(context.Context) (state.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s, f.loadErr
}

func (f *fakeStore) Swap(_ context.Context, old, next state.State) (state.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.swapErr != nil {
		return state.State{}, f.swapErr
	}
	if old.Version != f.s.Version {
		return state.State{}, state.ErrConflict
	}
	next.Version = old.Version + 1
	f.s = next
	return next, nil
}

// fakeProber answers from a map of region health.
type fakeProber map[string]bool

func (p fakeProber) Probe(_ context.Context, r config.Region) probe.Result {
	res := probe.Result{Region: r.Name, Healthy: p[r.Name], Status: 200}
	if !res.Healthy {
		res.Status, res.Err = 503, errors.New("status 503")
	}
	return res
}

// fakePusher records pushes and fails the hosts in failed.
type fakePusher struct {
	mu     sync.Mutex
	pushes []remote.Target
	failed map[string]error
}

func (p *fakePusher) Push(_ context.Context, t remote.Target, _ []string) (remote.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pushes = append(p.pushes, t)
	if len(p.failed) > 0 {
		return remote.Result{Failed: p.failed}, nil
	}
	return remote.Result{Converged: []string{"i-0123456789abcdef0"}}, nil
}

// testApp is an app as newApp builds it, with fakes for AWS and the cloud.
func testApp(t *testing.T, store state.Store, prober check.RegionProber, pusher check.Pusher) (*app, *syncbuf.Buffer) {
	t.Helper()
	out := &syncbuf.Buffer{}
	a := &app{
		cfg:    testConfig(t),
		deps:   check.Deps{Store: markedStore{store}, Prober: prober, Pusher: pusher},
		log:    slog.New(slog.NewJSONHandler(out, nil)),
		margin: responseMargin,
		run:    check.Run,
		force:  check.Failover,
	}
	return a, out
}

// invoke calls the handler as aws-lambda-go does: payload in, JSON out.
func invoke(t *testing.T, a *app, payload string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	return rawHandler{a}.Invoke(ctx, []byte(payload))
}

func TestHandleResult(t *testing.T) {
	outage := func() *fakeStore {
		now := time.Now()
		return &fakeStore{s: state.State{Version: 3, ActiveRegion: "NAM", OutageStartedAt: now.Add(-5 * time.Minute), LastProbeAt: now.Add(-5 * time.Second)}}
	}
	tests := []struct {
		name    string
		store   *fakeStore
		health  fakeProber
		payload string
		want    map[string]any
	}{
		{name: "healthy, scheduler", store: &fakeStore{}, health: fakeProber{"NAM": true}, payload: `{}`,
			want: map[string]any{"region": "NAM", "healthy": true, "outage_seconds": 0.0, "action": "none", "generation": 0.0, "pending_hosts": []any{}}},
		{name: "outage starts, step functions", store: &fakeStore{}, health: fakeProber{}, payload: `{"offset": 20}`,
			want: map[string]any{"region": "NAM", "healthy": false, "outage_seconds": 0.0, "action": "outage_started", "generation": 0.0, "pending_hosts": []any{}}},
		{name: "failover, eventbridge", store: outage(), health: fakeProber{"EU": true}, payload: `{"source": "aws.events", "detail-type": "Scheduled Event"}`,
			want: map[string]any{"region": "NAM", "healthy": false, "action": "failover", "generation": 1.0, "pending_hosts": []any{}, "from": "NAM", "to": "EU"}},
		{name: "forced failover", store: &fakeStore{}, health: fakeProber{"NAM": true, "APAC": true}, payload: `{"failover_to": "APAC"}`,
			want: map[string]any{"region": "APAC", "healthy": true, "outage_seconds": 0.0, "action": "failover", "generation": 1.0, "pending_hosts": []any{}, "from": "NAM", "to": "APAC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pusher := &fakePusher{}
			a, logs := testApp(t, tt.store, tt.health, pusher)
			out, err := invoke(t, a, tt.payload)
			if err != nil {
				t.Fatalf("invoke: %v (logs: %s)", err, logs)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("response %s: %v", out, err)
			}
			for _, k := range []string{"region", "healthy", "outage_seconds", "action", "generation", "pending_hosts"} {
				if _, ok := got[k]; !ok {
					t.Errorf("response %s has no %q", out, k)
				}
			}
			for k, want := range tt.want {
				if !reflect.DeepEqual(got[k], want) {
					t.Errorf("%s = %v, want %v (response %s)", k, got[k], want, out)
				}
			}
			if got["action"] == "failover" {
				if len(pusher.pushes) != 1 || pusher.pushes[0].Region != got["to"] {
					t.Errorf("pushes = %+v, want one to %v", pusher.pushes, got["to"])
				}
				if tt.store.s.ActiveRegion != got["to"] || tt.store.s.Pending != nil {
					t.Errorf("stored state %+v, want active %v and nothing pending", tt.store.s, got["to"])
				}
			} else if len(pusher.pushes) != 0 {
				t.Errorf("pushed %+v without a failover", pusher.pushes)
			}
			summary := false
			for _, l := range lines(t, logs.String()) {
				if l["msg"] == "check complete" {
					summary = l["request_id"] == "req-1" && l["trigger"] != nil
				}
			}
			if !summary {
				t.Errorf("no check complete line with request_id and trigger in:\n%s", logs)
			}
		})
	}
}

func TestHandleErrors(t *testing.T) {
	now := time.Now()
	pastThreshold := state.State{Version: 1, ActiveRegion: "NAM", OutageStartedAt: now.Add(-5 * time.Minute), LastProbeAt: now.Add(-5 * time.Second)}
	tests := []struct {
		name     string
		store    *fakeStore
		health   fakeProber
		failed   map[string]error
		run      func(context.Context, *config.Config, check.Deps) (check.Result, error)
		payload  string
		wantType string
		wantMsg  string
		wantIs   error
	}{
		{name: "state unreadable", store: &fakeStore{loadErr: errors.New("load state checker-state/fleet-a: connection refused")},
			health: fakeProber{"NAM": true}, payload: `{}`, wantType: "StateError", wantMsg: "connection refused"},
		{name: "state not writable", store: &fakeStore{swapErr: errors.New("swap state checker-state/fleet-a: AccessDeniedException")},
			health: fakeProber{}, payload: `{"offset": 0}`, wantType: "StateError", wantMsg: "AccessDeniedException"},
		{name: "push incomplete", store: &fakeStore{s: pastThreshold}, health: fakeProber{"EU": true},
			failed: map[string]error{"i-0123456789abcdef0": errors.New("exit status 1")}, payload: `{"offset": 30}`,
			wantType: "PushIncompleteError", wantMsg: "exit status 1", wantIs: check.ErrPushIncomplete},
		{name: "other failure", store: &fakeStore{}, health: fakeProber{"NAM": true}, payload: `{}`,
			run: func(context.Context, *config.Config, check.Deps) (check.Result, error) {
				return check.Result{}, errors.New("probe exploded")
			}, wantType: "CheckError", wantMsg: "probe exploded"},
		{name: "bad event", store: &fakeStore{}, health: fakeProber{"NAM": true}, payload: `{"offset": "ten"}`,
			wantType: "EventError", wantMsg: "event: json"},
		{name: "unknown failover region", store: &fakeStore{}, health: fakeProber{"NAM": true}, payload: `{"failover_to": "EUR"}`,
			wantType: "EventError", wantMsg: `failover_to: unknown region "EUR" (want NAM, EU or APAC)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := testApp(t, tt.store, tt.health, &fakePusher{failed: tt.failed})
			if tt.run != nil {
				a.run = tt.run
			}
			_, err := invoke(t, a, tt.payload)
			if err == nil {
				t.Fatal("invoke succeeded, want an error")
			}
			if got := errorType(err); got != tt.wantType {
				t.Errorf("errorType = %q, want %q (error %v)", got, tt.wantType, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("message %q does not contain %q", err, tt.wantMsg)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
		})
	}
}

func TestHandleDeadline(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration // 0: no deadline
		margin  time.Duration
		want    time.Duration // time left for the check
	}{
		{name: "lambda deadline less the margin", timeout: 9 * time.Second, margin: 1300 * time.Millisecond, want: 7700 * time.Millisecond},
		{name: "margin capped at half of a short deadline", timeout: 1 * time.Second, margin: 1300 * time.Millisecond, want: 500 * time.Millisecond},
		{name: "no deadline: CHECK_TIMEOUT", want: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := testApp(t, &fakeStore{}, fakeProber{"NAM": true}, &fakePusher{})
			a.margin = tt.margin
			var left time.Duration
			a.run = func(ctx context.Context, _ *config.Config, _ check.Deps) (check.Result, error) {
				dl, ok := ctx.Deadline()
				if !ok {
					return check.Result{}, errors.New("check ran without a deadline")
				}
				left = time.Until(dl)
				return check.Result{}, nil
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			if _, err := a.Handle(ctx, json.RawMessage(`{}`)); err != nil {
				t.Fatal(err)
			}
			if left > tt.want || left < tt.want-200*time.Millisecond {
				t.Errorf("the check had %v, want about %v", left, tt.want)
			}
		})
	}
}

// isolateAWS keeps the SDK's default configuration off the network and out
// of the machine's AWS files: static fake credentials, no instance metadata,
// endpoints on a closed loopback port.
func isolateAWS(t *testing.T) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:1",
		"AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:1", "DD_API_KEY": "", "DD_KMS_API_KEY": "", "DD_SITE": "",
	} {
		t.Setenv(k, v)
	}
}

func TestNewApp(t *testing.T) {
	isolateAWS(t)
	with := func(kv ...string) map[string]string {
		env := goodEnv()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(env, kv[i])
			} else {
				env[kv[i]] = kv[i+1]
			}
		}
		return env
	}
	tests := []struct {
		name     string
		env      map[string]string
		wantErr  string
		wantDD   bool
		wantSite string
	}{
		{name: "no datadog key: no wrapper", env: goodEnv()},
		{name: "empty datadog keys (template defaults): no wrapper", env: func() map[string]string {
			env := goodEnv()
			env["DD_API_KEY"], env["DD_KMS_API_KEY"] = "", ""
			return env
		}()},
		{name: "datadog key", env: with("DD_API_KEY", "0123456789abcdef", "DD_SITE", "datadoghq.eu"), wantDD: true, wantSite: "datadoghq.eu"},
		{name: "kms key", env: with("DD_KMS_API_KEY", "AQICAHh...", "DD_SITE", "https://proxy.example.com:8443/"), wantDD: true, wantSite: "https://proxy.example.com:8443"},
		{name: "bad region", env: with("EXT_CLOUD_FAILOVER_LIST", "NAM=nam.example.net,eu=eu.example.net"),
			wantErr: `configuration: EXT_CLOUD_FAILOVER_LIST: `},
		{name: "no table", env: with("STATE_TABLE", ""), wantErr: "configuration: STATE_TABLE: required for Lambda"},
		{name: "no targets", env: with("SSM_TARGETS", ""), wantErr: "configuration: SSM_TARGETS: required for Lambda"},
		{name: "site url with a path", env: with("DD_SITE", "https://proxy.example.com/api"), wantErr: `configuration: DD_SITE: "https://proxy.example.com/api" is neither a host name nor a base URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &syncbuf.Buffer{}
			a := newApp(context.Background(), envLookup(tt.env), out)
			ls := lines(t, out.String())
			if len(ls) != 1 {
				t.Fatalf("start logged %d lines, want 1:\n%s", len(ls), out)
			}
			if tt.wantErr != "" {
				for range 2 { // every invocation, not only the first
					_, err := a.Handle(context.Background(), json.RawMessage(`{}`))
					if err == nil || errorType(err) != "ConfigError" || !strings.HasPrefix(err.Error(), tt.wantErr) {
						t.Fatalf("Handle error = %v (%s), want ConfigError %q", err, errorType(err), tt.wantErr)
					}
				}
				msg, _ := ls[0]["message"].(string)
				if ls[0]["level"] != "error" || !strings.HasPrefix(msg, "invalid configuration: ") ||
					!strings.Contains(msg, strings.TrimPrefix(tt.wantErr, "configuration: ")) {
					t.Errorf("start line = %v, want one error line naming the field", ls[0])
				}
				return
			}
			if a.initErr != nil {
				t.Fatalf("init error: %v", a.initErr)
			}
			if ls[0]["message"] != "ready" || ls[0]["service"] != "extcloud-failover" {
				t.Errorf("start line = %v, want ready", ls[0])
			}
			if (a.dd != nil) != tt.wantDD {
				t.Fatalf("datadog wrapper = %v, want %v", a.dd != nil, tt.wantDD)
			}
			if _, unwrapped := a.handler().(rawHandler); unwrapped == tt.wantDD {
				t.Errorf("handler() unwrapped = %v, want %v", unwrapped, !tt.wantDD)
			}
			if !tt.wantDD {
				if a.deps.Metrics != nil || a.margin != responseMargin {
					t.Errorf("metrics %v, margin %v without datadog", a.deps.Metrics, a.margin)
				}
				return
			}
			if a.dd.DDTraceEnabled || a.dd.HTTPClientTimeout != ddHTTPTimeout || a.dd.Site != tt.wantSite {
				t.Errorf("datadog config = %+v, want tracing off, %v timeout, site %s", a.dd, ddHTTPTimeout, tt.wantSite)
			}
			if a.margin != responseMargin+ddHTTPTimeout {
				t.Errorf("margin = %v, want room for the metrics flush", a.margin)
			}
			if a.dd.APIKey != tt.env["DD_API_KEY"] {
				t.Errorf("APIKey = %q, want DD_API_KEY", a.dd.APIKey)
			}
			if strings.Contains(out.String(), "0123456789abcdef") {
				t.Errorf("the API key reached the log: %s", out)
			}
		})
	}
}

func TestDDMetrics(t *testing.T) {
	type sent struct {
		name  string
		value float64
		tags  []string
	}
	var got []sent
	m := ddMetrics{
		send: func(name string, value float64, tags ...string) {
			if name == "boom" {
				panic("listener gone")
			}
			got = append(got, sent{name, value, tags})
		},
		tags: []string{"service:extcloud-failover", "env:prod"},
		log:  slog.New(slog.DiscardHandler),
	}
	tags := make([]string, 1, 8) // spare capacity must not be shared between calls
	tags[0] = "region:NAM"
	m.Gauge("extcloud.probe.latency", 12.5, append(tags, "status:ok")...)
	m.Count("extcloud.push.hosts", 3, append(tags, "status:converged")...)
	m.Gauge("boom", 1) // a panicking sender is dropped, not propagated
	want := []sent{
		{"extcloud.probe.latency", 12.5, []string{"region:NAM", "status:ok", "service:extcloud-failover", "env:prod"}},
		{"extcloud.push.hosts", 3, []string{"region:NAM", "status:converged", "service:extcloud-failover", "env:prod"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
}

func TestDDTags(t *testing.T) {
	cfg := testConfig(t)
	cfg.DDTags = " env:prod, team:sre ,,"
	if got, want := ddTags(cfg), []string{"service:extcloud-failover", "env:prod", "team:sre"}; !slices.Equal(got, want) {
		t.Errorf("ddTags = %v, want %v", got, want)
	}
}

func TestSSMConfig(t *testing.T) {
	env := goodEnv()
	env["SSM_TARGETS"] = "tag:ExtCloudFailover=app,i-0123456789abcdef0"
	env["SUPERVISOR_PROGRAMS"] = "app,web:*"
	env["SSM_COMMAND_TIMEOUT"] = "120s"
	env["SSM_MAX_CONCURRENCY"] = "10%"
	cfg, err := config.FromEnv(envLookup(env))
	if err != nil {
		t.Fatal(err)
	}
	got := ssmConfig(cfg)
	want := ssmpush.Config{
		Targets:        []ident.SSMTarget{{TagKey: "ExtCloudFailover", TagValue: "app"}, {InstanceID: "i-0123456789abcdef0"}},
		EnvFile:        cfg.EnvFile,
		Format:         remote.EnvShell,
		Programs:       []string{"app", "web:*"},
		MaxConcurrency: "10%",
		MaxErrors:      cfg.SSMMaxErrors,
		CommandTimeout: 120 * time.Second,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ssmConfig = %+v, want %+v", got, want)
	}
}

func TestErrorTypesUnwrap(t *testing.T) {
	base := errors.New("base")
	for _, err := range []error{&ConfigError{base}, &EventError{base}, &StateError{base}, &PushIncompleteError{base}, &CheckError{base}} {
		if !errors.Is(err, base) {
			t.Errorf("%s does not unwrap", errorType(err))
		}
		if !strings.HasSuffix(err.Error(), "base") {
			t.Errorf("%s message %q lost the cause", errorType(err), err)
		}
	}
	// A lost compare-and-swap stays recognisable through the store marker.
	if err := markState(fmt.Errorf("swap: %w", state.ErrConflict)); !errors.Is(err, state.ErrConflict) || errorType(err) == "StateError" {
		t.Errorf("conflict marked as %s", errorType(err))
	}
	if err := markState(fmt.Errorf("load: %w", state.ErrCorrupt)); !errors.Is(err, state.ErrCorrupt) {
		t.Errorf("corrupt state no longer matches state.ErrCorrupt: %v", err)
	}
}
