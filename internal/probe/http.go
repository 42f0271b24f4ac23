// This file holds the HTTP prober: one GET to a region's cloudlookup URL,
// judged by status and PROBE_EXPECT, with the phases of the request timed.

package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"time"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/ident"
)

// MaxBody is the most a probe reads of a response body.
const MaxBody = 64 << 10

// userAgent names us to the cloudlookup endpoint, the speedtest server and
// the witness.
const userAgent = "extcloud-failover"

// Timings are the phases of one probe, from net/http/httptrace. A phase that
// did not happen (a reused connection, plain HTTP) is zero.
type Timings struct {
	DNS       time.Duration
	Connect   time.Duration
	TLS       time.Duration
	FirstByte time.Duration
}

// Result is the outcome of one cloudlookup request.
type Result struct {
	Region   string
	Healthy  bool
	Status   int           // HTTP status, 0 when no response arrived
	Duration time.Duration // whole request, headers and capped body
	Timings  Timings
	Err      error // why the probe failed; nil when healthy
}

// Prober probes regions with one HTTP GET to the configured cloudlookup URL,
// through an HTTP client and transport of its own.
type Prober struct {
	client  *http.Client
	urlFor  func(config.Region) string
	headers []config.Header
	expect  []byte
	timeout time.Duration
	now     func() time.Time
}

// New builds the prober of the active region: CLOUDLOOKUP_URL, which may
// name a local tunnel rather than the region's cloud. TLS is verified unless
// PROBE_INSECURE_SKIP_VERIFY was set, which config allows for loopback
// probe hosts only. PROBE_HEADERS go with every request.
func New(cfg *config.Config) *Prober {
	return newProber(cfg, cfg.ProbeURL, cfg.ProbeInsecureSkipVerify)
}

// NewPreflight builds the prober of failover candidates: PREFLIGHT_URL, the
// candidate's cloud directly, with PROBE_HEADERS. TLS is verified unless
// PROBE_INSECURE_SKIP_VERIFY was set and every pre-flight host is loopback
// too: skipping verification for the local tunnel never reaches a real
// cloud.
func NewPreflight(cfg *config.Config) *Prober {
	insecure := cfg.ProbeInsecureSkipVerify
	for _, r := range cfg.Regions {
		if u, err := url.Parse(cfg.PreflightProbeURL(r)); err != nil || !ident.IsLoopback(u.Hostname()) {
			insecure = false
		}
	}
	return newProber(cfg, cfg.PreflightProbeURL, insecure)
}

func newProber(cfg *config.Config, urlFor func(config.Region) string, insecure bool) *Prober {
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: cfg.ProbeTimeout}).DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}, //nolint:gosec // loopback only, enforced by config and NewPreflight
		TLSHandshakeTimeout:    cfg.ProbeTimeout,
		ResponseHeaderTimeout:  cfg.ProbeTimeout,
		MaxResponseHeaderBytes: 64 << 10,
		DisableKeepAlives:      true,
		ForceAttemptHTTP2:      true,
	}
	return &Prober{
		client: &http.Client{
			Transport: tr,
			// Redirects are not followed: a cloudlookup that redirects is not
			// answering, and following could leave the region's host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		urlFor:  urlFor,
		headers: cfg.ProbeHeaders,
		expect:  []byte(cfg.ProbeExpect),
		timeout: cfg.ProbeTimeout,
	}
}

// Probe sends one GET to r's cloudlookup URL within PROBE_TIMEOUT (and ctx).
// Healthy means a 2xx status and, when PROBE_EXPECT is set, that the first
// MaxBody bytes of the body contain it.
func (p *Prober) Probe(ctx context.Context, r config.Region) Result {
	now := p.now
	if now == nil {
		now = time.Now
	}
	res := Result{Region: r.Name}
	lim := limitOf(ctx, p.timeout)
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	var t phaseTimer
	start := now()
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, t.trace(now)), http.MethodGet, p.urlFor(r), nil)
	if err != nil {
		res.Err = fmt.Errorf("build request: %w", err)
		return res
	}
	req.Header.Set("User-Agent", userAgent)
	for _, h := range p.headers {
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		res.Err = describe(ctx, err, lim)
	} else {
		defer resp.Body.Close()
		res.Status = resp.StatusCode
		res.Err = p.judge(ctx, resp, lim)
		res.Healthy = res.Err == nil
	}
	res.Duration = now().Sub(start)
	res.Timings = t.timings()
	return res
}

// judge decides whether a response is healthy, reading at most MaxBody.
func (p *Prober) judge(ctx context.Context, resp *http.Response, lim limit) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
			return fmt.Errorf("status %d (redirect not followed)", resp.StatusCode)
		}
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if len(p.expect) == 0 {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if !bytes.Contains(body, p.expect) {
		if err != nil {
			return fmt.Errorf("read body: %w", describe(ctx, err, lim))
		}
		return fmt.Errorf("status %d but body lacks PROBE_EXPECT in its first %d bytes", resp.StatusCode, MaxBody)
	}
	return nil
}

// phaseTimer records httptrace events. The transport may call its hooks
// from a dialing goroutine that outlives a cancelled request, hence the lock.
type phaseTimer struct {
	mu                                                                          sync.Mutex
	dnsStart, dnsDone, connStart, connDone, tlsStart, tlsDone, start, firstByte time.Time
}

func (t *phaseTimer) trace(now func() time.Time) *httptrace.ClientTrace {
	t.start = now()
	mark := func(at *time.Time) {
		t.mu.Lock()
		if at.IsZero() {
			*at = now()
		}
		t.mu.Unlock()
	}
	return &httptrace.ClientTrace{
		DNSStart:             func(httptrace.DNSStartInfo) { mark(&t.dnsStart) },
		DNSDone:              func(httptrace.DNSDoneInfo) { mark(&t.dnsDone) },
		ConnectStart:         func(string, string) { mark(&t.connStart) },
		ConnectDone:          func(string, string, error) { mark(&t.connDone) },
		TLSHandshakeStart:    func() { mark(&t.tlsStart) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { mark(&t.tlsDone) },
		GotFirstResponseByte: func() { mark(&t.firstByte) },
	}
}

func span(a, b time.Time) time.Duration {
	if a.IsZero() || b.IsZero() {
		return 0
	}
	return b.Sub(a)
}

func (t *phaseTimer) timings() Timings {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Timings{
		DNS:       span(t.dnsStart, t.dnsDone),
		Connect:   span(t.connStart, t.connDone),
		TLS:       span(t.tlsStart, t.tlsDone),
		FirstByte: span(t.start, t.firstByte),
	}
}
