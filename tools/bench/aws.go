package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"extcloud-failover/internal/state/dynamo"
	"extcloud-failover/internal/testenv/dynalite"
	"extcloud-failover/internal/testenv/localssm"
)

const benchTable = "bench-state"

// startDynalite starts the pinned dynalite (tools/dynalite) on a free port,
// creates the state table and returns its endpoint.
func (b *bench) startDynalite(ctx context.Context) (string, error) {
	inst, err := dynalite.Start(b.root)
	if err != nil {
		return "", err
	}
	b.cleanup = append(b.cleanup, inst.Stop)
	if err := dynamo.CreateTable(ctx, dynalite.Client(inst.Endpoint), benchTable); err != nil {
		return "", fmt.Errorf("create table: %w", err)
	}
	return inst.Endpoint, nil
}

// opCounter counts AWS API calls by operation (X-Amz-Target suffix) and
// new TCP connections.
type opCounter struct {
	mu    sync.Mutex
	ops   map[string]int
	conns atomic.Int64
}

func newOpCounter() *opCounter { return &opCounter{ops: map[string]int{}} }

func (c *opCounter) count(target string) {
	_, op, _ := strings.Cut(target, ".")
	c.mu.Lock()
	c.ops[op]++
	c.mu.Unlock()
}

func (c *opCounter) get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ops[op]
}

func (c *opCounter) reset() {
	c.mu.Lock()
	clear(c.ops)
	c.mu.Unlock()
	c.conns.Store(0)
}

// countingProxy forwards to endpoint and counts what the real binaries send.
func (b *bench) countingProxy(endpoint string) (string, *opCounter, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", nil, err
	}
	c := newOpCounter()
	rp := httputil.NewSingleHostReverseProxy(u)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.count(r.Header.Get("X-Amz-Target"))
			rp.ServeHTTP(w, r)
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				c.conns.Add(1)
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	b.cleanup = append(b.cleanup, func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), c, nil
}

// simulatedFleet starts the local SSM endpoint (internal/testenv/localssm)
// with n instances tagged ExtCloudFailover=app whose push takes restart(id)
// (a simulated host: 1,000 shells per figure would measure the machine, not
// the pusher). A host whose restart outlasts the command's executionTimeout
// is killed, as SSM kills it.
func (b *bench) simulatedFleet(n int, restart func(id string) time.Duration) (*localssm.Server, []string, error) {
	insts := make(map[string]localssm.Instance, n)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("i-%017x", i)
		insts[ids[i]] = localssm.Instance{Tags: map[string]string{"ExtCloudFailover": "app"}}
	}
	srv, err := localssm.Start(localssm.Options{Instances: insts, Parallel: n, Simulate: func(ctx context.Context, id string) (int, string) {
		d := time.Duration(0)
		if restart != nil {
			d = restart(id)
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return 0, "applied: generation restarted in " + d.String()
		case <-ctx.Done():
			return -1, ""
		}
	}})
	if err != nil {
		return nil, nil, err
	}
	b.cleanup = append(b.cleanup, srv.Close)
	return srv, ids, nil
}
