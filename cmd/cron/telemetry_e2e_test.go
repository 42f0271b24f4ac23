package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestE2ELocalNetworkDownIsInconclusive(t *testing.T) {
	t.Parallel()
	f := newFleet(t, "LATENCY_CHECK=on-failure", "WITNESS_URL=http://"+closedAddr(t)+"/", "LATENCY_TIMEOUT=500ms")
	for _, r := range []*region{f.nam, f.eu, f.apac} {
		r.Down.Store(true)
	}
	for i := 0; i < 3; i++ {
		inv := f.run()
		if inv.code != 0 || inv.action() != "inconclusive" {
			t.Fatalf("run %d: exit %d action %q: %s", i, inv.code, inv.action(), inv.stdout)
		}
		if !strings.Contains(inv.stdout, "local network unavailable") {
			t.Fatalf("log does not say local network unavailable: %s", inv.stdout)
		}
	}
	if s := f.readState(); !s.OutageStartedAt.IsZero() || s.Version != 0 {
		t.Fatalf("inconclusive runs started the outage clock: %+v", s)
	}
	// Even with an outage older than the threshold on record, an
	// inconclusive observation neither advances it nor fails over.
	f.eu.Down.Store(false)
	f.plantOutage(time.Minute)
	before := f.readState()
	f.eu.Down.Store(true)
	inv := f.run()
	if inv.action() != "inconclusive" || f.readState().Version != before.Version || f.starts() != 1 || f.envRegion() != "NAM" {
		t.Fatalf("past the threshold: action %q, state %+v, starts %d", inv.action(), f.readState(), f.starts())
	}
}

func TestE2EWitnessUpFailsOverAsUsual(t *testing.T) {
	t.Parallel()
	witness := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(witness.Close)
	f := newFleet(t, "LATENCY_CHECK=on-failure", "WITNESS_URL="+witness.URL)
	f.nam.Down.Store(true)
	f.plantOutage(time.Minute)
	if inv := f.run(); inv.code != 0 || inv.action() != "failover" || f.envRegion() != "EU" || f.starts() != 2 {
		t.Fatalf("exit %d action %q env %q starts %d: %s", inv.code, inv.action(), f.envRegion(), f.starts(), inv.stdout)
	}
}

// intake is a local Datadog logs intake.
type intake struct {
	srv      *httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	items    []map[string]any
	keys     []string
	stop     chan struct{}
}

func newIntake(t *testing.T, status func(n int64) int) *intake {
	t.Helper()
	in := &intake{stop: make(chan struct{})}
	in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := in.requests.Add(1)
		code := status(n)
		if code == 0 { // hang until the client gives up or the test ends
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-in.stop:
			}
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, "not gzip", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(zr)
		var items []map[string]any
		if err := json.Unmarshal(body, &items); err != nil {
			http.Error(w, "not a JSON array", http.StatusBadRequest)
			return
		}
		in.mu.Lock()
		in.items = append(in.items, items...)
		in.keys = append(in.keys, r.Header.Get("DD-API-KEY"))
		in.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(in.srv.Close)
	t.Cleanup(func() { close(in.stop) }) // runs first: release hanging handlers
	return in
}

func TestE2EDatadogLogsIntake(t *testing.T) {
	t.Parallel()
	t.Run("items arrive with their fields", func(t *testing.T) {
		t.Parallel()
		in := newIntake(t, func(int64) int { return http.StatusAccepted })
		f := newFleet(t, "DD_API_KEY=key-1", "DD_LOGS_INTAKE_URL="+in.srv.URL+"/api/v2/logs", "DD_SERVICE=failover-test")
		f.nam.Down.Store(true)
		f.plantOutage(time.Minute)
		if inv := f.run(); inv.code != 0 || inv.action() != "failover" {
			t.Fatalf("exit %d action %q", inv.code, inv.action())
		}
		in.mu.Lock()
		defer in.mu.Unlock()
		if len(in.keys) != 1 || in.keys[0] != "key-1" {
			t.Fatalf("DD-API-KEY headers %v", in.keys)
		}
		var failover, summary map[string]any
		for _, it := range in.items {
			switch msg, _ := it["message"].(string); {
			case strings.HasPrefix(msg, "failover from NAM to EU"):
				failover = it
			case msg == "check complete":
				summary = it
			}
		}
		if failover == nil || summary == nil {
			t.Fatalf("items lack the failover or summary event: %v", in.items)
		}
		for _, k := range []string{"ddsource", "hostname", "service", "status"} {
			if failover[k] == nil || failover[k] == "" {
				t.Errorf("item lacks %s: %v", k, failover)
			}
		}
		if failover["service"] != "failover-test" || summary["action"] != "failover" {
			t.Errorf("service %v action %v", failover["service"], summary["action"])
		}
	})
	t.Run("a 500 is retried once and the check still succeeds", func(t *testing.T) {
		t.Parallel()
		in := newIntake(t, func(int64) int { return http.StatusInternalServerError })
		f := newFleet(t, "DD_API_KEY=key-1", "DD_LOGS_INTAKE_URL="+in.srv.URL)
		inv := f.run()
		if inv.code != 0 || inv.action() != "none" {
			t.Fatalf("exit %d action %q", inv.code, inv.action())
		}
		if n := in.requests.Load(); n != 2 {
			t.Errorf("intake saw %d requests, want 2 (one retry)", n)
		}
	})
	t.Run("a hanging intake does not hold the invocation", func(t *testing.T) {
		t.Parallel()
		in := newIntake(t, func(int64) int { return 0 })
		f := newFleet(t, "DD_API_KEY=key-1", "DD_LOGS_INTAKE_URL="+in.srv.URL)
		inv := f.run() // run kills the binary after 60 s: returning at all is the point
		if inv.code != 0 || inv.action() != "none" || in.requests.Load() == 0 {
			t.Fatalf("exit %d action %q requests %d", inv.code, inv.action(), in.requests.Load())
		}
		if !strings.Contains(inv.stdout, "datadog logs intake failed") {
			t.Errorf("the dropped events are not logged locally: %s", inv.stdout)
		}
	})
}

func TestE2EDogStatsDMetrics(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	f := newFleet(t, "DD_DOGSTATSD_URL=udp://"+pc.LocalAddr().String())
	f.nam.Down.Store(true)
	f.plantOutage(time.Minute)
	if inv := f.run(); inv.code != 0 || inv.action() != "failover" {
		t.Fatalf("exit %d action %q", inv.code, inv.action())
	}
	var got bytes.Buffer
	buf := make([]byte, 65536)
	want := []string{"extcloud.probe.latency:", "extcloud.outage.seconds:", "extcloud.failover:1|c", "extcloud.push.hosts:1|c"}
	deadline := time.Now().Add(10 * time.Second)
	for !containsAll(got.String(), want) && time.Now().Before(deadline) {
		pc.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err == nil {
			got.Write(buf[:n])
			got.WriteByte('\n')
		}
	}
	if !containsAll(got.String(), want) {
		t.Fatalf("metrics received:\n%s\nwant all of %v", got.String(), want)
	}
	if !strings.Contains(got.String(), "region:EU") || !strings.Contains(got.String(), "status:fail") {
		t.Errorf("metrics lack region/status tags:\n%s", got.String())
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
