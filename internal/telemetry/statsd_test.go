package telemetry

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// metrics is what check.Metrics asks of Statsd; declared here
// because telemetry does not import check.
type metrics interface {
	Gauge(name string, value float64, tags ...string)
	Count(name string, value int64, tags ...string)
}

var _ metrics = (*Statsd)(nil)

func TestStatsdAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, host, url, want string
	}{
		{name: "nothing", want: ""},
		{name: "agent host", host: "10.0.0.5", want: "10.0.0.5:8125"},
		{name: "agent host with port", host: "agent:9125", want: "agent:9125"},
		{name: "agent host ipv6", host: "::1", want: "[::1]:8125"},
		{name: "udp url", url: "udp://agent:9125", want: "agent:9125"},
		{name: "udp url default port", url: "udp://agent", want: "agent:8125"},
		{name: "unix url", url: "unix:///var/run/datadog/dsd.socket", want: "unix:///var/run/datadog/dsd.socket"},
		{name: "url wins over host", host: "10.0.0.5", url: "udp://127.0.0.1:8125", want: "127.0.0.1:8125"},
		{name: "unknown scheme", url: "http://agent:8125", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := StatsdAddr(tc.host, tc.url); got != tc.want {
				t.Errorf("StatsdAddr(%q, %q) = %q, want %q", tc.host, tc.url, got, tc.want)
			}
		})
	}
}

// statsdLine is one parsed DogStatsD metric line.
type statsdLine struct {
	name, value, kind string
	tags              []string
}

// listenStatsd returns a UDP socket on 127.0.0.1 standing in for the agent.
func listenStatsd(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen udp: %v", err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// readStatsd reads datagrams until n metric lines arrived or the deadline.
func readStatsd(t *testing.T, pc net.PacketConn, n int) map[string]statsdLine {
	t.Helper()
	got := map[string]statsdLine{}
	buf := make([]byte, 65536)
	if err := pc.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for len(got) < n {
		k, _, err := pc.ReadFrom(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("got %d of %d metrics before the deadline: %v", len(got), n, got)
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(buf[:k])), "\n") {
			// name:value|type|#tag,tag|c:container...
			fields := strings.Split(line, "|")
			nv := strings.SplitN(fields[0], ":", 2)
			if len(fields) < 2 || len(nv) != 2 {
				t.Fatalf("malformed line %q", line)
			}
			l := statsdLine{name: nv[0], value: nv[1], kind: fields[1]}
			for _, f := range fields[2:] {
				if tags, ok := strings.CutPrefix(f, "#"); ok {
					l.tags = strings.Split(tags, ",")
					slices.Sort(l.tags)
				}
			}
			got[l.name] = l
		}
	}
	return got
}

func TestStatsdSends(t *testing.T) {
	t.Parallel()
	pc := listenStatsd(t)
	sd, err := NewStatsd(pc.LocalAddr().String(), "", []string{"service:extcloud-failover"})
	if err != nil {
		t.Fatalf("NewStatsd: %v", err)
	}
	sd.Gauge("extcloud.probe.latency", 12.5, "region:NAM", "status:ok")
	sd.Gauge("extcloud.outage.seconds", 30, "region:NAM")
	sd.Count("extcloud.failover", 1, "region:EU")
	sd.Count("extcloud.push.hosts", 3, "region:EU", "status:converged")
	if err := sd.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	got := readStatsd(t, pc, 4)
	want := []statsdLine{
		{name: "extcloud.probe.latency", value: "12.5", kind: "g", tags: []string{"region:NAM", "service:extcloud-failover", "status:ok"}},
		{name: "extcloud.outage.seconds", value: "30", kind: "g", tags: []string{"region:NAM", "service:extcloud-failover"}},
		{name: "extcloud.failover", value: "1", kind: "c", tags: []string{"region:EU", "service:extcloud-failover"}},
		{name: "extcloud.push.hosts", value: "3", kind: "c", tags: []string{"region:EU", "service:extcloud-failover", "status:converged"}},
	}
	for _, w := range want {
		g, ok := got[w.name]
		if !ok {
			t.Errorf("metric %s not received; got %v", w.name, got)
			continue
		}
		if g.value != w.value || g.kind != w.kind || !slices.Equal(g.tags, w.tags) {
			t.Errorf("metric %s = %+v, want %+v", w.name, g, w)
		}
	}
}

func TestStatsdNamespace(t *testing.T) {
	t.Parallel()
	pc := listenStatsd(t)
	sd, err := NewStatsd(pc.LocalAddr().String(), "extcloud", nil)
	if err != nil {
		t.Fatalf("NewStatsd: %v", err)
	}
	sd.Gauge("latency.ms", 7)
	if err := sd.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := readStatsd(t, pc, 1); got["extcloud.latency.ms"].value != "7" {
		t.Errorf("got %v, want extcloud.latency.ms:7", got)
	}
}

func TestStatsdNoAddress(t *testing.T) {
	t.Parallel()
	if _, err := NewStatsd("", "", nil); err == nil {
		t.Error("NewStatsd with no address succeeded; it must not fall back to the environment")
	}
}

func TestStatsdUnreachableDoesNotBlock(t *testing.T) {
	t.Parallel()
	// A unix socket nobody listens on: sends fail and are dropped.
	sd, err := NewStatsd("unix://"+t.TempDir()+"/none.sock", "", nil)
	if err != nil {
		t.Fatalf("NewStatsd: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			sd.Count("extcloud.failover", 1)
		}
		_ = sd.Close()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Count/Close blocked on an absent agent")
	}
}

func TestNewStatsdErrorNamesTheSettings(t *testing.T) {
	t.Parallel()
	// A port the resolver refuses fails without touching the network.
	_, err := NewStatsd("127.0.0.1:99999", "", nil)
	const want = "(check DD_DOGSTATSD_URL, or DD_AGENT_HOST when that is unset)"
	if err == nil || !strings.HasPrefix(err.Error(), "telemetry: dogstatsd 127.0.0.1:99999: ") || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("NewStatsd error = %v; want it to name the address and end with %q", err, want)
	}
}

// TestNewStatsdResolveIsBounded: a resolver that never answers must not
// hold up the run; the agent's name is given up after statsdResolveTimeout.
func TestNewStatsdResolveIsBounded(t *testing.T) {
	t.Parallel()
	hang := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	start := time.Now()
	_, err := newStatsd("dd-agent.example.com:8125", "", nil, hang)
	if took := time.Since(start); took > statsdResolveTimeout+2*time.Second {
		t.Errorf("NewStatsd took %v with a silent resolver, want about %v", took, statsdResolveTimeout)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "telemetry: dogstatsd dd-agent.example.com:8125: ") ||
		!strings.Contains(err.Error(), "check DD_DOGSTATSD_URL, or DD_AGENT_HOST") {
		t.Errorf("NewStatsd error = %v; want it to name the address and the settings", err)
	}
}

// TestNewStatsdResolvesName sends to the agent by name (localhost, from the
// hosts file: no network).
func TestNewStatsdResolvesName(t *testing.T) {
	t.Parallel()
	pc := listenStatsd(t)
	_, port, _ := net.SplitHostPort(pc.LocalAddr().String())
	sd, err := NewStatsd(net.JoinHostPort("localhost", port), "", nil)
	if err != nil {
		t.Fatalf("NewStatsd: %v", err)
	}
	sd.Count("runs", 1)
	if err := sd.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pc.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1024)
	n, _, err := pc.ReadFrom(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "runs:1|c") {
		t.Errorf("agent got %q, %v; want the runs count", buf[:n], err)
	}
}
