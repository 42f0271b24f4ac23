package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kolo/xmlrpc"
)

// supervisordInstall is the hint given when supervisord is missing.
const supervisordInstall = "supervisord not installed: run `apt-get install -y supervisor` (make test does this)"

// SupervisordProgram is one [program:x] section.
type SupervisordProgram struct {
	// Name is the program name; Command the command line (split like a shell
	// would by supervisord, not run through one).
	Name, Command string
	// StartSecs is how long the program must stay up to count as RUNNING
	// (0, the default here, means at once).
	StartSecs int
	// StartRetries is how many times a failing start is retried (0 here).
	StartRetries int
	// NoAutostart keeps supervisord from starting the program itself.
	NoAutostart bool
	// StopWaitSecs is how long supervisord waits after SIGTERM before
	// SIGKILL (0 means 2 here, to keep tests fast).
	StopWaitSecs int
	// Group, when set, puts the program in a [group:x] section with the
	// others naming the same group, so it is addressed as "group:name".
	Group string
}

// SupervisordOptions configures StartSupervisord.
type SupervisordOptions struct {
	Programs []SupervisordProgram
	// Inet serves XML-RPC on 127.0.0.1:<free port> over HTTP instead of a unix
	// socket. Setting Username implies Inet.
	Inet bool
	// Username and Password protect the XML-RPC server with basic auth.
	Username, Password string
}

// Supervisord is a running supervisord started by StartSupervisord.
type Supervisord struct {
	// URL is the XML-RPC address without credentials:
	// unix:///.../supervisor.sock or http://127.0.0.1:PORT/RPC2.
	URL string
	// Dir holds the config, socket, pid file and logs. Its path is short
	// (unix socket paths are limited to about 100 bytes).
	Dir string
	// ConfigPath is the supervisord.conf; `supervisorctl -c ConfigPath`
	// talks to this supervisord (it has a [supervisorctl] section).
	ConfigPath string
	// SocketPath is the unix socket, empty when Inet.
	SocketPath string
	// Username and Password are the basic-auth credentials, if any.
	Username, Password string

	bin    string
	client *http.Client
	rpcURL string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// StartSupervisord writes a supervisord.conf into a fresh short folder, starts
// supervisord in the foreground with it, waits until its XML-RPC interface
// answers and stops it (and removes the folder) in t.Cleanup. A missing
// supervisord binary fails the test with the install command.
func StartSupervisord(t testing.TB, opts SupervisordOptions) *Supervisord {
	t.Helper()
	bin := "/usr/bin/supervisord"
	if _, err := os.Stat(bin); err != nil {
		p, err := exec.LookPath("supervisord")
		if err != nil {
			t.Fatal(supervisordInstall)
		}
		bin = p
	}

	dir := supervisordTempDir(t)
	s := &Supervisord{
		Dir:        dir,
		ConfigPath: filepath.Join(dir, "supervisord.conf"),
		Username:   opts.Username,
		Password:   opts.Password,
		bin:        bin,
	}

	var conf strings.Builder
	fmt.Fprintf(&conf, "[supervisord]\nnodaemon=true\npidfile=%s\nlogfile=%s\nchildlogdir=%s\nloglevel=debug\n\n",
		filepath.Join(dir, "supervisord.pid"), filepath.Join(dir, "supervisord.log"), dir)
	auth := ""
	if opts.Username != "" {
		auth = fmt.Sprintf("username=%s\npassword=%s\n", opts.Username, opts.Password)
	}
	if opts.Inet || opts.Username != "" {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&conf, "[inet_http_server]\nport=127.0.0.1:%d\n%s\n", port, auth)
		s.URL = fmt.Sprintf("http://127.0.0.1:%d/RPC2", port)
		s.rpcURL = s.URL
		s.client = &http.Client{Transport: &http.Transport{Proxy: nil}}
		fmt.Fprintf(&conf, "[supervisorctl]\nserverurl=http://127.0.0.1:%d\n%s\n", port, auth)
	} else {
		s.SocketPath = filepath.Join(dir, "supervisor.sock")
		fmt.Fprintf(&conf, "[unix_http_server]\nfile=%s\nchmod=0700\n%s\n", s.SocketPath, auth)
		s.URL = "unix://" + s.SocketPath
		s.rpcURL = "http://localhost/RPC2"
		sock := s.SocketPath
		s.client = &http.Client{Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			},
		}}
		fmt.Fprintf(&conf, "[supervisorctl]\nserverurl=unix://%s\n%s\n", s.SocketPath, auth)
	}
	conf.WriteString("[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n")

	groups := map[string][]string{}
	var groupOrder []string
	for _, p := range opts.Programs {
		if p.Name == "" || p.Command == "" {
			t.Fatalf("supervisord program %+v: Name and Command are required", p)
		}
		stopWait := p.StopWaitSecs
		if stopWait == 0 {
			stopWait = 2
		}
		fmt.Fprintf(&conf, "[program:%s]\ncommand=%s\nstartsecs=%d\nstartretries=%d\nautostart=%t\nautorestart=false\nstopwaitsecs=%d\nstopasgroup=true\nkillasgroup=true\nstdout_logfile=%s\nredirect_stderr=true\n\n",
			p.Name, p.Command, p.StartSecs, p.StartRetries, !p.NoAutostart, stopWait,
			filepath.Join(dir, p.Name+".log"))
		if p.Group != "" {
			if _, ok := groups[p.Group]; !ok {
				groupOrder = append(groupOrder, p.Group)
			}
			groups[p.Group] = append(groups[p.Group], p.Name)
		}
	}
	for _, g := range groupOrder {
		fmt.Fprintf(&conf, "[group:%s]\nprograms=%s\n\n", g, strings.Join(groups[g], ","))
	}
	if err := os.WriteFile(s.ConfigPath, []byte(conf.String()), 0o600); err != nil {
		t.Fatalf("write supervisord.conf: %v", err)
	}

	t.Cleanup(func() { s.stop() })
	s.start(t)
	return s
}

