package main

// The built binary as `watch` under a real supervisord, in the Python
// handler's own layout: group app with the checker, a tunnel, a cloud client
// and an application, the last three started by the checker.

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/testenv"
)

const (
	handlerSigHeader = "X-SIG-Sha256"
	handlerSigValue  = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// handlerLayout is one container: three regions, the tunnel's address, and
// a supervisord running group app.
type handlerLayout struct {
	t             *testing.T
	dir           string
	nam, eu, apac *region
	tunnel        string // 127.0.0.1:port
	events        string // the stand-ins' start and stop lines
	envFile       string
	stateFile     string
	sv            *testenv.Supervisord
}

// buildStandin builds testdata/standin into dir.
func buildStandin(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "standin")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/standin")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the stand-ins: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a 127.0.0.1 address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startHandlerLayout writes the checker's environment file and starts
// supervisord with the handler's group; supervisord starts the checker
// (`watch`), which starts the rest. programs is SUPERVISOR_PROGRAMS.
func startHandlerLayout(t *testing.T, programs string) *handlerLayout {
	t.Helper()
	dir := t.TempDir()
	h := &handlerLayout{t: t, dir: dir, tunnel: freeAddr(t),
		events: filepath.Join(dir, "events.log"), envFile: filepath.Join(dir, "ext_cloud.env"), stateFile: filepath.Join(dir, "state.json")}
	h.nam, h.eu, h.apac = newRegion(t, "NAM"), newRegion(t, "EU"), newRegion(t, "APAC")
	standin := buildStandin(t, dir)

	checkerEnv := filepath.Join(dir, "checker.env")
	lines := []string{
		"EXT_CLOUD_FAILOVER_LIST=NAM=" + h.nam.Cloud() + ",EU=" + h.eu.Cloud() + ",APAC=" + h.apac.Cloud(),
		"CONNECTION_KEEPALIVE_ORG_ID=org-1",
		"CONNECTION_KEEPALIVE_TXN_ID=txn-1",
		// The handler's probe: through the tunnel, TLS unverified
		// (loopback), with its header; candidates directly.
		"CLOUDLOOKUP_URL=https://" + h.tunnel + "/v2/{org_id}/cloudlookup/{txn_id}",
		"PREFLIGHT_URL='http://{cloud}/cloudlookup?orgId={org_id}&txnId={txn_id}'",
		"PROBE_HEADERS='" + handlerSigHeader + ": " + handlerSigValue + "'",
		"PROBE_INSECURE_SKIP_VERIFY=true",
		"ENV_FILE=" + h.envFile,
		"STATE_FILE=" + h.stateFile,
		// supervisord tells its programs where it listens.
		`SUPERVISOR_URL="$SUPERVISOR_SERVER_URL"`,
		"SUPERVISOR_PROGRAMS=" + programs,
		"PROBE_INTERVAL=500ms",
		"PROBE_TIMEOUT=2s",
		"CHECK_TIMEOUT=8s",
		"FAILOVER_THRESHOLD=3s",
		"FAILOVER_MIN_INTERVAL=0s",
		"LATENCY_CHECK=off",
	}
	writeFile(t, checkerEnv, strings.Join(lines, "\n")+"\n")

	// The handler's start scripts: source the env file, the tunnel exits 5
	// unless it mentions EXT_CLOUD.
	source := ". " + h.envFile + " && grep -q EXT_CLOUD " + h.envFile + " || exit 5; "
	h.sv = testenv.StartSupervisord(t, testenv.SupervisordOptions{Programs: []testenv.SupervisordProgram{
		{Name: "watch", Group: "app", StopWaitSecs: 20,
			Command: "/bin/sh -c 'set -a; . " + checkerEnv + "; exec " + binPath + " watch'"},
		{Name: "stunnel", Group: "app", NoAutostart: true, StartSecs: 1,
			Command: "/bin/sh -c '" + source + "exec " + standin + " tunnel " + h.events + " stunnel " + h.tunnel + " " + handlerSigHeader + " " + handlerSigValue + "'"},
		{Name: "cloud-client", Group: "app", NoAutostart: true, StartSecs: 1,
			Command: "/bin/sh -c '. " + h.envFile + "; exec " + standin + " record " + h.events + " cloud-client'"},
		{Name: "application", Group: "app", NoAutostart: true, StartSecs: 1,
			Command: "/bin/sh -c '. " + h.envFile + "; exec " + standin + " record " + h.events + " application'"},
	}})
	return h
}

// event is one line of the stand-ins' log.
type event struct {
	at                  time.Time
	what, name          string // start|stop, the program
	extCloud, extRegion string // what a start saw exported
}

func (e event) String() string { return e.what + " " + e.name }

func (h *handlerLayout) readEvents() []event {
	h.t.Helper()
	data, err := os.ReadFile(h.events)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	// Only whole lines: a stand-in may have created the file, or be halfway
	// through its line, when the test reads it.
	whole := string(data[:bytes.LastIndexByte(data, '\n')+1])
	var out []event
	for _, line := range strings.Split(whole, "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			h.t.Fatalf("bad event line %q", line)
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			h.t.Fatalf("bad event line %q", line)
		}
		e := event{at: time.Unix(0, ns), what: f[1], name: f[2]}
		if e.what == "start" && len(f) == 5 {
			e.extCloud, e.extRegion = f[3], f[4]
		}
		out = append(out, e)
	}
	return out
}

