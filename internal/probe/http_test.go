package probe

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/testenv"
)

func TestProbe(t *testing.T) {
	t.Parallel()
	var redirectTargetHits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { redirectTargetHits.Add(1) }))
	t.Cleanup(target.Close)

	var bigWritten atomic.Int64
	tests := []struct {
		name    string
		handler http.HandlerFunc
		env     map[string]string
		healthy bool
		status  int
		errHas  string
	}{
		{
			name: "2xx is healthy and the query carries escaped ids",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("orgId") != "org-1" || r.URL.Query().Get("region") != "NAM" {
					w.WriteHeader(http.StatusTeapot)
				}
			},
			healthy: true, status: 200,
		},
		{name: "503 says the status", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, status: 503, errHas: "status 503"},
		{name: "404 is unhealthy", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, status: 404, errHas: "status 404"},
		{
			name:    "a redirect is not followed",
			handler: func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target.URL, http.StatusFound) },
			status:  302, errHas: "redirect not followed",
		},
		{
			name:    "PROBE_EXPECT found",
			handler: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"status":"ok"}`)) },
			env:     map[string]string{"PROBE_EXPECT": `"status":"ok"`}, healthy: true, status: 200,
		},
		{
			name:    "PROBE_EXPECT missing",
			handler: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"status":"degraded"}`)) },
			env:     map[string]string{"PROBE_EXPECT": `"status":"ok"`}, status: 200, errHas: "lacks PROBE_EXPECT",
		},
		{
			name: "PROBE_EXPECT beyond 64 KiB is not read",
			handler: func(w http.ResponseWriter, r *http.Request) {
				chunk := []byte(strings.Repeat("x", 32<<10))
				for i := 0; i < 3200; i++ { // 100 MB if the client kept reading
					n, err := w.Write(chunk)
					bigWritten.Add(int64(n))
					if err != nil {
						return
					}
				}
				w.Write([]byte("OK-MARK"))
			},
			env: map[string]string{"PROBE_EXPECT": "OK-MARK"}, status: 200, errHas: "lacks PROBE_EXPECT",
		},
		{
			name:    "a server that never answers times out",
			handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			env:     map[string]string{"PROBE_TIMEOUT": "200ms"}, errHas: "timeout after 200ms",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			cfg := testenv.Config(t, tt.env)
			res := New(cfg).Probe(context.Background(), config.Region{Name: "NAM", Cloud: testenv.HostOf(srv)})
			if res.Healthy != tt.healthy || res.Status != tt.status {
				t.Fatalf("Probe = healthy %v status %d err %v, want healthy %v status %d", res.Healthy, res.Status, res.Err, tt.healthy, tt.status)
			}
			if tt.errHas == "" && res.Err != nil || tt.errHas != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tt.errHas)) {
				t.Fatalf("Probe error %v, want containing %q", res.Err, tt.errHas)
			}
			if res.Healthy && res.Timings.FirstByte <= 0 {
				t.Errorf("no first-byte timing recorded: %+v", res.Timings)
			}
		})
	}
	if redirectTargetHits.Load() != 0 {
		t.Errorf("redirect target was requested %d times", redirectTargetHits.Load())
	}
	if w := bigWritten.Load(); w >= 100<<20 {
		t.Errorf("server wrote %d bytes: the probe read the whole body", w)
	}
}

func TestProbeTransportFailures(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)

	reset, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reset.Close() })
	go func() {
		for {
			c, err := reset.Accept()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetLinger(0)
			buf := make([]byte, 512)
			c.Read(buf)
			c.Close()
		}
	}()

	tests := []struct {
		name   string
		cloud  string
		env    map[string]string
		want   bool
		errHas string
	}{
		{name: "connection refused", cloud: closed, errHas: "connection refused"},
		{name: "connection reset", cloud: reset.Addr().String(), errHas: "reset"},
		{name: "self-signed certificate is refused", cloud: testenv.HostOf(tlsSrv),
			env: map[string]string{"CLOUDLOOKUP_URL": "https://{cloud}/cloudlookup"}, errHas: "tls:"},
		{name: "loopback skip-verify when asked", cloud: testenv.HostOf(tlsSrv), want: true,
			env: map[string]string{"CLOUDLOOKUP_URL": "https://{cloud}/cloudlookup", "PROBE_INSECURE_SKIP_VERIFY": "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := New(testenv.Config(t, tt.env)).Probe(context.Background(), config.Region{Name: "EU", Cloud: tt.cloud})
			if res.Healthy != tt.want {
				t.Fatalf("healthy = %v (err %v), want %v", res.Healthy, res.Err, tt.want)
			}
			if tt.errHas != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tt.errHas)) {
				t.Fatalf("error %v, want containing %q", res.Err, tt.errHas)
			}
		})
	}
}

func TestProbeDNSFailureSaysDNS(t *testing.T) {
	t.Parallel()
	// A resolver whose server is a closed loopback port: a DNS failure
	// without leaving the machine.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dnsAddr := pc.LocalAddr().String()
	pc.Close()
	p := New(testenv.Config(t, nil))
	d := &net.Dialer{Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", dnsAddr)
	}}}
	p.client.Transport.(*http.Transport).DialContext = d.DialContext
	res := p.Probe(context.Background(), config.Region{Name: "EU", Cloud: "eu.extcloud.test"})
	if res.Healthy || res.Err == nil || !strings.HasPrefix(res.Err.Error(), "dns: ") {
		t.Fatalf("Probe = %v, want a dns: error", res.Err)
	}
}

func TestProberHasItsOwnClient(t *testing.T) {
	t.Parallel()
	p := New(testenv.Config(t, nil))
	if p.client == http.DefaultClient || p.client.Transport == nil || p.client.Transport == http.DefaultTransport {
		t.Fatal("the prober shares the default client or transport")
	}
	if p.client.CheckRedirect == nil {
		t.Fatal("redirects would be followed")
	}
}
