package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/showwin/speedtest-go/speedtest"

	"extcloud-failover/internal/config"
)

// DefaultLatencyTimeout bounds one guard check when LatencyOptions.Timeout
// is zero.
const DefaultLatencyTimeout = 3 * time.Second

// LatencyPings is how many latency samples the guard takes after the one
// warm-up request; the speedtest-go default (10 samples 200 ms apart) does
// not fit in LATENCY_TIMEOUT.
const LatencyPings = 3

// latencyPingGap is the pause speedtest-go makes after each request.
const latencyPingGap = 10 * time.Millisecond

// latencyBody is how a speedtest server's latency.txt begins.
const latencyBody = "test=test"

// guardUserAgent names us to the speedtest server and the witness.
const guardUserAgent = "extcloud-failover"

// LatencyOptions configures NewLatencyGuard.
type LatencyOptions struct {
	// ServerURL is LATENCY_SERVER, a speedtest server such as
	// http://host:8080/speedtest/upload.php. Only its scheme and host are
	// used: the guard fetches <scheme>://<host>/speedtest/latency.txt.
	ServerURL string
	// WitnessURL is WITNESS_URL, a neutral URL that should always answer.
	WitnessURL string
	// Timeout is LATENCY_TIMEOUT, bounding one Check; default 3s.
	Timeout time.Duration
	// HTTPClient sends the witness request; nil means a client of the
	// guard's own. http.DefaultClient is never used, even when passed.
	HTTPClient *http.Client
}

// LatencyGuard tells a failure of our own network from an outage of the
// cloud: it measures the latency to a speedtest server and asks a witness
// URL, at the same time, within one timeout. Our network works when either
// answers: the speedtest server with a 2xx latency.txt reading test=test and
// at least one sample after the warm-up, the witness with any status below
// 500 (redirects are not followed). The reported Latency is the mean of the
// samples to the speedtest server: zero when only the witness answered.
//
// A guard with neither URL configured cannot tell and reports OK, so probe
// failures count as outages; the decision layer still has the differential
// verdict of the other regions. It is safe for concurrent use.
type LatencyGuard struct {
	server     *speedtest.Server // nil when no ServerURL or it is invalid
	serverErr  error             // why ServerURL is unusable
	latencyURL string
	witnessURL string
	witness    *http.Client
	timeout    time.Duration
}

// GuardFor returns the local-network guard cfg asks for, or nil when
// LATENCY_CHECK is off or neither LATENCY_SERVER nor WITNESS_URL is set.
func GuardFor(cfg *config.Config) Guard {
	if cfg.LatencyCheck == config.LatencyOff || (cfg.LatencyServer == "" && cfg.WitnessURL == "") {
		return nil
	}
	return NewLatencyGuard(LatencyOptions{ServerURL: cfg.LatencyServer, WitnessURL: cfg.WitnessURL, Timeout: cfg.LatencyTimeout})
}

// NewLatencyGuard returns a guard for o. It never fetches the public server
// list: the speedtest server is o.ServerURL alone.
func NewLatencyGuard(o LatencyOptions) *LatencyGuard {
	g := &LatencyGuard{witnessURL: o.WitnessURL, timeout: o.Timeout}
	if g.timeout <= 0 {
		g.timeout = DefaultLatencyTimeout
	}
	if o.ServerURL != "" {
		g.latencyURL = o.ServerURL
		g.server, g.serverErr = latencyServer(o.ServerURL)
		if g.server != nil {
			g.latencyURL = g.server.URL[:len(g.server.URL)-len("upload.php")] + "latency.txt"
		}
	}
	g.witness = o.HTTPClient
	if g.witness == nil || g.witness == http.DefaultClient {
		g.witness = &http.Client{
			Transport: guardTransport(),
			// Any answer is proof enough that our network works.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return g
}

func latencyServer(raw string) (*speedtest.Server, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("invalid URL (want one like http://host:8080/speedtest/upload.php)")
	}
	// CustomServer builds the server from the URL alone; with it the
	// library never asks for the public server list.
	return speedtestClient().CustomServer(raw)
}

// guardTransport is a transport of our own: keep-alives stay on, so the
// warm-up request really warms the connection the samples use.
func guardTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
		ExpectContinueTimeout: time.Second,
	}
}

// speedtestClient is the one speedtest-go client of the process, and
// pingClient its HTTP client. There is one because speedtest.New assigns
// http.DefaultClient.Transport every time it is called (it starts from
// http.DefaultClient before applying options); calling it once keeps that
// global write out of concurrent code. WithDoer replaces that client with
// ours, whose transport checks every answer (see recordingTransport); it
// must come after any WithUserConfig, which would point the doer's
// transport back at the library's own. The ping mode of the user config is
// irrelevant: the guard calls HTTPPing itself.
var (
	pingClient      = &http.Client{Transport: &recordingTransport{base: guardTransport()}}
	speedtestClient = sync.OnceValue(func() *speedtest.Speedtest {
		return speedtest.New(speedtest.WithDoer(pingClient))
	})
)

