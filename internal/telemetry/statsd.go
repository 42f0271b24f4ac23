// This file holds Statsd: metrics sent to a DogStatsD agent, and how its
// address is found from DD_AGENT_HOST or DD_DOGSTATSD_URL.

package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/DataDog/datadog-go/v5/statsd"
)

// DefaultStatsdPort is DogStatsD's UDP port.
const DefaultStatsdPort = "8125"

// statsdWriteTimeout bounds one write to a unix socket; UDP never waits.
const statsdWriteTimeout = 100 * time.Millisecond

// statsdResolveTimeout bounds the look-up of the agent's host name. The
// client library resolves it in New with no deadline at all, which with a
// broken resolver would hold up the check that follows.
const statsdResolveTimeout = time.Second

// StatsdAddr returns the DogStatsD address for NewStatsd from DD_AGENT_HOST
// and DD_DOGSTATSD_URL, the latter first: udp://host[:port] gives host:port,
// unix:///path is kept, a bare host gets port 8125. It returns "" when
// neither is set or the URL has another scheme.
func StatsdAddr(agentHost, dogstatsdURL string) string {
	if dogstatsdURL != "" {
		u, err := url.Parse(dogstatsdURL)
		if err != nil {
			return ""
		}
		switch u.Scheme {
		case "udp":
			if u.Port() != "" {
				return u.Host
			}
			return net.JoinHostPort(u.Hostname(), DefaultStatsdPort)
		case "unix", "unixgram", "unixstream":
			return dogstatsdURL
		}
		return ""
	}
	if agentHost == "" {
		return ""
	}
	if _, _, err := net.SplitHostPort(agentHost); err == nil {
		return agentHost
	}
	return net.JoinHostPort(strings.Trim(agentHost, "[]"), DefaultStatsdPort)
}

// Statsd sends metrics to a DogStatsD agent. Sending never blocks and its
// errors are dropped; metrics are aggregated and sent in the background and
// on Close. It is safe for concurrent use.
type Statsd struct {
	c *statsd.Client
}

// NewStatsd returns a client for addr (host:port or unix:///path, see
// StatsdAddr). namespace, when set, prefixes every name with a dot; tags are
// added to every metric.
//
// A host name in addr is resolved once, within a second; it is an error
// when it does not resolve by then.
func NewStatsd(addr, namespace string, tags []string) (*Statsd, error) {
	return newStatsd(addr, namespace, tags, net.DefaultResolver)
}

func newStatsd(addr, namespace string, tags []string, r *net.Resolver) (*Statsd, error) {
	if addr == "" {
		// The library would fall back to the environment; we decide here.
		return nil, errors.New("telemetry: dogstatsd: no address")
	}
	dial := addr
	if !strings.Contains(addr, "://") {
		var err error
		if dial, err = resolveUDP(addr, r); err != nil {
			return nil, fmt.Errorf("telemetry: dogstatsd %s: %w (check DD_DOGSTATSD_URL, or DD_AGENT_HOST when that is unset)", addr, err)
		}
	}
	opts := []statsd.Option{
		statsd.WithTags(tags),
		statsd.WithoutTelemetry(),
		statsd.WithWriteTimeout(statsdWriteTimeout),
	}
	if namespace != "" {
		opts = append(opts, statsd.WithNamespace(namespace))
	}
	c, err := statsd.New(dial, opts...)
	if err != nil {
		// Typically a host name that does not resolve.
		return nil, fmt.Errorf("telemetry: dogstatsd %s: %w (check DD_DOGSTATSD_URL, or DD_AGENT_HOST when that is unset)", addr, err)
	}
	return &Statsd{c: c}, nil
}

// resolveUDP returns host:port with the host name resolved to an address,
// IPv4 first as net.ResolveUDPAddr would pick, within statsdResolveTimeout.
func resolveUDP(addr string, r *net.Resolver) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || net.ParseIP(host) != nil {
		return addr, nil // the library reports a bad address itself
	}
	ctx, cancel := context.WithTimeout(context.Background(), statsdResolveTimeout)
	defer cancel()
	ips, err := r.LookupIPAddr(ctx, host)
	if err != nil {
		return "", err
	}
	ip := ips[0]
	for _, a := range ips {
		if a.IP.To4() != nil {
			ip = a
			break
		}
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// Gauge records the last value of name.
func (s *Statsd) Gauge(name string, value float64, tags ...string) {
	_ = s.c.Gauge(name, value, tags, 1)
}

// Count adds value to name.
func (s *Statsd) Count(name string, value int64, tags ...string) {
	_ = s.c.Count(name, value, tags, 1)
}

// Close sends what is pending and closes the connection.
func (s *Statsd) Close() error {
	_ = s.c.Flush()
	if err := s.c.Close(); err != nil {
		return fmt.Errorf("telemetry: close dogstatsd: %w", err)
	}
	return nil
}
