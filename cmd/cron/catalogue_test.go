package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
	"extcloud-failover/internal/testenv"
)

// The catalogue of faults and bad inputs, run against the built binary. Each
// case asserts the exit code, the summary line's action, whether the state
// file changed and how many times the application was restarted; and, for
// every case: no panic, the binary ends within its deadline, no temporary
// file is left in the folder, and the application is never restarted
// without a change of region.
//
// NUL cannot be passed to a process at all (execve takes C strings), and no
// single argument or variable may exceed 128 KiB, so the NUL and 1 MB cases
// call the binary's own run() in process, with the value in a flag and in a
// variable (TestCatalogueInProcess). DNS failure runs the binary in a private
// mount namespace whose /etc/resolv.conf names a loopback address where no
// resolver listens, so no query leaves the machine. The AWS faults (SSM and
// DynamoDB) are in internal/check/aws_faults_test.go, in process against
// dynalite and the local SSM endpoint.

// catCase is one catalogue entry.
type catCase struct {
	name  string
	args  []string
	env   []string // added to the fleet's environment (later entries win)
	down  []string // regions answering 503
	plant bool     // an outage of NAM past the threshold is in the state
	// own gives the case its own supervisord (a case that restarts or that
	// changes supervisord); otherwise it shares one whose app must never
	// restart.
	own    bool
	svOpts func(t *testing.T, dir, counting string) testenv.SupervisordOptions
	setup  func(t *testing.T, r *catRig)
	// wrap rewrites the command line (e.g. to run in a mount namespace).
	wrap     func(t *testing.T, bin string, args []string) (string, []string)
	asNobody bool

	code     int
	action   string // the summary's action; "" means no summary line
	changed  bool   // the state file's bytes changed
	restarts int
	errHas   string        // stderr (or, with a summary, the summary's error) contains this
	within   time.Duration // the binary must end within this (default 10s)
	check    func(t *testing.T, r *catRig, inv invocation)
}

// catRig is one case's host.
type catRig struct {
	*fleet
	bin      string
	uid, gid uint32
}

// catEnv shortens every deadline so the slow cases stay fast.
var catEnv = []string{"CHECK_TIMEOUT=4s", "PROBE_TIMEOUT=1s", "LATENCY_TIMEOUT=1s"}

// snapshot is the state file's bytes, or what stands in their place.
func snapshot(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "error: " + err.Error()
	}
	return string(data)
}

func (r *catRig) exec(c catCase) (invocation, time.Duration) {
	r.t.Helper()
	within := c.within
	if within == 0 {
		within = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), within+10*time.Second)
	defer cancel()
	bin, args := r.bin, c.args
	if c.wrap != nil {
		bin, args = c.wrap(r.t, bin, args)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = r.env
	if c.asNobody {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: r.uid, Gid: r.gid}}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	inv := invocation{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		inv.code = ee.ExitCode()
	case err != nil:
		r.t.Fatalf("run %v: %v", args, err)
	}
	if len(c.args) > 0 && (c.args[0] == "status" || c.args[0] == "validate" || c.args[0] == "--help") {
		return inv, took
	}
	for _, line := range strings.Split(strings.TrimSpace(inv.stdout), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			r.t.Fatalf("log line is not JSON: %q (%v)", line, err)
		}
		inv.lines = append(inv.lines, m)
		if m["message"] == "check complete" {
			inv.summary = m
		}
	}
	return inv, took
}

// nobodyDir returns a folder (and a copy of the binary in it) that the user
// nobody can use: t.TempDir folders and the test binary are private to root.
func nobodyDir(t *testing.T) (dir, bin string) {
	t.Helper()
	base, err := os.MkdirTemp("", "catalogue-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(base, "extcloud-failover")
	data, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(base, "work")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, nobodyUID, nobodyUID); err != nil {
		t.Fatal(err)
	}
	return dir, bin
}

const nobodyUID = 65534

// rawServer accepts TCP connections on 127.0.0.1 and hands each to serve.
func rawServer(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// readRequest reads the request head so that answers come after it.
func readRequest(c net.Conn) {
	buf := make([]byte, 4096)
	var got []byte
	for !bytes.Contains(got, []byte("\r\n\r\n")) {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		got = append(got, buf[:n]...)
	}
}

// hang keeps the connection open until the client goes away.
func hang(c net.Conn) {
	_, _ = io.Copy(io.Discard, c)
}

// setNAM points NAM at addr (host:port) in the failover list.
func (r *catRig) setNAM(addr string) {
	r.setEnv("EXT_CLOUD_FAILOVER_LIST", "NAM="+addr+",EU="+r.eu.Cloud()+",APAC="+r.apac.Cloud())
}

func (r *catRig) setEnv(key, value string) { r.env = append(r.env, key+"="+value) }

// namHandler serves NAM's cloudlookup with h.
func (r *catRig) namHandler(h http.HandlerFunc) {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	r.t.Cleanup(srv.Close)
	r.setNAM(strings.TrimPrefix(srv.URL, "http://"))
}

// testPKI is a test CA and certificates it signed, on disk for SSL_CERT_FILE.
type testPKI struct {
	caFile          string
	ca              *x509.Certificate
	caKey           *ecdsa.PrivateKey
	valid, expired  tls.Certificate
	wrongHost, self tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	p := &testPKI{caKey: key()}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "catalogue test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, notBefore, notAfter time.Time, ips []net.IP, dns []string, selfSigned bool) tls.Certificate {
		k := key()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "cloudlookup"},
			NotBefore: notBefore, NotAfter: notAfter, IPAddresses: ips, DNSNames: dns,
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		parent, signer := p.ca, p.caKey
		if selfSigned {
			parent, signer = tmpl, k
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &k.PublicKey, signer)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
	}
	loop := []net.IP{net.ParseIP("127.0.0.1")}
	p.valid = leaf(2, now.Add(-time.Hour), now.Add(time.Hour), loop, nil, false)
	p.expired = leaf(3, now.Add(-48*time.Hour), now.Add(-24*time.Hour), loop, nil, false)
	p.wrongHost = leaf(4, now.Add(-time.Hour), now.Add(time.Hour), nil, []string{"other.example"}, false)
	p.self = leaf(5, now.Add(-time.Hour), now.Add(time.Hour), loop, nil, true)
	return p
}