// checkerLog is what the checker printed (supervisord's stdout log of it).
func (h *handlerLayout) checkerLog() string {
	data, _ := os.ReadFile(filepath.Join(h.sv.Dir, "watch.log"))
	return string(data)
}

func (h *handlerLayout) checks() int {
	return strings.Count(h.checkerLog(), `"message":"check complete"`)
}

// waitChecks waits for n more check complete lines than there are now.
func (h *handlerLayout) waitChecks(n int) {
	h.t.Helper()
	want := h.checks() + n
	waitFor(h.t, strconv.Itoa(n)+" more checks", func() bool { return h.checks() >= want })
}

func names(evs []event) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = e.String()
	}
	return strings.Join(s, ", ")
}

func TestE2EHandlerLayout(t *testing.T) {
	t.Parallel()
	h := startHandlerLayout(t, "app:stunnel,app:cloud-client,app:application")

	// First run: no env file, no state. The file is written in the shell
	// format naming the primary, and the group is started in order.
	waitFor(t, "the group started", func() bool { return len(h.readEvents()) >= 3 })
	evs := h.readEvents()
	if got := names(evs); got != "start stunnel, start cloud-client, start application" {
		t.Fatalf("first deploy: %s, want the three started in order\n%s", got, h.checkerLog())
	}
	for _, e := range evs {
		if e.extCloud != h.nam.Cloud() || e.extRegion != "NAM" {
			t.Errorf("%s started with EXT_CLOUD=%s EXT_REGION=%s, want %s NAM", e.name, e.extCloud, e.extRegion, h.nam.Cloud())
		}
	}
	if data, _ := os.ReadFile(h.envFile); string(data) != string(remote.Render(remote.Target{Region: "NAM", Cloud: h.nam.Cloud()})) {
		t.Errorf("env file = %q, want the shell format for NAM", data)
	}
	if log := h.checkerLog(); !strings.Contains(log, "env file missing: writing it for NAM, generation 0, and restarting the programs") {
		t.Errorf("no warning about the missing env file:\n%s", log)
	}
	// Healthy: nothing restarted afterwards.
	h.waitChecks(4)
	if n := len(h.readEvents()); n != 3 {
		t.Fatalf("healthy checks restarted something: %s", names(h.readEvents()))
	}

	// The tunnel answers only requests carrying the header: the checks
	// above were healthy, so the checker sent it.
	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the test's own loopback tunnel
	resp, err := insecure.Get("https://" + h.tunnel + "/v2/org-1/cloudlookup/txn-1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("tunnel without the header answered %d, want 403", resp.StatusCode)
	}

	// Outage of the active region behind the tunnel: one failover after the
	// threshold, in the handler's stop and start order.
	h.nam.Down.Store(true)
	down := time.Now()
	waitFor(t, "the failover's restart", func() bool { return len(h.readEvents()) >= 9 })
	evs = h.readEvents()[3:]
	want := "stop application, stop cloud-client, stop stunnel, start stunnel, start cloud-client, start application"
	if got := names(evs); got != want {
		t.Fatalf("failover: %s, want %s", got, want)
	}
	if took := evs[0].at.Sub(down); took < 3*time.Second {
		t.Errorf("restarted %s after the outage began, before FAILOVER_THRESHOLD (3s)", took)
	}
	for _, e := range evs[3:] {
		if e.extCloud != h.eu.Cloud() || e.extRegion != "EU" {
			t.Errorf("%s restarted with EXT_CLOUD=%s EXT_REGION=%s, want %s EU", e.name, e.extCloud, e.extRegion, h.eu.Cloud())
		}
	}
	h.waitChecks(4)
	if n := len(h.readEvents()); n != 9 {
		t.Errorf("more restarts after the failover: %s", names(h.readEvents()))
	}
	log := h.checkerLog()
	if n := strings.Count(log, `"message":"failover from NAM to EU"`); n != 1 {
		t.Errorf("%d failover lines, want 1:\n%s", n, log)
	}
	if strings.Contains(log, handlerSigValue) {
		t.Error("the checker logged the header's value")
	}
	if s := (&fleet{t: t, stateFile: h.stateFile}).readState(); s.ActiveRegion != "EU" || s.Generation != 1 || s.Pending != nil {
		t.Errorf("state %+v, want EU, generation 1, nothing pending", s)
	}

	// supervisorctl stop: the checker finishes its check and exits 0 within 10 s.
	start := time.Now()
	out, err := exec.Command("supervisorctl", "-c", h.sv.ConfigPath, "stop", "app:watch").CombinedOutput()
	if err != nil {
		t.Fatalf("supervisorctl stop app:watch: %v\n%s", err, out)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the checker took %s to stop, want within 10s", took)
	}
	info, _ := h.sv.Call(t, "supervisor.getProcessInfo", "app:watch").(map[string]any)
	if info["statename"] != "STOPPED" || info["exitstatus"] != int64(0) {
		t.Errorf("after stop: %v %v, want STOPPED with exit status 0", info["statename"], info["exitstatus"])
	}
	if !strings.Contains(h.checkerLog(), `"message":"watch stopped"`) {
		t.Errorf("no watch stopped line:\n%s", h.checkerLog())
	}
}

func TestE2EHandlerLayoutRefusesToRestartItself(t *testing.T) {
	t.Parallel()
	h := startHandlerLayout(t, "app:*")
	waitFor(t, "the checker refusing app:*", func() bool {
		return strings.Contains(h.checkerLog(), `SUPERVISOR_PROGRAMS: "app:*" would restart this checker, which supervisord runs as app:watch`)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		info, _ := h.sv.Call(t, "supervisor.getProcessInfo", "app:watch").(map[string]any)
		if info["statename"] == "EXITED" || info["statename"] == "FATAL" || info["statename"] == "BACKOFF" {
			if info["exitstatus"] != int64(2) {
				t.Errorf("checker exit status %v, want 2", info["exitstatus"])
			}
			break
		}
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by ctx
	}
	if _, err := os.Stat(h.envFile); !os.IsNotExist(err) || len(h.readEvents()) != 0 {
		t.Errorf("a refused configuration changed something: env file %v, events %s", err, names(h.readEvents()))
	}
}
