package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"extcloud-failover/internal/state/dynamo"
	"extcloud-failover/internal/testenv/dynalite"
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

// ssmEndpoint is a minimal SSM endpoint (AWS JSON 1.1) that counts calls:
// every command succeeds at once on its instances (the given IDs, or
// tagged instances for a tag target), and ListCommandInvocations pages
// them as SSM does (MaxResults, NextToken).
type ssmEndpoint struct {
	url    string
	calls  *opCounter
	tagged int // instances a tag target matches

	mu   sync.Mutex
	cmds map[string][]string
	seq  int
}

func (b *bench) startSSM(tagged int) (*ssmEndpoint, error) {
	s := &ssmEndpoint{calls: newOpCounter(), tagged: tagged, cmds: map[string][]string{}}
	addr, stop, err := serve(http.HandlerFunc(s.serve))
	if err != nil {
		return nil, err
	}
	b.cleanup = append(b.cleanup, stop)
	s.url = "http://" + addr
	return s, nil
}

func (s *ssmEndpoint) setTagged(n int) {
	s.mu.Lock()
	s.tagged = n
	s.mu.Unlock()
}

func (s *ssmEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	s.calls.count(target)
	var in struct {
		InstanceIds []string
		Targets     []struct{ Key string }
		CommandId   string
		MaxResults  int
		NextToken   string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var out any
	switch target {
	case "AmazonSSM.SendCommand":
		s.mu.Lock()
		s.seq++
		id := fmt.Sprintf("cmd-%d", s.seq)
		ids := in.InstanceIds
		if len(in.Targets) > 0 {
			ids = make([]string, s.tagged)
			for i := range ids {
				ids[i] = fmt.Sprintf("i-%017x", i)
			}
		}
		s.cmds[id] = ids
		s.mu.Unlock()
		out = map[string]any{"Command": map[string]any{"CommandId": id, "Status": "Pending"}}
	case "AmazonSSM.ListCommandInvocations":
		s.mu.Lock()
		ids := s.cmds[in.CommandId]
		s.mu.Unlock()
		offset, _ := strconv.Atoi(in.NextToken)
		size := in.MaxResults
		if size <= 0 || size > 50 {
			size = 50
		}
		end := min(offset+size, len(ids))
		invs := []any{}
		for _, id := range ids[min(offset, end):end] {
			invs = append(invs, map[string]any{"CommandId": in.CommandId, "InstanceId": id, "Status": "Success", "StatusDetails": "Success"})
		}
		m := map[string]any{"CommandInvocations": invs}
		if end < len(ids) {
			m["NextToken"] = strconv.Itoa(end)
		}
		out = m
	default:
		w.Header().Set("X-Amzn-ErrorType", "UnknownOperationException")
		http.Error(w, `{"__type":"UnknownOperationException"}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}
