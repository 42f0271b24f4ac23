package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/testenv"
)

// timeoutIn reads the duration of "timeout after D" in msg.
func timeoutIn(t *testing.T, msg string) time.Duration {
	t.Helper()
	m := regexp.MustCompile(`timeout after (\d\S*?)[ :]`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("no timeout in %q", msg)
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatalf("timeout %q in %q: %v", m[1], msg, err)
	}
	return d
}

// TestTimeoutNamesTheLimitThatStruck: a probe cut short by the check's
// deadline, before PROBE_TIMEOUT, says how long it really had; "timeout
// after 5s" for a request that had 300ms sends the on-call looking for a
// slow region. The guard's witness likewise, before LATENCY_TIMEOUT.
func TestTimeoutNamesTheLimitThatStruck(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	const budget = 300 * time.Millisecond

	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	res := New(testenv.Config(t, map[string]string{"PROBE_TIMEOUT": "5s"})).Probe(ctx, config.Region{Name: "NAM", Cloud: testenv.HostOf(srv)})
	if res.Err == nil {
		t.Fatal("a server that never answers was healthy")
	}
	if d := timeoutIn(t, res.Err.Error()); d > budget || !strings.Contains(res.Err.Error(), "the check's deadline") {
		t.Errorf("probe error %q: want at most %v, named as the check's deadline", res.Err, budget)
	}

	wctx, wcancel := context.WithTimeout(context.Background(), budget)
	defer wcancel()
	g := NewGuard(GuardOptions{WitnessURL: srv.URL, Timeout: time.Minute})
	gr := g.Check(wctx)
	if gr.OK || gr.Err == nil {
		t.Fatal("a witness that never answers was OK")
	}
	if d := timeoutIn(t, gr.Err.Error()); d > budget {
		t.Errorf("guard error %q: want at most %v", gr.Err, budget)
	}

	// PROBE_TIMEOUT first: it is named as it is.
	res = New(testenv.Config(t, map[string]string{"PROBE_TIMEOUT": "200ms"})).Probe(context.Background(), config.Region{Name: "NAM", Cloud: testenv.HostOf(srv)})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "timeout after 200ms: ") {
		t.Errorf("probe error %v, want timeout after 200ms", res.Err)
	}
}
