package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/showwin/speedtest-go/speedtest"

	"extcloud-failover/internal/testenv"
)

// speedtestServer is a speedtest server on 127.0.0.1 serving what
// speedtest-go asks for in a latency test: /speedtest/latency.txt.
type speedtestServer struct {
	*httptest.Server

	mu       sync.Mutex
	requests int
	agents   []string
}

// newSpeedtestServer starts a server whose latency.txt is answered by h,
// given the number of the request (0 is the warm-up); nil answers test=test.
func newSpeedtestServer(t *testing.T, h func(n int, w http.ResponseWriter, r *http.Request)) *speedtestServer {
	t.Helper()
	s := &speedtestServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /speedtest/latency.txt", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		n := s.requests
		s.requests++
		s.agents = append(s.agents, r.UserAgent())
		s.mu.Unlock()
		if h != nil {
			h(n, w, r)
			return
		}
		_, _ = w.Write([]byte("test=test\n"))
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *speedtestServer) seen() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, append([]string(nil), s.agents...)
}

// uploadURL is the LATENCY_SERVER form of s.
func (s *speedtestServer) uploadURL() string { return s.URL + "/speedtest/upload.php" }

// closedURL is an http URL on 127.0.0.1 where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

// witnessServer answers every request with code.
func witnessServer(t *testing.T, code int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code >= 300 && code < 400 {
			w.Header().Set("Location", "http://127.0.0.1:1/elsewhere")
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestDefaultClientContained pins the speedtest-go trap this package
// contains: the library replaces http.DefaultClient's transport when it is
// initialised (and in every speedtest.New). The package puts it back, so
// nothing else has to defend against it, and the guard's requests really go
// through transports of its own. Not parallel: it reads that global.
func TestDefaultClientContained(t *testing.T) {
	if http.DefaultClient.Transport != nil {
		t.Fatalf("http.DefaultClient.Transport = %T after importing probe, want nil (the standard library's default)", http.DefaultClient.Transport)
	}
	speedtest.New()
	if _, ok := http.DefaultClient.Transport.(*speedtest.Speedtest); !ok {
		t.Errorf("http.DefaultClient.Transport = %T after speedtest.New: the library no longer replaces it, revisit speedtest.go", http.DefaultClient.Transport)
	}
	http.DefaultClient.Transport = nil // undo what speedtest.New just did

	g := NewGuard(GuardOptions{ServerURL: "http://127.0.0.1:1/speedtest/upload.php", WitnessURL: "http://127.0.0.1:1/"})
	if g.witness == http.DefaultClient || pingClient == http.DefaultClient {
		t.Fatal("the guard uses http.DefaultClient")
	}
	if _, ok := pingClient.Transport.(*judgingTransport); !ok {
		t.Errorf("the speedtest client's transport is %T, want the guard's judgingTransport", pingClient.Transport)
	}
	if _, ok := g.witness.Transport.(*speedtest.Speedtest); ok || g.witness.Transport == nil || g.witness.Transport == http.DefaultTransport {
		t.Errorf("the witness transport is %T, want one of the guard's own", g.witness.Transport)
	}
	if g.speedtest.server == nil || g.speedtest.server.Context != speedtestClient {
		t.Error("the server is not bound to the guard's speedtest client")
	}

	// The requests really go through our transport: speedtest-go's own
	// would send its User-Agent.
	srv := newSpeedtestServer(t, nil)
	if res := NewGuard(GuardOptions{ServerURL: srv.uploadURL()}).Check(t.Context()); !res.OK {
		t.Fatalf("Check: %v", res.Err)
	}
	_, agents := srv.seen()
	for _, a := range agents {
		if a != userAgent {
			t.Errorf("User-Agent %q, want %q", a, userAgent)
		}
	}
	if http.DefaultClient.Transport != nil {
		t.Errorf("http.DefaultClient.Transport = %T after a check, want nil", http.DefaultClient.Transport)
	}
}

func TestGuardMeasures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  func(s *speedtestServer) string
	}{
		{name: "upload.php URL", url: (*speedtestServer).uploadURL},
		{name: "bare host URL", url: func(s *speedtestServer) string { return s.URL }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newSpeedtestServer(t, nil)
			res := NewGuard(GuardOptions{ServerURL: tc.url(srv)}).Check(t.Context())
			if !res.OK || res.Err != nil {
				t.Fatalf("Check = %+v, want OK", res)
			}
			if res.Latency <= 0 {
				t.Errorf("Latency = %v, want > 0", res.Latency)
			}
			if n, _ := srv.seen(); n != LatencyPings+1 {
				t.Errorf("server saw %d requests, want %d (warm-up and samples)", n, LatencyPings+1)
			}
		})
	}
}