// supervisordTempDir returns a fresh folder with a short path, removed in Cleanup.
func supervisordTempDir(t testing.TB) string {
	t.Helper()
	base := os.TempDir()
	if len(base) > 40 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "sv")
	if err != nil {
		t.Fatalf("make supervisord folder: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove supervisord folder: %v", err)
		}
	})
	return dir
}

func (s *Supervisord) start(t testing.TB) {
	t.Helper()
	out, err := os.OpenFile(filepath.Join(s.Dir, "supervisord.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("open supervisord output: %v", err)
	}
	cmd := exec.Command(s.bin, "-c", s.ConfigPath)
	cmd.Dir = s.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start supervisord: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	deadline := time.Now().Add(15 * time.Second)
	var lastErr error
	for {
		select {
		case <-done:
			t.Fatalf("supervisord exited at start: %s", s.tail())
		default:
		}
		var st struct {
			Name string `xmlrpc:"statename"`
		}
		lastErr = s.call(context.Background(), "supervisor.getState", nil, &st)
		if lastErr == nil && st.Name == "RUNNING" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("supervisord did not answer within 15s (state %q, last error: %v): %s", st.Name, lastErr, s.tail())
		}
		select {
		case <-done:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// tail returns the end of supervisord's output and log, for failure messages.
func (s *Supervisord) tail() string {
	var b []byte
	for _, name := range []string{"supervisord.out", "supervisord.log"} {
		data, _ := os.ReadFile(filepath.Join(s.Dir, name))
		if len(data) > 2000 {
			data = data[len(data)-2000:]
		}
		b = append(b, data...)
	}
	return string(b)
}

// stop sends SIGTERM, waits up to 10 s, then SIGKILL. It is a no-op when
// supervisord is not running.
func (s *Supervisord) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Stop stops supervisord (and its programs) and waits until it has exited.
// Calls to its URL then fail to connect until Restart.
func (s *Supervisord) Stop(t testing.TB) {
	t.Helper()
	s.stop()
}

// Restart starts supervisord again with the same config, so the same socket
// or port, and waits until it answers; it stops it first if it is running.
// Programs start afresh (autostart ones are started again).
func (s *Supervisord) Restart(t testing.TB) {
	t.Helper()
	s.stop()
	s.start(t)
}

// Call makes one XML-RPC call (method such as "supervisor.getProcessInfo")
// and returns the decoded value; it fails the test on any error, including
// a fault.
func (s *Supervisord) Call(t testing.TB, method string, args ...any) any {
	t.Helper()
	var v any
	if err := s.call(context.Background(), method, args, &v); err != nil {
		t.Fatalf("supervisord %s: %v", method, err)
	}
	return v
}

func (s *Supervisord) call(ctx context.Context, method string, args []any, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var a any
	if len(args) > 0 {
		a = args
	}
	req, err := xmlrpc.NewRequest(s.rpcURL, method, a)
	if err != nil {
		return err
	}
	req = req.WithContext(ctx)
	if s.Username != "" {
		req.SetBasicAuth(s.Username, s.Password)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	r := xmlrpc.Response(body)
	if err := r.Err(); err != nil {
		return err
	}
	return r.Unmarshal(v)
}

// CountingProgram returns a command for SupervisordProgram.Command that adds
// a line (its pid) to a file in dir each time it starts and then sleeps for an
// hour, and a function that returns how many times it has started. The line
// is written just after supervisord spawns the program, so poll count with a
// deadline rather than reading it once, or use LastStartedPID to wait for it.
func CountingProgram(t testing.TB, dir string) (command string, count func() int) {
	t.Helper()
	f, err := os.CreateTemp(dir, "starts-")
	if err != nil {
		t.Fatalf("create start counter: %v", err)
	}
	path := f.Name()
	if err := f.Close(); err != nil {
		t.Fatalf("create start counter: %v", err)
	}
	if strings.ContainsAny(path, "' \"\\") {
		t.Fatalf("start counter path %q needs quoting; use a plainer dir", path)
	}
	// $$ survives the exec, so each line is the pid supervisord reports.
	command = fmt.Sprintf("/bin/sh -c 'echo $$ >> %s; exec sleep 3600'", path)
	count = func() int {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("read start counter: %v", err)
			return -1
		}
		return bytes.Count(data, []byte("\n"))
	}
	return command, count
}

// LastStartedPID returns the pid on the last line of a CountingProgram's
// counter file in dir, 0 when there is none.
func LastStartedPID(t testing.TB, dir string) int {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "starts-*"))
	if err != nil || len(paths) != 1 {
		t.Fatalf("start counter in %s: %v (found %d)", dir, err, len(paths))
	}
	data, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatalf("read start counter: %v", err)
	}
	lines := strings.Fields(string(data))
	if len(lines) == 0 {
		return 0
	}
	pid, _ := strconv.Atoi(lines[len(lines)-1])
	return pid
}

// RunningPID returns the pid of program name when supervisord runs it; ok is
// false when supervisord is down or the program is not RUNNING.
func (s *Supervisord) RunningPID(name string) (pid int, ok bool) {
	var info struct {
		PID       int    `xmlrpc:"pid"`
		StateName string `xmlrpc:"statename"`
	}
	if err := s.call(context.Background(), "supervisor.getProcessInfo", []any{name}, &info); err != nil {
		return 0, false
	}
	return info.PID, info.StateName == "RUNNING"
}