// Check measures our own network within the guard's timeout and ctx.
func (g *LatencyGuard) Check(ctx context.Context) GuardResult {
	if g.server == nil && g.serverErr == nil && g.witnessURL == "" {
		return GuardResult{OK: true}
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()

	var (
		wg         sync.WaitGroup
		latency    time.Duration
		pingErr    = g.serverErr
		witnessErr error
	)
	if g.server != nil {
		wg.Go(func() {
			latency, pingErr = g.ping(ctx)
			if pingErr == nil {
				wcancel() // the witness adds nothing now
			}
		})
	}
	if g.witnessURL != "" {
		wg.Go(func() { witnessErr = g.askWitness(wctx) })
	}
	wg.Wait()

	hasServer := g.server != nil || g.serverErr != nil
	switch {
	case hasServer && pingErr == nil:
		return GuardResult{OK: true, Latency: latency}
	case g.witnessURL != "" && witnessErr == nil:
		return GuardResult{OK: true}
	case hasServer && g.witnessURL != "":
		return GuardResult{Err: fmt.Errorf("latency guard: speedtest %s: %w; witness %s: %w", g.latencyURL, pingErr, g.witnessURL, witnessErr)}
	case hasServer:
		return GuardResult{Err: fmt.Errorf("latency guard: speedtest %s: %w", g.latencyURL, pingErr)}
	default:
		return GuardResult{Err: fmt.Errorf("latency guard: witness %s: %w", g.witnessURL, witnessErr)}
	}
}

// ping measures the latency to the speedtest server. speedtest-go neither
// checks the status of its latency requests nor fails a run in which only
// the warm-up answered, so the answers are judged here through the
// recorder the request context carries.
func (g *LatencyGuard) ping(ctx context.Context) (time.Duration, error) {
	rec := &pingRecorder{}
	samples, err := g.server.HTTPPing(context.WithValue(ctx, pingRecorderKey{}, rec), LatencyPings, latencyPingGap, nil)
	bad, transportErr := rec.result()
	switch {
	case bad != nil:
		return 0, bad
	case len(samples) > 0:
		var sum int64
		for _, s := range samples {
			sum += s
		}
		if mean := time.Duration(sum / int64(len(samples))); mean > 0 {
			return mean, nil
		}
		return 0, errors.New("no latency measured")
	case ctx.Err() != nil:
		return 0, guardReason(ctx, g.timeout, ctx.Err())
	case err != nil && transportErr != nil:
		// err is the library's "server connect timeout" for every kind of
		// failure; the transport says what happened.
		return 0, guardReason(ctx, g.timeout, transportErr)
	case err != nil:
		return 0, err
	case transportErr != nil:
		return 0, fmt.Errorf("no latency sample beyond the warm-up: %w", guardReason(ctx, g.timeout, transportErr))
	default:
		return 0, errors.New("no latency sample beyond the warm-up")
	}
}

// askWitness sends one GET to the witness: any status below 500 is an
// answer.
func (g *LatencyGuard) askWitness(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.witnessURL, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", guardUserAgent)
	resp, err := g.witness.Do(req)
	if err != nil {
		return guardReason(ctx, g.timeout, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode >= 500 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// guardReason names a timeout or a dropped connection as one. The URL is
// already in the guard's message, so url.Error's copy of it is dropped.
func guardReason(ctx context.Context, timeout time.Duration, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return fmt.Errorf("timeout after %s: %w", timeout, err)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("connection closed without an answer: %w", err)
	}
	return err
}

// pingRecorderKey carries a *pingRecorder in a request context.
type pingRecorderKey struct{}

// pingRecorder collects what the speedtest server answered during one ping.
type pingRecorder struct {
	mu        sync.Mutex
	bad       error // first answer that was not a healthy latency.txt
	transport error // first request that got no answer
}

func (r *pingRecorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bad == nil {
		r.bad = err
	}
}

func (r *pingRecorder) lost(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.transport == nil {
		r.transport = err
	}
}

func (r *pingRecorder) result() (bad, transport error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad, r.transport
}

// recordingTransport sends speedtest-go's requests and reports every answer
// to the recorder in the request's context: a status other than 2xx or a
// body not starting with test=test (a captive portal, a proxy page) is a
// failure.
type recordingTransport struct {
	base http.RoundTripper
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec, _ := req.Context().Value(pingRecorderKey{}).(*pingRecorder)
	// speedtest-go reuses one request for every sample: change a copy.
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", guardUserAgent)
	resp, err := t.base.RoundTrip(req)
	if rec == nil {
		return resp, err
	}
	if err != nil {
		rec.lost(err)
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		rec.fail(fmt.Errorf("status %d", resp.StatusCode))
		return resp, nil
	}
	resp.Body = &checkedBody{ReadCloser: resp.Body, rec: rec, status: resp.StatusCode}
	return resp, nil
}

// checkedBody keeps the first bytes of a latency.txt body and judges them
// when the body is closed.
type checkedBody struct {
	io.ReadCloser
	rec    *pingRecorder
	status int
	head   []byte
	err    error
}

func (b *checkedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if room := len(latencyBody) - len(b.head); room > 0 {
		b.head = append(b.head, p[:min(n, room)]...)
	}
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

func (b *checkedBody) Close() error {
	switch {
	case b.err != nil:
		// A partial answer is no answer, even if speedtest-go timed it.
		b.rec.fail(fmt.Errorf("read body: %w", b.err))
	case !bytes.Equal(b.head, []byte(latencyBody)):
		b.rec.fail(fmt.Errorf("status %d but the body is not a speedtest latency.txt (starts %q)", b.status, b.head))
	}
	return b.ReadCloser.Close()
}