func TestGuard(t *testing.T) {
	t.Parallel()
	answer := func(code int, body string) func(int, http.ResponseWriter, *http.Request) {
		return func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
		}
	}
	// warmUpOnly answers the first request and drops the connection of
	// every later one: speedtest-go would call that a success.
	warmUpOnly := func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			_, _ = w.Write([]byte("test=test\n"))
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}
	// sometimes500 fails one sample among good ones.
	sometimes500 := func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 2 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("test=test\n"))
	}
	const (
		down = "down"
		up   = "up"
	)
	tests := []struct {
		name    string
		server  string // "", down, up or a handler below
		handler func(int, http.ResponseWriter, *http.Request)
		rawURL  string // LATENCY_SERVER as given, overriding server
		witness int    // 0 none, -1 down, else the status it answers
		wantOK  bool
		wantErr []string // substrings of Err
	}{
		{name: "nothing configured: cannot tell", wantOK: true},
		{name: "server answers", server: up, wantOK: true},
		{name: "server down", server: down, wantErr: []string{"latency guard: speedtest http://127.0.0.1:", "connection refused"}},
		{name: "server and witness down", server: down, witness: -1, wantErr: []string{"speedtest http://", "witness http://", "connection refused; witness"}},
		{name: "server 500", handler: answer(500, "oops"), wantErr: []string{"status 500"}},
		{name: "server 404", handler: answer(404, "test=test"), wantErr: []string{"status 404"}},
		{name: "one sample 500", handler: sometimes500, wantErr: []string{"status 500"}},
		{name: "server answers a portal page", handler: answer(200, "<html>login</html>"), wantErr: []string{"not a speedtest latency.txt"}},
		{name: "only the warm-up answered", handler: warmUpOnly, wantErr: []string{"no latency sample beyond the warm-up"}},
		{name: "server 500 but witness up", handler: answer(500, ""), witness: 200, wantOK: true},
		{name: "server down but witness up", server: down, witness: 200, wantOK: true},
		{name: "server down but witness 404", server: down, witness: 404, wantOK: true},
		{name: "witness redirect is an answer", witness: 302, wantOK: true},
		{name: "witness 503", witness: 503, wantErr: []string{"latency guard: witness http://", "status 503"}},
		{name: "witness down", witness: -1, wantErr: []string{"witness", "connection refused"}},
		{name: "invalid server URL", rawURL: "ftp://x/y", wantErr: []string{"speedtest ftp://x/y: invalid URL"}},
		{name: "invalid server URL but witness up", rawURL: "127.0.0.1:8080", witness: 200, wantOK: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var o GuardOptions
			switch {
			case tc.rawURL != "":
				o.ServerURL = tc.rawURL
			case tc.server == down:
				o.ServerURL = closedURL(t) + "/speedtest/upload.php"
			case tc.server == up:
				o.ServerURL = newSpeedtestServer(t, nil).uploadURL()
			case tc.handler != nil:
				o.ServerURL = newSpeedtestServer(t, tc.handler).uploadURL()
			}
			switch {
			case tc.witness == -1:
				o.WitnessURL = closedURL(t)
			case tc.witness > 0:
				o.WitnessURL = witnessServer(t, tc.witness)
			}
			res := NewGuard(o).Check(t.Context())
			t.Logf("Check = %+v", res)
			if res.OK != tc.wantOK {
				t.Fatalf("OK = %v, want %v (Err: %v)", res.OK, tc.wantOK, res.Err)
			}
			if tc.wantOK {
				if res.Err != nil {
					t.Errorf("Err = %v, want nil when OK", res.Err)
				}
				return
			}
			if res.Err == nil {
				t.Fatal("Err = nil, want a reason")
			}
			if res.Latency != 0 {
				t.Errorf("Latency = %v on failure, want 0", res.Latency)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(res.Err.Error(), want) {
					t.Errorf("Err = %q, want it to contain %q", res.Err, want)
				}
			}
		})
	}
}

func TestGuardTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	hang := func(release <-chan struct{}) func(int, http.ResponseWriter, *http.Request) {
		return func(_ int, _ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
	}
	tests := []struct {
		name    string
		witness bool // a hanging witness too
		ctx     func(t *testing.T) context.Context
		guard   time.Duration
	}{
		{name: "LATENCY_TIMEOUT", guard: timeout, ctx: func(t *testing.T) context.Context { return t.Context() }},
		{name: "invocation deadline", guard: time.Minute, ctx: func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			t.Cleanup(cancel)
			return ctx
		}},
		{name: "hanging witness too", guard: timeout, witness: true, ctx: func(t *testing.T) context.Context { return t.Context() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			srv := newSpeedtestServer(t, hang(release))
			o := GuardOptions{ServerURL: srv.uploadURL(), Timeout: tc.guard}
			if tc.witness {
				w := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hang(release)(0, w, r) }))
				t.Cleanup(w.Close)
				o.WitnessURL = w.URL
			}
			t.Cleanup(func() { close(release) })

			start := time.Now()
			res := NewGuard(o).Check(tc.ctx(t))
			elapsed := time.Since(start)
			if res.OK {
				t.Fatal("OK against a server that never answers")
			}
			if !errors.Is(res.Err, context.DeadlineExceeded) || !strings.Contains(res.Err.Error(), "timeout after") {
				t.Errorf("Err = %v, want a timeout", res.Err)
			}
			if elapsed > 2*timeout+time.Second {
				t.Errorf("Check took %v with a %v limit", elapsed, timeout)
			}
			if n, _ := srv.seen(); n == 0 {
				t.Error("the server never saw the request")
			}
		})
	}
}

func ExampleGuard() {
	g := NewGuard(GuardOptions{
		ServerURL:  "http://speedtest.example.net:8080/speedtest/upload.php",
		WitnessURL: "https://witness.example.org/generate_204",
		Timeout:    3 * time.Second,
	})
	// Not run: it needs the network. OK is false only when neither answered.
	if res := g.Check(context.Background()); !res.OK {
		fmt.Println("our own network looks down:", res.Err)
	}
}

func TestGuardFor(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"nothing to measure", nil, false},
		{"off", map[string]string{"LATENCY_CHECK": "off", "WITNESS_URL": "http://127.0.0.1:9/"}, false},
		{"witness", map[string]string{"WITNESS_URL": "http://127.0.0.1:9/"}, true},
		{"speedtest server", map[string]string{"LATENCY_SERVER": "http://127.0.0.1:9/"}, true},
	} {
		if got := GuardFor(testenv.Config(t, tt.env)) != nil; got != tt.want {
			t.Errorf("%s: guard %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestNilGuardCannotTell pins that the nil *Guard GuardFor returns for a
// configuration without one is safe to call inside an interface.
func TestNilGuardCannotTell(t *testing.T) {
	t.Parallel()
	var g interface {
		Check(context.Context) GuardResult
	} = GuardFor(testenv.Config(t, nil))
	if res := g.Check(t.Context()); !res.OK || res.Err != nil || res.Latency != 0 {
		t.Fatalf("nil guard Check = %+v, want OK and nothing measured", res)
	}
}
