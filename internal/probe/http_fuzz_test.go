package probe

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/testenv"
)

// countingTransport counts the response body bytes the prober reads.
type countingTransport struct {
	next http.RoundTripper
	read atomic.Int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// fuzzHeaderName keeps header names the server can send and that do not
// change the framing or encoding of the body (those are the transport's
// business, not the probe's).
func fuzzHeaderName(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "X-" + b.String()
}

// FuzzProbeResponse serves an arbitrary status, headers and body from a real
// loopback server and checks the probe's verdict: no panic; healthy if and
// only if the status is 2xx and, when PROBE_EXPECT is set, it occurs in the
// first 64 KiB of the body; never more than 64 KiB of the body read.
func FuzzProbeResponse(f *testing.F) {
	f.Add(uint16(200), false, "Server: x\nLocation: /y", []byte(`{"status":"ok"}`), uint16(1), `"status":"ok"`)
	f.Add(uint16(503), false, "", []byte("down"), uint16(1), "")
	f.Add(uint16(302), false, "Location: http://elsewhere.example/", []byte(""), uint16(0), "")
	f.Add(uint16(204), true, "", []byte("ignored"), uint16(3), "ignored")
	f.Add(uint16(200), true, "Link: </a>; rel=preload", []byte("ok"), uint16(1), "ok")
	f.Add(uint16(200), false, "", []byte(strings.Repeat("x", 1024)), uint16(64), "x") // exactly 64 KiB of x
	f.Add(uint16(200), false, "", []byte(strings.Repeat("y", 1023)+"Z"), uint16(70), "Z")
	f.Add(uint16(299), false, "Content-Type: text/plain\x00\r\nEvil: 1", []byte{0xff, 0xfe, 0}, uint16(2), "\xff")
	f.Fuzz(func(t *testing.T, status uint16, early bool, headers string, chunk []byte, repeat uint16, expect string) {
		code := 200 + int(status)%400 // 200..599: the final status
		n := int(repeat) % 1024
		if len(chunk)*n > 1<<20 {
			n = (1 << 20) / max(len(chunk), 1)
		}
		body := bytes.Repeat(chunk, n)
		if strings.ContainsAny(expect, "\x00") || len(expect) > 1024 {
			return // config refuses such values; not the probe's input
		}

		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, line := range strings.Split(headers, "\n") {
				k, v, _ := strings.Cut(line, ":")
				if k = fuzzHeaderName(k); k != "" {
					w.Header().Add(k, strings.Map(func(r rune) rune {
						if r < ' ' || r == 0x7f {
							return -1
						}
						return r
					}, v))
				}
			}
			if early {
				w.WriteHeader(http.StatusEarlyHints)
			}
			w.WriteHeader(code)
			_, _ = w.Write(body)
		}))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.Start()
		defer srv.Close()

		cfg := testenv.Config(t, map[string]string{"PROBE_EXPECT": expect, "PROBE_TIMEOUT": "5s"})
		p := New(cfg)
		// Close with a reset: tens of thousands of probes would otherwise
		// leave as many loopback ports in TIME_WAIT and exhaust them.
		tr := p.client.Transport.(*http.Transport)
		dial := tr.DialContext
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			return c, err
		}
		ct := &countingTransport{next: tr}
		p.client.Transport = ct
		res := p.Probe(context.Background(), config.Region{Name: "NAM", Cloud: testenv.HostOf(srv)})

		if res.Status != code {
			t.Fatalf("status %d, served %d (err %v)", res.Status, code, res.Err)
		}
		seen := body
		if code == http.StatusNoContent || code == http.StatusNotModified {
			seen = nil // no body is allowed for these
		}
		if len(seen) > MaxBody {
			seen = seen[:MaxBody]
		}
		want := code >= 200 && code <= 299 && (expect == "" || bytes.Contains(seen, []byte(expect)))
		if res.Healthy != want {
			t.Fatalf("healthy = %v (err %v), want %v: status %d, %d body bytes, expect %q", res.Healthy, res.Err, want, code, len(body), expect)
		}
		if res.Healthy != (res.Err == nil) {
			t.Fatalf("healthy %v with error %v", res.Healthy, res.Err)
		}
		if got := ct.read.Load(); got > MaxBody {
			t.Fatalf("read %d body bytes, cap %d", got, MaxBody)
		}
	})
}
