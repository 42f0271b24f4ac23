// This file holds the local-network guard: the speedtest server and the
// witness asked at the same time, within one timeout, and their verdict.

package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"extcloud-failover/internal/config"
)

// DefaultGuardTimeout bounds one guard check when GuardOptions.Timeout is
// zero.
const DefaultGuardTimeout = 3 * time.Second

// GuardResult is one local-network measurement.
type GuardResult struct {
	// OK is true when our own network reached something.
	OK bool
	// Latency is the measured round trip, when one was measured.
	Latency time.Duration
	// Err says why the guard failed.
	Err error
}

// GuardOptions configures NewGuard.
type GuardOptions struct {
	// ServerURL is LATENCY_SERVER, a speedtest server such as
	// http://host:8080/speedtest/upload.php. Only its scheme and host are
	// used: the guard fetches <scheme>://<host>/speedtest/latency.txt.
	ServerURL string
	// WitnessURL is WITNESS_URL, a neutral URL that should always answer.
	WitnessURL string
	// Timeout is LATENCY_TIMEOUT, bounding one Check; default 3s.
	Timeout time.Duration
}

// Guard tells a failure of our own network from an outage of the cloud: it
// measures the latency to a speedtest server and asks a witness URL, at the
// same time, within one timeout. Our network works when either answers: the
// speedtest server with a 2xx latency.txt reading test=test and at least
// one sample after the warm-up, the witness with any status below 500
// (redirects are not followed). The reported Latency is the mean of the
// samples to the speedtest server: zero when only the witness answered.
//
// A guard with neither URL configured, and a nil *Guard, cannot tell and
// report OK, so probe failures count as outages; the decision layer still
// has the differential verdict of the other regions. It is safe for
// concurrent use.
type Guard struct {
	speedtest  *latencyServer // nil when no ServerURL
	witnessURL string
	witness    *http.Client
	timeout    time.Duration
}

// GuardFor returns the local-network guard cfg asks for, or nil when
// LATENCY_CHECK is off or neither LATENCY_SERVER nor WITNESS_URL is set.
func GuardFor(cfg *config.Config) *Guard {
	if cfg.LatencyCheck == config.LatencyOff || (cfg.LatencyServer == "" && cfg.WitnessURL == "") {
		return nil
	}
	return NewGuard(GuardOptions{ServerURL: cfg.LatencyServer, WitnessURL: cfg.WitnessURL, Timeout: cfg.LatencyTimeout})
}

// NewGuard returns a guard for o. It never fetches the public server list:
// the speedtest server is o.ServerURL alone.
func NewGuard(o GuardOptions) *Guard {
	g := &Guard{witnessURL: o.WitnessURL, timeout: o.Timeout}
	if g.timeout <= 0 {
		g.timeout = DefaultGuardTimeout
	}
	if o.ServerURL != "" {
		g.speedtest = newLatencyServer(o.ServerURL)
	}
	g.witness = &http.Client{
		Transport: guardTransport(),
		// Any answer is proof enough that our network works.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return g
}

// guardTransport is a transport of the guard's own: keep-alives stay on, so
// the speedtest warm-up really warms the connection the samples use.
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

// Check measures our own network within the guard's timeout and ctx.
func (g *Guard) Check(ctx context.Context) GuardResult {
	if g == nil || g.speedtest == nil && g.witnessURL == "" {
		return GuardResult{OK: true}
	}
	lim := limitOf(ctx, g.timeout)
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()

	var (
		wg                  sync.WaitGroup
		latency             time.Duration
		pingErr, witnessErr error
	)
	if g.speedtest != nil {
		wg.Go(func() {
			latency, pingErr = g.speedtest.ping(ctx, lim)
			if pingErr == nil {
				wcancel() // the witness adds nothing now
			}
		})
	}
	if g.witnessURL != "" {
		wg.Go(func() { witnessErr = g.askWitness(wctx, lim) })
	}
	wg.Wait()

	switch {
	case g.speedtest != nil && pingErr == nil:
		return GuardResult{OK: true, Latency: latency}
	case g.witnessURL != "" && witnessErr == nil:
		return GuardResult{OK: true}
	case g.speedtest != nil && g.witnessURL != "":
		return GuardResult{Err: fmt.Errorf("latency guard: speedtest %s: %w; witness %s: %w", g.speedtest.url, pingErr, g.witnessURL, witnessErr)}
	case g.speedtest != nil:
		return GuardResult{Err: fmt.Errorf("latency guard: speedtest %s: %w", g.speedtest.url, pingErr)}
	default:
		return GuardResult{Err: fmt.Errorf("latency guard: witness %s: %w", g.witnessURL, witnessErr)}
	}
}

// askWitness sends one GET to the witness: any status below 500 is an
// answer.
func (g *Guard) askWitness(ctx context.Context, lim limit) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.witnessURL, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := g.witness.Do(req)
	if err != nil {
		return describe(ctx, withoutURL(err), lim)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode >= 500 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// withoutURL drops url.Error's copy of the URL: the guard's message already
// names it.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
