package telemetry

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// discardJSON is a handler that is enabled at info and writes nowhere.
var discardJSON = NewHandler(io.Discard, HandlerOptions{})

// intakeRequest is one request the fake intake received.
type intakeRequest struct {
	header http.Header
	items  []map[string]any
	err    error // why the body could not be read
}

// fakeIntake is a logs intake on 127.0.0.1 answering with the given status
// codes in turn (the last one repeats).
type fakeIntake struct {
	srv *httptest.Server

	mu       sync.Mutex
	codes    []int
	requests []intakeRequest
}

func newFakeIntake(t *testing.T, codes ...int) *fakeIntake {
	t.Helper()
	f := &fakeIntake{codes: codes}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIntake) serve(w http.ResponseWriter, r *http.Request) {
	req := intakeRequest{header: r.Header.Clone()}
	zr, err := gzip.NewReader(r.Body)
	if err == nil {
		err = json.NewDecoder(zr).Decode(&req.items)
	}
	req.err = err
	f.mu.Lock()
	f.requests = append(f.requests, req)
	code := f.codes[0]
	if len(f.codes) > 1 {
		f.codes = f.codes[1:]
	}
	f.mu.Unlock()
	w.WriteHeader(code)
}

func (f *fakeIntake) got() []intakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]intakeRequest(nil), f.requests...)
}

func TestIntakeSends(t *testing.T) {
	t.Parallel()
	const apiKey = "abcdef0123456789abcdef0123456789"
	f := newFakeIntake(t, http.StatusAccepted)
	in := NewIntake(IntakeOptions{
		APIKey: apiKey, URL: f.srv.URL + "/api/v2/logs", Service: "extcloud-failover",
		Hostname: "host-1", Tags: "env:test,team:ops", Secrets: []string{apiKey}, Now: fixedNow,
	})
	var stdout bytes.Buffer
	log := slog.New(in.Handler(NewHandler(&stdout, HandlerOptions{Service: "extcloud-failover", Secrets: []string{apiKey}})))
	log.Info("outage started", "region", "NAM", "outage_seconds", 10, "status", 503)
	log.With("generation", 3).WithGroup("push").Warn("host failed with key "+apiKey, "host", "h1", "error", errors.New("key "+apiKey))
	log.Debug("below the level: neither on stdout nor sent")

	if err := in.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if n := strings.Count(stdout.String(), "\n"); n != 2 {
		t.Errorf("stdout has %d lines, want 2: the tee passes records on", n)
	}
	reqs := f.got()
	if len(reqs) != 1 {
		t.Fatalf("intake got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.err != nil {
		t.Fatalf("body is not a gzipped JSON array: %v", r.err)
	}
	for k, want := range map[string]string{"DD-API-KEY": apiKey, "Content-Type": "application/json", "Content-Encoding": "gzip"} {
		if got := r.header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if len(r.items) != 2 {
		t.Fatalf("got %d items, want 2: %v", len(r.items), r.items)
	}
	first, second := r.items[0], r.items[1]
	for k, want := range map[string]any{
		"ddsource": "extcloud-failover", "ddtags": "env:test,team:ops", "hostname": "host-1",
		"service": "extcloud-failover", "status": "info", "message": "outage started",
		"timestamp": "2026-11-24T05:00:00.123Z", "region": "NAM", "outage_seconds": 10.0, "attr_status": 503.0,
	} {
		if first[k] != want {
			t.Errorf("first item %s = %#v, want %#v", k, first[k], want)
		}
	}
	push, _ := second["push"].(map[string]any)
	if second["status"] != "warn" || second["generation"] != 3.0 || push["host"] != "h1" {
		t.Errorf("second item = %v", second)
	}
	body, _ := json.Marshal(r.items)
	if strings.Contains(string(body), apiKey) {
		t.Errorf("items contain the API key: %s", body)
	}
	if push["error"] != "key "+Redacted || second["message"] != "host failed with key "+Redacted {
		t.Errorf("second item not redacted: %v", second)
	}

	if err := in.Flush(t.Context()); err != nil {
		t.Fatalf("second Flush: %v", err)
	}
	if n := len(f.got()); n != 1 {
		t.Errorf("an empty Flush sent a request: %d requests", n)
	}
}

func TestIntakeRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		codes    []int
		requests int
		wantErr  string // "" means success
	}{
		{name: "500 retried once then fails", codes: []int{500}, requests: 2, wantErr: "status 500"},
		{name: "429 retried once", codes: []int{429}, requests: 2, wantErr: "status 429"},
		{name: "408 retried once", codes: []int{408}, requests: 2, wantErr: "status 408"},
		{name: "503 then accepted", codes: []int{503, 202}, requests: 2},
		{name: "403 not retried", codes: []int{403}, requests: 1, wantErr: "status 403"},
		{name: "403 names the settings", codes: []int{403}, requests: 1,
			wantErr: ": status 403 (DD_API_KEY refused: check the key, and that DD_SITE is the key's Datadog site)"},
		{name: "401 names the settings", codes: []int{401}, requests: 1, wantErr: "status 401 (DD_API_KEY refused"},
		{name: "404 names the settings", codes: []int{404}, requests: 1,
			wantErr: "status 404 (no logs intake there: check DD_SITE, or DD_LOGS_INTAKE_URL when set)"},
		{name: "error names the URL", codes: []int{500}, requests: 2, wantErr: "logs intake http://127.0.0.1:"},
		{name: "400 not retried", codes: []int{400}, requests: 1, wantErr: "status 400"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeIntake(t, tc.codes...)
			in := NewIntake(IntakeOptions{APIKey: "k", URL: f.srv.URL})
			slog.New(in.Handler(discardJSON)).Info("x")
			err := in.Flush(t.Context())
			if n := len(f.got()); n != tc.requests {
				t.Errorf("server saw %d requests, want %d", n, tc.requests)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Flush: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Flush error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestIntakeStatusErrorHidesURLPassword(t *testing.T) {
	t.Parallel()
	f := newFakeIntake(t, 403)
	u := strings.Replace(f.srv.URL, "http://", "http://user:pa55word@", 1)
	in := NewIntake(IntakeOptions{APIKey: "k", URL: u})
	slog.New(in.Handler(discardJSON)).Info("x")
	err := in.Flush(t.Context())
	if err == nil || !strings.Contains(err.Error(), "status 403") || strings.Contains(err.Error(), "pa55word") {
		t.Errorf("Flush error = %v; want status 403 without the URL password", err)
	}
}

func TestIntakeTransportErrorRetried(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		// Drop the connection without an answer.
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	u := strings.Replace(srv.URL, "http://", "http://user:pa55word@", 1)
	in := NewIntake(IntakeOptions{APIKey: "k", URL: u})
	slog.New(in.Handler(discardJSON)).Info("x")
	err := in.Flush(t.Context())
	if err == nil {
		t.Fatal("Flush succeeded against a server that drops connections")
	}
	if strings.Contains(err.Error(), "pa55word") {
		t.Errorf("error shows the URL password: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 2 {
		t.Errorf("server saw %d requests, want 2 (one retry)", n)
	}
}

func TestIntakeHangingServer(t *testing.T) {
	t.Parallel()
	const limit = 300 * time.Millisecond
	tests := []struct {
		name    string
		ctx     func(t *testing.T) context.Context
		timeout time.Duration
	}{
		{name: "context deadline", timeout: time.Minute, ctx: func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), limit)
			t.Cleanup(cancel)
			return ctx
		}},
		{name: "intake timeout", timeout: limit, ctx: func(t *testing.T) context.Context { return t.Context() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seen := make(chan struct{}, 4)
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen <- struct{}{}
				_, _ = io.Copy(io.Discard, r.Body)
				select {
				case <-r.Context().Done():
				case <-release:
				}
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(release) })

			in := NewIntake(IntakeOptions{APIKey: "k", URL: srv.URL, Timeout: tc.timeout})
			slog.New(in.Handler(discardJSON)).Info("x")
			start := time.Now()
			err := in.Flush(tc.ctx(t))
			elapsed := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Flush error = %v, want a deadline exceeded", err)
			}
			if elapsed > 2*limit+time.Second {
				t.Errorf("Flush took %v with a %v deadline", elapsed, limit)
			}
			select {
			case <-seen:
			default:
				t.Error("the server never saw the request")
			}
		})
	}
}