// tlsNAM serves NAM over TLS with cert, trusting the test CA.
func (r *catRig) tlsNAM(p *testPKI, cert tls.Certificate) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	r.t.Cleanup(srv.Close)
	r.setNAM(strings.TrimPrefix(srv.URL, "https://"))
	r.setEnv("CLOUDLOOKUP_URL", "https://{cloud}/cloudlookup?orgId={org_id}&txnId={txn_id}")
	r.setEnv("SSL_CERT_FILE", p.caFile)
}

// xmlrpcFake serves every supervisord call with h, after reading the
// request (so that a client going away cancels the request's context).
func (r *catRig) xmlrpcFake(h http.HandlerFunc) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		h(w, req)
	}))
	r.t.Cleanup(srv.Close)
	r.setEnv("SUPERVISOR_URL", srv.URL+"/RPC2")
}

// probeFails is the outcome when NAM's probe fails and no outage is stored:
// the outage clock starts, nothing else.
func probeFails(c catCase) catCase {
	c.code, c.action, c.changed = 0, "outage_started", true
	if c.within == 0 {
		c.within = 4 * time.Second
	}
	return c
}

// badConfig is the outcome of a configuration error: exit 2, one line naming
// the setting, nothing touched.
func badConfig(name, errHas string, env ...string) catCase {
	return catCase{name: "config/" + name, env: env, code: 2, errHas: errHas}
}

func badFlag(name, errHas string, args ...string) catCase {
	return catCase{name: "flag/" + name, args: args, code: 2, errHas: errHas}
}

