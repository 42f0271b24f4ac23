package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/ident"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/remote/ssmpush"
	"extcloud-failover/internal/testenv/localssm"
)

// raiseFileLimit lifts the soft open-file limit to the hard one: the fan-out
// holds a listener and two connection ends per simulated host.
func raiseFileLimit() error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	l.Cur = l.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
}

// slowSupervisord answers the XML-RPC calls the Supervisor pusher makes,
// each after delay: getState (RUNNING), stopProcess and startProcess (true),
// getProcessInfo (app RUNNING).
type slowSupervisord struct {
	delay time.Duration
	calls atomic.Int64
}

var methodName = between("<methodName>supervisor.", "</methodName>")

func (s *slowSupervisord) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	body, _ := io.ReadAll(r.Body)
	t := time.NewTimer(s.delay) // the simulated latency of a remote supervisord
	select {
	case <-t.C:
	case <-r.Context().Done():
		t.Stop()
		return
	}
	var value string
	switch methodName(body) {
	case "getState":
		value = `<struct><member><name>statecode</name><value><int>1</int></value></member><member><name>statename</name><value><string>RUNNING</string></value></member></struct>`
	case "stopProcess", "startProcess":
		value = `<boolean>1</boolean>`
	case "getProcessInfo":
		now := strconv.FormatInt(time.Now().Unix()+1, 10)
		value = `<struct><member><name>name</name><value><string>app</string></value></member><member><name>group</name><value><string>app</string></value></member>` +
			`<member><name>start</name><value><int>` + now + `</int></value></member><member><name>now</name><value><int>` + now + `</int></value></member>` +
			`<member><name>statename</name><value><string>RUNNING</string></value></member></struct>`
	default:
		http.Error(w, "unexpected call "+string(body), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = io.WriteString(w, `<?xml version="1.0"?><methodResponse><params><param><value>`+value+`</value></param></params></methodResponse>`)
}

// between returns a function extracting the text between open and close.
func between(open, close string) func([]byte) string {
	return func(b []byte) string {
		_, rest, ok := bytes.Cut(b, []byte(open))
		if !ok {
			return ""
		}
		v, _, _ := bytes.Cut(rest, []byte(close))
		return string(v)
	}
}

// fanOut restarts one program on b.o.hosts simulated supervisords, each
// answering every call after 50 ms, at several concurrencies, against the
// ideal ceil(hosts/concurrency) × calls-per-host × 50 ms.
func (b *bench) fanOut(ctx context.Context) error {
	const delay = 50 * time.Millisecond
	sv := &slowSupervisord{delay: delay}
	urls := make([]string, b.o.hosts)
	for i := range urls {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("listener %d: %w", i, err)
		}
		srv := &http.Server{Handler: sv, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		b.cleanup = append(b.cleanup, func() { _ = srv.Close() })
		urls[i] = "http://" + ln.Addr().String() + "/RPC2"
	}
	dir := filepath.Join(b.tmp, "fanout")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	def, err := defaultPushConcurrency()
	if err != nil {
		return err
	}
	for gen, conc := range []int{def, 64, 256} {
		p, err := remote.NewSupervisor(remote.SupervisorConfig{URLs: urls, Programs: []string{"app"},
			EnvFile: filepath.Join(dir, "ext_cloud.env"), Concurrency: conc})
		if err != nil {
			return err
		}
		sv.calls.Store(0)
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		res, err := p.Push(pctx, remote.Target{Region: "EU", Cloud: "eu.example.net", Generation: int64(gen + 1)}, nil)
		cancel()
		took := time.Since(start)
		if err != nil {
			return err
		}
		if len(res.Converged) != b.o.hosts || len(res.Failed) != 0 {
			return fmt.Errorf("concurrency %d: %d converged, %d failed (first: %v)", conc, len(res.Converged), len(res.Failed), firstErr(res.Failed))
		}
		perHost := int(sv.calls.Load()) / b.o.hosts
		b.figs[fmt.Sprintf("fanout.%d", conc)] = took.Seconds()
		b.figs["fanout.perhost"] = float64(perHost)
		if conc == def {
			b.figs["fanout.default"] = took.Seconds()
		}
		waves := (b.o.hosts + conc - 1) / conc
		ideal := time.Duration(waves*perHost) * delay
		b.report.add(row{section: "Fan-out",
			figure: fmt.Sprintf("restart on %d simulated supervisords (50 ms per XML-RPC call, %d calls per host: getState, stopProcess, startProcess, getProcessInfo), concurrency %d", b.o.hosts, perHost, conc),
			ours:   ms(took), baseline: fmt.Sprintf("ideal ⌈%d/%d⌉ × %d × 50 ms = %s", b.o.hosts, conc, perHost, ms(ideal)),
			ratio: ratio(float64(took), float64(ideal)), goal: "≤ 1.30×", met: float64(took) <= 1.3*float64(ideal),
			command: "make bench (fanOut)"})
	}
	b.report.note("Fan-out", fmt.Sprintf("Concurrency %d is PUSH_CONCURRENCY's default. The pusher is a semaphore over goroutines (internal/remote/fanout.go), one HTTP client per supervisord, so a host's four calls reuse one connection; every call of every host is slow here, and the ideal assumes nothing but that latency.", def))
	return nil
}

// defaultPushConcurrency is PUSH_CONCURRENCY when it is not set.
func defaultPushConcurrency() (int, error) {
	cfg, err := config.FromEnv(func(k string) (string, bool) {
		v, ok := map[string]string{"EXT_CLOUD_FAILOVER_LIST": "NAM=nam.example.net,EU=eu.example.net", "CONNECTION_KEEPALIVE_ORG_ID": "o", "CONNECTION_KEEPALIVE_TXN_ID": "t"}[k]
		return v, ok
	})
	if err != nil {
		return 0, err
	}
	return cfg.PushConcurrency, nil
}

func firstErr(m map[string]error) error {
	for _, e := range m {
		return e
	}
	return nil
}

// ssmCalls counts the SSM API calls the SSM pusher makes for 1,000 instance
// IDs, for one tag matching 1,000 instances and for one tag matching 10,000,
// every host succeeding at once.
func (b *bench) ssmCalls(ctx context.Context) error {
	cases := []struct {
		key     string
		name    string
		tag     bool
		hosts   int
		maxSend int
	}{
		{"ids1k", "1,000 instance IDs", false, 1000, 20},
		{"tag1k", "one tag matching 1,000 instances", true, 1000, 1},
		{"tag10k", "one tag matching 10,000 instances", true, 10000, 1},
	}
	for _, c := range cases {
		srv, ids, err := b.simulatedFleet(c.hosts, nil)
		if err != nil {
			return err
		}
		targets := []ident.SSMTarget{{TagKey: "ExtCloudFailover", TagValue: "app"}}
		if !c.tag {
			targets = make([]ident.SSMTarget, len(ids))
			for i, id := range ids {
				targets[i] = ident.SSMTarget{InstanceID: id}
			}
		}
		p := ssmpush.New(localssm.Client(srv.URL), ssmpush.Config{Targets: targets, EnvFile: "/opt/application/tmp/ext_cloud.env",
			Programs: []string{"app"}, MaxConcurrency: "100%"})
		pctx, cancel := context.WithTimeout(ctx, 9*time.Second) // the function's timeout
		start := time.Now()
		res, err := p.Push(pctx, remote.Target{Region: "EU", Cloud: "eu.example.net", Generation: 2}, nil)
		took := time.Since(start)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		if len(res.Converged) != c.hosts {
			return fmt.Errorf("%s: %d converged, want %d", c.name, len(res.Converged), c.hosts)
		}
		ops := srv.RequestsByOperation()
		sends, lists, cmds, gets := ops["SendCommand"], ops["ListCommandInvocations"], ops["ListCommands"], ops["GetCommandInvocation"]
		srv.Close()
		b.figs["ssm."+c.key+".sends"] = float64(sends)
		b.figs["ssm."+c.key+".lists"] = float64(lists)
		b.figs["ssm."+c.key+".seconds"] = took.Seconds()
		b.report.add(row{section: "Fan-out",
			figure:   "SSM push to " + c.name + ": API calls (every host succeeds at once, MaxConcurrency 100%)",
			ours:     fmt.Sprintf("%d SendCommand, %d ListCommandInvocations, %d ListCommands, %d GetCommandInvocation in %s", sends, lists, cmds, gets, ms(took)),
			baseline: fmt.Sprintf("at most %d SendCommand", c.maxSend), goal: fmt.Sprintf("≤ %d SendCommand", c.maxSend), met: sends <= c.maxSend,
			command: "make bench (ssmCalls)"})
	}
	b.report.note("Fan-out", "SSM calls are counted at the local SSM endpoint the tests use (internal/testenv/localssm: AWS JSON 1.1, the real SDK client, pages of 50 invocations as SSM returns them), with simulated hosts instead of a shell each.")
	return nil
}