func TestIntakeNoAPIKey(t *testing.T) {
	t.Parallel()
	f := newFakeIntake(t, http.StatusAccepted)
	in := NewIntake(IntakeOptions{URL: f.srv.URL})
	next := slog.DiscardHandler
	if h := in.Handler(next); h != next {
		t.Errorf("Handler without an API key = %T, want next itself", h)
	}
	slog.New(in.Handler(next)).Info("x")
	if err := in.Flush(t.Context()); err != nil {
		t.Errorf("Flush: %v", err)
	}
	if n := len(f.got()); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

func TestIntakeBatchLimit(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 900<<10)
	tests := []struct {
		name    string
		log     func(*slog.Logger)
		items   int
		dropped string
	}{
		{name: "item count", items: MaxBatchItems, dropped: "5 events dropped", log: func(l *slog.Logger) {
			for range MaxBatchItems + 5 {
				l.Info("event")
			}
		}},
		{name: "item size", items: 1, dropped: "1 events dropped", log: func(l *slog.Logger) {
			l.Info("huge", "blob", strings.Repeat("x", MaxItemBytes))
			l.Info("small")
		}},
		{name: "batch size", items: 5, dropped: "2 events dropped", log: func(l *slog.Logger) {
			for range 7 {
				l.Info("big", "blob", big)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeIntake(t, http.StatusAccepted)
			in := NewIntake(IntakeOptions{APIKey: "k", URL: f.srv.URL})
			tc.log(slog.New(in.Handler(discardJSON)))
			err := in.Flush(t.Context())
			if !errors.Is(err, ErrBatchFull) || !strings.Contains(err.Error(), tc.dropped) {
				t.Errorf("Flush error = %v, want %v with %s", err, ErrBatchFull, tc.dropped)
			}
			reqs := f.got()
			if len(reqs) != 1 || len(reqs[0].items) != tc.items {
				t.Fatalf("want one request of %d items, got %d requests", tc.items, len(reqs))
			}
		})
	}
}

func TestIntakeURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    IntakeOptions
		want string
	}{
		{name: "default site", want: "https://http-intake.logs.datadoghq.com/api/v2/logs"},
		{name: "site", o: IntakeOptions{Site: "datadoghq.eu"}, want: "https://http-intake.logs.datadoghq.eu/api/v2/logs"},
		{name: "override", o: IntakeOptions{Site: "datadoghq.eu", URL: "http://127.0.0.1:1/v2"}, want: "http://127.0.0.1:1/v2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := NewIntake(tc.o).URL(); got != tc.want {
				t.Errorf("URL() = %q, want %q", got, tc.want)
			}
		})
	}
	if in := NewIntake(IntakeOptions{}); in.client == http.DefaultClient || in.client.Transport == http.DefaultTransport {
		t.Error("the intake shares the default client or transport")
	}
}