func catalogue(t *testing.T) []catCase {
	pki := newTestPKI(t)
	// execve refuses any single argument or variable over 128 KiB
	// (MAX_ARG_STRLEN), so the binary gets 100 KiB, past the 64 KiB limit;
	// TestCatalogueInProcess passes 1 MB strings to run().
	mb := strings.Repeat("a", 100<<10)
	notUTF8 := "NAM=\xff\xfe.example"

	var redirectHits atomic.Int64
	redirectTarget := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { redirectHits.Add(1) }))
	t.Cleanup(redirectTarget.Close)

	var bigWritten atomic.Int64
	big := func(w http.ResponseWriter, _ *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for i := 0; i < 1600; i++ { // 100 MB in all if the client read it
			n, err := w.Write(chunk)
			bigWritten.Add(int64(n))
			if err != nil {
				return
			}
		}
		_, _ = w.Write([]byte("OK-MARK"))
	}

	cases := []catCase{
		// Configuration: every variable, malformed, empty, oversized, hostile.
		badConfig("failover list empty", "EXT_CLOUD_FAILOVER_LIST", "EXT_CLOUD_FAILOVER_LIST="),
		badConfig("failover list without clouds", "EXT_CLOUD_FAILOVER_LIST", "EXT_CLOUD_FAILOVER_LIST=NAM,EU"),
		badConfig("failover list shell metacharacters", "EXT_CLOUD_FAILOVER_LIST", "EXT_CLOUD_FAILOVER_LIST=NAM=a.example;reboot,EU=$(id)"),
		badConfig("failover list newline", "EXT_CLOUD_FAILOVER_LIST", "EXT_CLOUD_FAILOVER_LIST=NAM=a.example\nEU=b.example"),
		badConfig("failover list not UTF-8", "EXT_CLOUD_FAILOVER_LIST", "EXT_CLOUD_FAILOVER_LIST="+notUTF8),
		badConfig("failover list 100 KiB", "EXT_CLOUD_FAILOVER_LIST", "EXT_CLOUD_FAILOVER_LIST=NAM="+mb),
		badConfig("failover list duplicate region", "EXT_CLOUD_FAILOVER_LIST", "EXT_CLOUD_FAILOVER_LIST=NAM=a.example,NAM=b.example"),
		badConfig("region unknown", "EXT_CLOUD_REGION", "EXT_CLOUD_REGION=MARS"),
		badConfig("region backticks", "EXT_CLOUD_REGION", "EXT_CLOUD_REGION=`reboot`"),
		badConfig("org id quote and space", "CONNECTION_KEEPALIVE_ORG_ID", "CONNECTION_KEEPALIVE_ORG_ID=org 1'"),
		badConfig("org id empty while the template uses it", "CONNECTION_KEEPALIVE_ORG_ID", "CONNECTION_KEEPALIVE_ORG_ID="),
		badConfig("txn id 100 KiB", "CONNECTION_KEEPALIVE_TXN_ID", "CONNECTION_KEEPALIVE_TXN_ID="+mb),
		badConfig("cloudlookup unknown placeholder", "CLOUDLOOKUP_URL", "CLOUDLOOKUP_URL=http://{cloud}/x?{foo}"),
		badConfig("cloudlookup without cloud", "CLOUDLOOKUP_URL", "CLOUDLOOKUP_URL=http://127.0.0.1/cloudlookup"),
		badConfig("cloudlookup file scheme", "CLOUDLOOKUP_URL", "CLOUDLOOKUP_URL=file:///{cloud}/etc/passwd"),
		badConfig("probe timeout negative", "PROBE_TIMEOUT", "PROBE_TIMEOUT=-1s"),
		badConfig("probe timeout not below check timeout", "PROBE_TIMEOUT", "PROBE_TIMEOUT=10s"),
		badConfig("probe interval garbage", "PROBE_INTERVAL", "PROBE_INTERVAL=10s;ls"),
		badConfig("probe expect 100 KiB", "PROBE_EXPECT", "PROBE_EXPECT="+mb),
		badConfig("insecure skip verify not a boolean", "PROBE_INSECURE_SKIP_VERIFY", "PROBE_INSECURE_SKIP_VERIFY=yes please"),
		badConfig("insecure skip verify for a remote host", "PROBE_INSECURE_SKIP_VERIFY", "PROBE_INSECURE_SKIP_VERIFY=true",
			"EXT_CLOUD_FAILOVER_LIST=NAM=nam.example,EU=eu.example"),
		badConfig("threshold hostile", "FAILOVER_THRESHOLD", "FAILOVER_THRESHOLD=4m$(reboot)"),
		badConfig("min interval negative", "FAILOVER_MIN_INTERVAL", "FAILOVER_MIN_INTERVAL=-5m"),
		badConfig("check timeout zero", "CHECK_TIMEOUT", "CHECK_TIMEOUT=0"),
		badConfig("env file relative", "ENV_FILE", "ENV_FILE=ext_cloud.env"),
		badConfig("env file command substitution", "ENV_FILE", "ENV_FILE=/tmp/$(reboot)/ext_cloud.env"),
		badConfig("env file with ..", "ENV_FILE", "ENV_FILE=/tmp/../etc/ext_cloud.env"),
		badConfig("state file newline", "STATE_FILE", "STATE_FILE=/tmp/state\n.json"),
		badConfig("state key hostile", "STATE_KEY", "STATE_KEY=key;rm -rf /"),
		badConfig("supervisor url scheme", "SUPERVISOR_URL", "SUPERVISOR_URL=ftp://127.0.0.1/RPC2"),
		badConfig("supervisor programs empty", "SUPERVISOR_PROGRAMS", "SUPERVISOR_PROGRAMS="),
		badConfig("supervisor programs hostile", "SUPERVISOR_PROGRAMS", "SUPERVISOR_PROGRAMS=app;reboot"),
		badConfig("supervisor programs bare star", "SUPERVISOR_PROGRAMS", "SUPERVISOR_PROGRAMS=*"),
		badConfig("push concurrency zero", "PUSH_CONCURRENCY", "PUSH_CONCURRENCY=0"),
		badConfig("push concurrency overflow", "PUSH_CONCURRENCY", "PUSH_CONCURRENCY=99999999999999999999"),
		badConfig("ssm targets malformed", "SSM_TARGETS", "SSM_TARGETS=tag:=x"),
		badConfig("ssm max concurrency garbage", "SSM_MAX_CONCURRENCY", "SSM_MAX_CONCURRENCY=lots"),
		badConfig("ssm max errors garbage", "SSM_MAX_ERRORS", "SSM_MAX_ERRORS=150%"),
		badConfig("latency check unknown mode", "LATENCY_CHECK", "LATENCY_CHECK=sometimes"),
		badConfig("latency server not a URL", "LATENCY_SERVER", "LATENCY_SERVER=not a url"),
		badConfig("latency timeout not below check timeout", "LATENCY_TIMEOUT", "LATENCY_TIMEOUT=1h"),
		badConfig("latency interval garbage", "LATENCY_INTERVAL", "LATENCY_INTERVAL=often"),
		badConfig("witness url file scheme", "WITNESS_URL", "WITNESS_URL=file:///etc/passwd"),
		badConfig("dd site hostile", "DD_SITE", "DD_SITE=evil.example/$(id)"),
		badConfig("dd service 100 KiB", "DD_SERVICE", "DD_SERVICE="+mb),
		badConfig("dd logs intake scheme", "DD_LOGS_INTAKE_URL", "DD_LOGS_INTAKE_URL=gopher://127.0.0.1/"),
		badConfig("dd dogstatsd scheme", "DD_DOGSTATSD_URL", "DD_DOGSTATSD_URL=tcp://127.0.0.1:8125"),
		badConfig("dd tags newline", "DD_TAGS", "DD_TAGS=env:prod\nteam:x"),
		badConfig("dry run not a boolean", "DRY_RUN", "DRY_RUN=maybe"),
		{name: "config/supervisor password in a bad URL is not shown", env: []string{"SUPERVISOR_URL=http://admin:s3cretpw@[::1"},
			code: 2, errHas: "SUPERVISOR_URL",
			check: func(t *testing.T, _ *catRig, inv invocation) {
				if strings.Contains(inv.stderr, "s3cretpw") {
					t.Errorf("password printed: %q", inv.stderr)
				}
			}},
		{name: "config/dd api key newline is not shown", env: []string{"DD_API_KEY=key\nwith-newline-s3cret"}, code: 2, errHas: "DD_API_KEY",
			check: func(t *testing.T, _ *catRig, inv invocation) {
				if strings.Contains(inv.stderr, "s3cret") {
					t.Errorf("api key printed: %q", inv.stderr)
				}
			}},
		badFlag("unknown flag", "frobnicate", "--frobnicate"),
		badFlag("region flag hostile", "region", "--region", "EU'; reboot; '"),
		badFlag("threshold flag overrides a good variable", "--failover-threshold", "--failover-threshold", "1x"),
		badFlag("env file flag not UTF-8", "--env-file", "--env-file", "/tmp/\xff.env"),
		badFlag("org id flag 100 KiB", "--connection-keepalive-org-id", "--connection-keepalive-org-id", mb),
		badFlag("extra argument", "extra", "check", "extra"),
		badFlag("json without status", "-json", "check", "--json"),
		{name: "flag/help", args: []string{"--help"}, code: 0},
		{name: "flag/last flag wins", args: []string{"--region", "MARS", "--region", "EU"}, code: 0, action: "none",
			check: func(t *testing.T, _ *catRig, inv invocation) {
				if inv.summary["region"] != "EU" {
					t.Errorf("region %v, want EU", inv.summary["region"])
				}
			}},
		{name: "flag/empty region means the default", args: []string{"--region="}, code: 0, action: "none"},

		// The cloudlookup endpoint.
		probeFails(catCase{name: "probe/103 then nothing", setup: func(t *testing.T, r *catRig) {
			r.setNAM(rawServer(t, func(c net.Conn) {
				readRequest(c)
				_, _ = io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n")
				hang(c)
			}))
		}, errHas: "timeout"}),
		probeFails(catCase{name: "probe/100 continue only", setup: func(t *testing.T, r *catRig) {
			r.setNAM(rawServer(t, func(c net.Conn) {
				readRequest(c)
				_, _ = io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
				hang(c)
			}))
		}, errHas: "timeout"}),
		probeFails(catCase{name: "probe/301 to another host is not followed", setup: func(t *testing.T, r *catRig) {
			r.namHandler(func(w http.ResponseWriter, req *http.Request) {
				http.Redirect(w, req, redirectTarget.URL+"/cloudlookup", http.StatusMovedPermanently)
			})
		}, errHas: "redirect not followed", check: func(t *testing.T, _ *catRig, _ invocation) {
			if n := redirectHits.Load(); n != 0 {
				t.Errorf("the redirect's host got %d requests", n)
			}
		}}),
		probeFails(catCase{name: "probe/304", setup: func(t *testing.T, r *catRig) {
			r.namHandler(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotModified) })
		}, errHas: "status 304"}),
		probeFails(catCase{name: "probe/404", setup: func(t *testing.T, r *catRig) {
			r.namHandler(func(w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) })
		}, errHas: "status 404"}),
		probeFails(catCase{name: "probe/429", setup: func(t *testing.T, r *catRig) {
			r.namHandler(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "3600")
				w.WriteHeader(http.StatusTooManyRequests)
			})
		}, errHas: "status 429"}),
		probeFails(catCase{name: "probe/500", setup: func(t *testing.T, r *catRig) {
			r.namHandler(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
		}, errHas: "status 500"}),
		probeFails(catCase{name: "probe/599", setup: func(t *testing.T, r *catRig) {
			r.namHandler(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(599) })
		}, errHas: "status 599"}),
		probeFails(catCase{name: "probe/100 MB body without the expected text in 64 KiB", env: []string{"PROBE_EXPECT=OK-MARK"},
			setup: func(t *testing.T, r *catRig) { r.namHandler(big) }, errHas: "lacks PROBE_EXPECT",
			check: func(t *testing.T, _ *catRig, _ invocation) {
				if n := bigWritten.Load(); n >= 100<<20 {
					t.Errorf("server wrote %d bytes: the body was read whole", n)
				}
			}}),
		{name: "probe/100 MB body with no PROBE_EXPECT is healthy unread", code: 0, action: "none", within: 4 * time.Second,
			setup: func(t *testing.T, r *catRig) { r.namHandler(big) }},
		probeFails(catCase{name: "probe/accepts and never answers", setup: func(t *testing.T, r *catRig) {
			r.setNAM(rawServer(t, hang))
		}, errHas: "timeout"}),
		probeFails(catCase{name: "probe/a byte a second", setup: func(t *testing.T, r *catRig) {
			r.setNAM(rawServer(t, func(c net.Conn) {
				readRequest(c)
				for _, b := range []byte("HTTP/1.1 200 OK\r\n\r\n") {
					if _, err := c.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(time.Second) // the fault: one byte a second
				}
			}))
		}, errHas: "timeout"}),
		probeFails(catCase{name: "probe/body a byte a second", env: []string{"PROBE_EXPECT=OK"}, setup: func(t *testing.T, r *catRig) {
			r.namHandler(func(w http.ResponseWriter, req *http.Request) {
				w.WriteHeader(200)
				for i := 0; i < 10; i++ {
					if _, err := w.Write([]byte("x")); err != nil {
						return
					}
					w.(http.Flusher).Flush()
					select {
					case <-req.Context().Done():
						return
					case <-time.After(time.Second):
					}
				}
			})
		}, errHas: "timeout"}),
		probeFails(catCase{name: "probe/connection reset", setup: func(t *testing.T, r *catRig) {
			r.setNAM(rawServer(t, func(c net.Conn) {
				readRequest(c)
				_ = c.(*net.TCPConn).SetLinger(0)
			}))
		}, errHas: "reset"}),
		probeFails(catCase{name: "probe/closed without an answer", setup: func(t *testing.T, r *catRig) {
			r.setNAM(rawServer(t, readRequest))
		}, errHas: "EOF"}),
		probeFails(catCase{name: "probe/not HTTP", setup: func(t *testing.T, r *catRig) {
			r.setNAM(rawServer(t, func(c net.Conn) {
				readRequest(c)
				_, _ = io.WriteString(c, "SSH-2.0-OpenSSH\r\n\r\n")
			}))
		}, errHas: "malformed"}),
		probeFails(catCase{name: "probe/connection refused", setup: func(t *testing.T, r *catRig) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			r.setNAM(addr)
		}, errHas: "connection refused"}),
		probeFails(catCase{name: "probe/headers over 64 KiB", setup: func(t *testing.T, r *catRig) {
			r.namHandler(func(w http.ResponseWriter, _ *http.Request) {
				for i := 0; i < 40; i++ {
					w.Header().Set(fmt.Sprintf("X-Pad-%d", i), strings.Repeat("p", 4000))
				}
			})
		}, errHas: "header"}),
		probeFails(catCase{name: "probe/dns failure", setup: func(t *testing.T, r *catRig) {
			r.setNAM("nam.extcloud.invalid:443")
			r.setEnv("GODEBUG", "netdns=go")
		}, wrap: privateResolver, errHas: "dns: "}),
		probeFails(catCase{name: "probe/expired certificate", setup: func(t *testing.T, r *catRig) { r.tlsNAM(pki, pki.expired) }, errHas: "expired"}),
		probeFails(catCase{name: "probe/self-signed certificate", setup: func(t *testing.T, r *catRig) { r.tlsNAM(pki, pki.self) }, errHas: "tls: "}),
		probeFails(catCase{name: "probe/certificate for another host", setup: func(t *testing.T, r *catRig) { r.tlsNAM(pki, pki.wrongHost) }, errHas: "cannot validate certificate for 127.0.0.1"}),
		// EU and APAC answer plain HTTP on the https URL: they are recorded
		// as down, which changes the state.
		{name: "probe/valid certificate of the test CA", code: 0, action: "none", changed: true,
			setup: func(t *testing.T, r *catRig) { r.tlsNAM(pki, pki.valid) },
			check: func(t *testing.T, _ *catRig, inv invocation) {
				regions, _ := inv.summary["regions"].(map[string]any)
				if nam, _ := regions["NAM"].(map[string]any); nam["healthy"] != true {
					t.Errorf("regions %v, want NAM healthy", inv.summary["regions"])
				}
			}},
		{name: "probe/candidate failing its pre-flight is skipped", plant: true, down: []string{"NAM", "EU"}, own: true,
			code: 0, action: "failover", changed: true, restarts: 1,
			check: func(t *testing.T, r *catRig, inv invocation) {
				if inv.summary["to"] != "APAC" || r.envRegion() != "APAC" {
					t.Errorf("failed over to %v (env %q), want APAC", inv.summary["to"], r.envRegion())
				}
			}},
		{name: "probe/all down", plant: true, down: []string{"NAM", "EU", "APAC"}, code: 0, action: "all_down", changed: true},

		// The state file.
		{name: "state/empty", setup: writeState(""), code: 0, action: "none", changed: true, check: movedAside},
		{name: "state/truncated", setup: writeState(`{"version": 3, "active_reg`), code: 0, action: "none", changed: true, check: movedAside},
		{name: "state/not JSON", setup: writeState("\x00\x01binary\xff"), code: 0, action: "none", changed: true, check: movedAside},
		{name: "state/JSON array", setup: writeState(`[1,2,3]`), code: 0, action: "none", changed: true, check: movedAside},
		{name: "state/wrong types", setup: writeState(`{"version":"three","generation":[]}`), code: 0, action: "none", changed: true, check: movedAside},
		{name: "state/corrupt continues from the env file", code: 0, action: "none", changed: true,
			setup: func(t *testing.T, r *catRig) {
				writeState(`{"version":`)(t, r)
				writeFile(t, r.envFile, "EXT_CLOUD="+r.apac.Cloud()+"\nEXT_CLOUD_REGION=APAC\nEXT_CLOUD_GENERATION=4\n")
			},
			check: func(t *testing.T, r *catRig, inv invocation) {
				movedAside(t, r, inv)
				if inv.summary["region"] != "APAC" || inv.summary["generation"] != 4.0 {
					t.Errorf("summary %v, want APAC generation 4 from the env file", inv.summary)
				}
			}},
		{name: "state/fields from a newer version are kept readable", code: 0, action: "none",
			setup: writeState(`{"version":7,"schema":2,"active_region":"EU","generation":3,"quorum":{"peers":["a"]}}`),
			check: func(t *testing.T, _ *catRig, inv invocation) {
				if inv.summary["region"] != "EU" || inv.summary["generation"] != 3.0 {
					t.Errorf("summary %v, want EU generation 3", inv.summary)
				}
			}},
		{name: "state/version at the end of int64", down: []string{"NAM"}, code: 1, action: "outage_started",
			setup: writeState(`{"version":9223372036854775807,"active_region":"NAM"}`), errHas: "store state"},
		{name: "state/directory in its place", down: []string{"NAM"}, code: 1, action: "none", errHas: "state",
			setup: func(t *testing.T, r *catRig) {
				if err := os.Mkdir(r.stateFile, 0o755); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "state/permission denied", asNobody: true, code: 1, action: "none", errHas: "permission denied",
			setup: func(t *testing.T, r *catRig) {
				writeState(`{"version":1,"active_region":"NAM"}`)(t, r)
				if err := os.Chown(r.stateFile, 0, 0); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "state/read-only folder", asNobody: true, down: []string{"NAM"}, code: 1, action: "outage_started", errHas: "permission denied",
			setup: func(t *testing.T, r *catRig) {
				if err := os.Chmod(r.dir, 0o555); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "state/status on a corrupt file only reports", args: []string{"status"}, code: 1, setup: writeState(`{"version":`),
			check: func(t *testing.T, r *catRig, inv invocation) {
				// Reported in the status (what the next check does), not moved.
				if !strings.Contains(inv.stdout, "state file:     corrupt (") {
					t.Errorf("status lacks the corrupt state line:\n%s", inv.stdout)
				}
				if aside, _ := filepath.Glob(r.stateFile + ".corrupt-*"); len(aside) != 0 {
					t.Errorf("status moved the state aside: %v", aside)
				}
			}},

		// ext_cloud.env.
		// A missing or different env file is first rewritten for the state's
		// region (a restart), then the failover restarts once more.
		{name: "env/missing", plant: true, down: []string{"NAM"}, own: true, svOpts: slowStart, code: 0, action: "failover", changed: true, restarts: 2,
			setup: func(t *testing.T, r *catRig) { removeFile(t, r.envFile) },
			check: func(t *testing.T, r *catRig, _ invocation) {
				// File modes: the state is private, the env file readable by the app.
				for path, want := range map[string]os.FileMode{r.stateFile: 0o600, r.stateFile + ".lock": 0o600, r.envFile: 0o644} {
					if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
						t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, want)
					}
				}
			}},
		{name: "env/hand-edited is rewritten", plant: true, down: []string{"NAM"}, own: true, code: 0, action: "failover", changed: true, restarts: 1,
			setup: func(t *testing.T, r *catRig) {
				writeFile(t, r.envFile, "# edited by hand\r\nexport EXT_CLOUD='"+r.nam.Cloud()+"'\r\nEXT_CLOUD_REGION=\"NAM\"\r\nDEBUG=1\r\n")
			},
			check: func(t *testing.T, r *catRig, _ invocation) {
				if env, err := remote.ReadEnvFile(r.envFile); err != nil || env.Region != "EU" || env.Generation != 1 {
					t.Errorf("env file %+v, %v", env, err)
				}
			}},
		{name: "env/unparseable is rewritten", plant: true, down: []string{"NAM"}, own: true, svOpts: slowStart, code: 0, action: "failover", changed: true, restarts: 2,
			setup: func(t *testing.T, r *catRig) { writeFile(t, r.envFile, "this is not\x00an env file\n") }},
		// The state is behind the hosts (e.g. restored from an old copy): the
		// env file's newer generation is found before anything is probed,
		// and the hosts' region and generation are adopted; nothing is
		// restarted, and the outage of the state's region is forgotten.
		{name: "env/newer generation by hand is adopted", plant: true, down: []string{"NAM"}, own: true, code: 0, action: "none", changed: true,
			setup: func(t *testing.T, r *catRig) {
				writeFile(t, r.envFile, "EXT_CLOUD="+r.apac.Cloud()+"\nEXT_CLOUD_REGION=APAC\nEXT_CLOUD_GENERATION=7\n")
			},
			check: func(t *testing.T, r *catRig, inv invocation) {
				if r.envRegion() != "APAC" || inv.summary["region"] != "APAC" || inv.summary["generation"] != float64(7) {
					t.Errorf("env %q, summary %v: want APAC at generation 7 adopted", r.envRegion(), inv.summary)
				}
				if !strings.Contains(inv.stdout, "hosts run a newer generation than the state") {
					t.Errorf("adoption not logged: %s", inv.stdout)
				}
			}},
		{name: "env/directory in its place", plant: true, down: []string{"NAM"}, own: true, code: 1, action: "failover", changed: true, errHas: "is a directory",
			setup: func(t *testing.T, r *catRig) {
				removeFile(t, r.envFile)
				if err := os.Mkdir(r.envFile, 0o755); err != nil {
					t.Fatal(err)
				}
			}},

		// supervisord.
		{name: "supervisord/down", plant: true, down: []string{"NAM"}, code: 1, action: "failover", changed: true, errHas: "push incomplete",
			setup: func(t *testing.T, r *catRig) {
				r.setEnv("SUPERVISOR_URL", "unix://"+filepath.Join(r.dir, "absent.sock"))
			}},
		{name: "supervisord/wrong password", plant: true, down: []string{"NAM"}, own: true, code: 1, action: "failover", changed: true, errHas: "unauthorized",
			svOpts: func(t *testing.T, _, counting string) testenv.SupervisordOptions {
				return testenv.SupervisordOptions{Username: "admin", Password: "right", Programs: []testenv.SupervisordProgram{{Name: "app", Command: counting}}}
			},
			setup: func(t *testing.T, r *catRig) {
				r.setEnv("SUPERVISOR_USERNAME", "admin")
				r.setEnv("SUPERVISOR_PASSWORD", "wrong-S3cret")
			},
			check: func(t *testing.T, _ *catRig, inv invocation) {
				if strings.Contains(inv.stdout+inv.stderr, "wrong-S3cret") {
					t.Error("password logged")
				}
			}},
		{name: "supervisord/unknown program", plant: true, down: []string{"NAM"}, own: true, code: 1, action: "failover", changed: true, errHas: "BAD_NAME",
			env: []string{"SUPERVISOR_PROGRAMS=ghost"}},
		{name: "supervisord/program command missing", plant: true, down: []string{"NAM"}, own: true, code: 1, action: "failover", changed: true, errHas: "NO_FILE",
			env: []string{"SUPERVISOR_PROGRAMS=broken"},
			svOpts: func(t *testing.T, _, counting string) testenv.SupervisordOptions {
				return testenv.SupervisordOptions{Programs: []testenv.SupervisordProgram{
					{Name: "app", Command: counting},
					{Name: "broken", Command: "/nonexistent/binary", NoAutostart: true},
				}}
			}},
		{name: "supervisord/program exits at start", plant: true, down: []string{"NAM"}, own: true, code: 1, action: "failover", changed: true, errHas: "startProcess",
			env: []string{"SUPERVISOR_PROGRAMS=broken"},
			svOpts: func(t *testing.T, _, counting string) testenv.SupervisordOptions {
				return testenv.SupervisordOptions{Programs: []testenv.SupervisordProgram{
					{Name: "app", Command: counting},
					{Name: "broken", Command: "/bin/sh -c 'exit 1'", NoAutostart: true, StartSecs: 1},
				}}
			}},
		{name: "supervisord/slow stop within the deadline", plant: true, down: []string{"NAM"}, own: true, code: 0, action: "failover", changed: true, restarts: 1,
			svOpts: func(t *testing.T, dir, counting string) testenv.SupervisordOptions {
				return testenv.SupervisordOptions{Programs: []testenv.SupervisordProgram{{Name: "app", Command: trapTERM(counting), StopWaitSecs: 1}}}
			}},
		{name: "supervisord/slow stop past the deadline", plant: true, down: []string{"NAM"}, own: true, code: 1, action: "failover", changed: true, within: 6 * time.Second,
			errHas: "deadline",
			svOpts: func(t *testing.T, dir, counting string) testenv.SupervisordOptions {
				return testenv.SupervisordOptions{Programs: []testenv.SupervisordProgram{{Name: "app", Command: trapTERM(counting), StopWaitSecs: 7}}}
			}},
		{name: "supervisord/garbage XML", plant: true, down: []string{"NAM"}, code: 1, action: "failover", changed: true, errHas: "decode response",
			setup: func(t *testing.T, r *catRig) {
				r.xmlrpcFake(func(w http.ResponseWriter, _ *http.Request) {
					_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</html>")
				})
			}},
		{name: "supervisord/malformed XML-RPC", plant: true, down: []string{"NAM"}, code: 1, action: "failover", changed: true, errHas: "decode response",
			setup: func(t *testing.T, r *catRig) {
				r.xmlrpcFake(func(w http.ResponseWriter, _ *http.Request) {
					_, _ = io.WriteString(w, `<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>statename`)
				})
			}},
		{name: "supervisord/500", plant: true, down: []string{"NAM"}, code: 1, action: "failover", changed: true, errHas: "status 500",
			setup: func(t *testing.T, r *catRig) {
				r.xmlrpcFake(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
			}},
		{name: "supervisord/hangs", plant: true, down: []string{"NAM"}, code: 1, action: "failover", changed: true, within: 6 * time.Second,
			setup: func(t *testing.T, r *catRig) {
				r.xmlrpcFake(func(w http.ResponseWriter, req *http.Request) { <-req.Context().Done() })
			}},
	}
	return cases
}

