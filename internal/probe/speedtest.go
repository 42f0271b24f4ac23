// This file holds everything that touches speedtest-go: the process's one
// speedtest client, built at initialisation with http.DefaultClient put back
// afterwards, and the latency measurement against LATENCY_SERVER, whose
// answers are judged by a transport of ours.

package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/showwin/speedtest-go/speedtest"
)

// LatencyPings is how many latency samples the guard takes after the one
// warm-up request; the speedtest-go default (10 samples 200 ms apart) does
// not fit in LATENCY_TIMEOUT.
const LatencyPings = 3

// latencyPingGap is the pause speedtest-go makes after each request.
const latencyPingGap = 10 * time.Millisecond

// latencyBody is how a speedtest server's latency.txt begins.
const latencyBody = "test=test"

// speedtestClient is the one speedtest-go client of the process; its
// requests go through pingClient. speedtest-go sets
// http.DefaultClient.Transport to a client of its own when it is
// initialised and again in every speedtest.New (which starts from
// http.DefaultClient before applying options). So New is called once, here,
// while the program initialises (after speedtest-go's own initialisation,
// before main and before any request), and http.DefaultClient.Transport,
// when it is still the library's, is then put back to nil, the standard
// library's default. No other package sees the library's change.
var (
	pingClient      = &http.Client{Transport: &judgingTransport{base: guardTransport()}}
	speedtestClient = newSpeedtestClient()
)

func newSpeedtestClient() *speedtest.Speedtest {
	// WithDoer must be the last option: WithUserConfig would point the
	// doer's transport back at the library's own.
	c := speedtest.New(speedtest.WithDoer(pingClient))
	if _, ours := http.DefaultClient.Transport.(*speedtest.Speedtest); ours {
		http.DefaultClient.Transport = nil
	}
	return c
}

// latencyServer is LATENCY_SERVER as the guard measures it.
type latencyServer struct {
	url    string            // its latency.txt, or ServerURL as given when unusable
	server *speedtest.Server // nil when unusable
	err    error             // why ServerURL is unusable
}

func newLatencyServer(raw string) *latencyServer {
	s := &latencyServer{url: raw}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		s.err = fmt.Errorf("invalid URL: %w", err)
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		s.err = errors.New("invalid URL (want one like http://host:8080/speedtest/upload.php)")
	default:
		// CustomServer builds the server from the URL alone; with it the
		// library never asks for the public server list.
		s.server, s.err = speedtestClient.CustomServer(raw)
	}
	if s.server != nil {
		s.url = s.server.URL[:len(s.server.URL)-len("upload.php")] + "latency.txt"
	}
	return s
}

// ping measures the latency to the speedtest server: the mean of the
// samples after the warm-up. speedtest-go neither checks the answers to its
// latency requests nor fails a run in which only the warm-up answered, so
// judgingTransport judges each answer and reports to the recorder the
// request context carries.
func (s *latencyServer) ping(ctx context.Context, timeout limit) (time.Duration, error) {
	if s.err != nil {
		return 0, s.err
	}
	rec := &pingRecorder{}
	samples, err := s.server.HTTPPing(context.WithValue(ctx, pingRecorderKey{}, rec), LatencyPings, latencyPingGap, nil)
	bad, lost := rec.result()
	switch {
	case bad != nil:
		return 0, bad
	case len(samples) > 0:
		var sum int64
		for _, v := range samples {
			sum += v
		}
		if mean := time.Duration(sum / int64(len(samples))); mean > 0 {
			return mean, nil
		}
		return 0, errors.New("no latency measured")
	case ctx.Err() != nil:
		return 0, describe(ctx, ctx.Err(), timeout)
	case lost != nil && err != nil:
		// err is the library's "server connect timeout" for every kind of
		// failure; the transport says what happened.
		return 0, describe(ctx, lost, timeout)
	case lost != nil:
		return 0, fmt.Errorf("no latency sample beyond the warm-up: %w", describe(ctx, lost, timeout))
	case err != nil:
		return 0, err
	default:
		return 0, errors.New("no latency sample beyond the warm-up")
	}
}

// pingRecorderKey carries a *pingRecorder in a request context.
type pingRecorderKey struct{}

// pingRecorder collects what the speedtest server answered during one ping.
type pingRecorder struct {
	mu   sync.Mutex
	bad  error // first answer that was not a healthy latency.txt
	lost error // first request that got no answer
}

func (r *pingRecorder) record(to *error, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if *to == nil {
		*to = err
	}
}

func (r *pingRecorder) result() (bad, lost error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad, r.lost
}

// judgingTransport sends speedtest-go's requests and judges every answer,
// reading its small body at once: a status other than 2xx or a body not
// starting with test=test (a captive portal, a proxy page) is a bad answer,
// which the recorder in the request's context keeps and speedtest-go sees
// as a failed request, so it takes no sample from it.
type judgingTransport struct {
	base http.RoundTripper
}

func (t *judgingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec, _ := req.Context().Value(pingRecorderKey{}).(*pingRecorder)
	if rec == nil {
		rec = &pingRecorder{}
	}
	// speedtest-go reuses one request for every sample: change a copy.
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", userAgent)
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		rec.record(&rec.lost, err)
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		err = fmt.Errorf("status %d", resp.StatusCode)
	case err != nil:
		// A partial answer is no answer.
		err = fmt.Errorf("read body: %w", err)
	case !bytes.HasPrefix(body, []byte(latencyBody)):
		err = fmt.Errorf("status %d but the body is not a speedtest latency.txt (starts %q)", resp.StatusCode, body[:min(len(body), len(latencyBody))])
	}
	if err != nil {
		rec.record(&rec.bad, err)
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