// trapTERM wraps the counting program's shell command so that it ignores
// SIGTERM: supervisord must wait stopwaitsecs and then SIGKILL it.
func trapTERM(counting string) string {
	return strings.Replace(counting, "; exec sleep 3600", `; trap "" TERM; while :; do sleep 1; done`, 1)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// slowStart is the case's own supervisord with app at startsecs=1: a start
// returns once app has counted itself, so two restarts back to back (the
// converge's, then the failover's) are both counted; with startsecs=0 the
// second stop can kill app before its first line is written.
func slowStart(_ *testing.T, _, counting string) testenv.SupervisordOptions {
	return testenv.SupervisordOptions{Programs: []testenv.SupervisordProgram{{Name: "app", Command: counting, StartSecs: 1}}}
}

func removeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

func writeState(content string) func(t *testing.T, r *catRig) {
	return func(t *testing.T, r *catRig) { writeFile(t, r.stateFile, content) }
}

// movedAside checks that a corrupt state file was kept aside, not lost.
func movedAside(t *testing.T, r *catRig, _ invocation) {
	t.Helper()
	aside, _ := filepath.Glob(r.stateFile + ".corrupt-*")
	if len(aside) != 1 {
		t.Errorf("corrupt state kept as %v, want one .corrupt- file", aside)
	}
}

// privateResolver runs the binary in a private mount namespace whose
// /etc/resolv.conf names 127.0.0.77, where nothing listens: every lookup
// fails without leaving the machine.
func privateResolver(t *testing.T, bin string, args []string) (string, []string) {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal("unshare(1) not installed: run `apt-get install -y util-linux`")
	}
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	writeFile(t, conf, "nameserver 127.0.0.77\noptions timeout:1 attempts:1\n")
	script := `mount --bind "$1" /etc/resolv.conf && shift && exec "$@"`
	return unshare, append([]string{"--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", conf, bin}, args...)
}

func TestCatalogue(t *testing.T) {
	t.Parallel()
	sharedDir := t.TempDir()
	cmd, sharedStarts := testenv.CountingProgram(t, sharedDir)
	shared := testenv.StartSupervisord(t, testenv.SupervisordOptions{Programs: []testenv.SupervisordProgram{{Name: "app", Command: cmd}}})
	waitFor(t, "shared app started", func() bool { return sharedStarts() == 1 })

	cases := catalogue(t)
	if len(cases) < 60 {
		t.Fatalf("%d catalogue cases, want at least 60", len(cases))
	}
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				runCatCase(t, c, shared, sharedStarts)
			})
		}
	})
	if got := sharedStarts(); got != 1 {
		t.Errorf("the shared app was restarted (%d starts): some case that expects no restart restarted it", got)
	}
}

func runCatCase(t *testing.T, c catCase, shared *testenv.Supervisord, sharedStarts func() int) {
	dir, bin := t.TempDir(), binPath
	var uid uint32
	if c.asNobody {
		dir, bin = nobodyDir(t)
		uid = nobodyUID
	}
	sv, starts := shared, sharedStarts
	if c.own {
		counting, count := testenv.CountingProgram(t, t.TempDir())
		opts := testenv.SupervisordOptions{Programs: []testenv.SupervisordProgram{{Name: "app", Command: counting}}}
		if c.svOpts != nil {
			opts = c.svOpts(t, dir, counting)
		}
		sv, starts = testenv.StartSupervisord(t, opts), count
		waitFor(t, "app started", func() bool { return starts() == 1 })
	}
	r := &catRig{fleet: fleetOn(t, dir, sv, starts, catEnv...), bin: bin, uid: uid, gid: uid}
	r.env = append(r.env, c.env...)
	for _, name := range c.down {
		map[string]*region{"NAM": r.nam, "EU": r.eu, "APAC": r.apac}[name].Down.Store(true)
	}
	if c.plant {
		r.plantOutage(time.Minute)
	}
	if c.setup != nil {
		c.setup(t, r)
	}
	if data, err := os.ReadFile(r.envFile); err == nil && string(data) == r.deployed {
		// The case left the env file alone: it names what the case's
		// configuration and state say, as on a converged host.
		r.deploy(c.args...)
	}
	if c.asNobody {
		// Files the case made stay root's unless it chose otherwise.
		if fi, err := os.Stat(r.stateFile); err == nil && fi.Mode().IsRegular() && c.name != "state/permission denied" {
			_ = os.Chown(r.stateFile, nobodyUID, nobodyUID)
		}
	}
	before := snapshot(r.stateFile)
	envBefore := snapshot(r.envFile)
	startsBefore := starts()

	inv, took := r.exec(c)
	within := c.within
	if within == 0 {
		within = 10 * time.Second
	}
	out := inv.stdout + inv.stderr
	if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") {
		t.Fatalf("panic:\n%s", out)
	}
	if took > within {
		t.Errorf("took %v, deadline %v", took, within)
	}
	if inv.code != c.code {
		t.Errorf("exit %d, want %d\nstdout %s\nstderr %s", inv.code, c.code, inv.stdout, inv.stderr)
	}
	if got := inv.action(); got != c.action {
		t.Errorf("action %q, want %q\nstdout %s\nstderr %s", got, c.action, inv.stdout, inv.stderr)
	}
	if c.errHas != "" {
		where := inv.stderr
		if inv.summary != nil {
			where, _ = inv.summary["error"].(string)
			probeErr, _ := inv.summary["probe_error"].(string)
			where += " " + probeErr
		}
		if !strings.Contains(where, c.errHas) {
			t.Errorf("error %q lacks %q", where, c.errHas)
		}
	}
	if c.code == 2 && strings.Count(strings.TrimSpace(inv.stderr), "\n") != 0 {
		t.Errorf("configuration error is not one line: %q", inv.stderr)
	}
	if changed := snapshot(r.stateFile) != before; changed != c.changed {
		t.Errorf("state changed = %v, want %v", changed, c.changed)
	}
	if after := snapshot(r.stateFile); !strings.HasPrefix(after, "error:") {
		if _, err := state.Decode([]byte(after)); err != nil && !strings.HasPrefix(c.name, "state/") {
			t.Errorf("state left undecodable: %v", err)
		}
	}
	if c.restarts > 0 {
		waitFor(t, "app restarted", func() bool { return starts() >= startsBefore+c.restarts })
	}
	if got := starts() - startsBefore; got != c.restarts {
		t.Errorf("app restarted %d times, want %d", got, c.restarts)
	}
	if starts() > startsBefore && snapshot(r.envFile) == envBefore {
		t.Errorf("app restarted without a change of the env file")
	}
	if fi, err := os.Stat(r.envFile); err == nil && fi.Mode().IsRegular() {
		if _, err := remote.ReadEnvFile(r.envFile); err != nil && !strings.HasPrefix(c.name, "env/unparseable") {
			t.Errorf("env file left unparseable: %v", err)
		}
	}
	assertNoTempFiles(t, r.dir)
	if c.check != nil {
		c.check(t, r, inv)
	}
}

// TestCatalogueInProcess covers what execve cannot carry to the binary: NUL
// bytes, and strings of 1 MB. The binary's run() is called in process with
// them in a flag and in a variable, and must refuse them as bad
// configuration, in one line that does not echo them.
func TestCatalogueInProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{
		"EXT_CLOUD_FAILOVER_LIST":     "NAM=127.0.0.1:1,EU=127.0.0.1:2",
		"CONNECTION_KEEPALIVE_ORG_ID": "org-1",
		"CONNECTION_KEEPALIVE_TXN_ID": "txn-1",
		"ENV_FILE":                    filepath.Join(dir, "ext_cloud.env"),
		"SUPERVISOR_PROGRAMS":         "app",
	}
	tests := []struct {
		name   string
		args   []string
		key    string
		value  string
		errHas string
	}{
		{name: "flag", args: []string{"--connection-keepalive-org-id", "org\x00; reboot"}, errHas: "--connection-keepalive-org-id"},
		{name: "flag env file", args: []string{"--env-file", dir + "/x\x00.env"}, errHas: "--env-file"},
		{name: "variable", key: "EXT_CLOUD_FAILOVER_LIST", value: "NAM=a.example\x00,EU=b.example", errHas: "EXT_CLOUD_FAILOVER_LIST"},
		{name: "variable programs", key: "SUPERVISOR_PROGRAMS", value: "app\x00reboot", errHas: "SUPERVISOR_PROGRAMS"},
		{name: "1 MB flag", args: []string{"--probe-expect", strings.Repeat("x", 1<<20)}, errHas: "--probe-expect"},
		{name: "1 MB variable", key: "DD_TAGS", value: strings.Repeat("k:v,", 1<<18), errHas: "DD_TAGS"},
		{name: "1 MB failover list", key: "EXT_CLOUD_FAILOVER_LIST", value: "NAM=" + strings.Repeat("a", 1<<20), errHas: "EXT_CLOUD_FAILOVER_LIST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lookup := func(k string) (string, bool) {
				if k == tt.key {
					return tt.value, true
				}
				v, ok := env[k]
				return v, ok
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, lookup, &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tt.errHas) {
				t.Fatalf("run = %d, stderr %q; want %d naming %s", code, stderr.String(), exitUsage, tt.errHas)
			}
			if strings.ContainsRune(stderr.String(), 0) || stderr.Len() > 1000 || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
				t.Errorf("the error echoes the value or is not one short line: %q", stderr.String())
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("bad input wrote %d files", len(entries))
	}
}
