// This file holds Instance: a private supervisord on a loopback port and a
// unix socket, its configuration and its lifetime.

package supervisord

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kolo/xmlrpc"
)

// ErrNotInstalled is returned by Start when no supervisord binary is found.
var ErrNotInstalled = errors.New("supervisord not installed: run `make tools` (apt-get install -y supervisor)")

const (
	readyTimeout = 15 * time.Second
	stopTimeout  = 10 * time.Second
	callTimeout  = 10 * time.Second
)

// Program is one [program:x] section.
type Program struct {
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

// Options configures Start.
type Options struct {
	Programs []Program
	// Inet serves XML-RPC on 127.0.0.1:<free port> over HTTP instead of a unix
	// socket. Setting Username implies Inet.
	Inet bool
	// Username and Password protect the XML-RPC server with basic auth.
	Username, Password string
}

// Instance is a supervisord started by Start.
type Instance struct {
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

// Start writes the config into a fresh folder, starts supervisord and waits
// until it answers RUNNING. On error nothing is left running or on disk;
// otherwise Close stops it and removes the folder.
func Start(ctx context.Context, opts Options) (*Instance, error) {
	bin, err := binary()
	if err != nil {
		return nil, err
	}
	dir, err := shortTempDir()
	if err != nil {
		return nil, err
	}
	s := &Instance{
		Dir:        dir,
		ConfigPath: filepath.Join(dir, "supervisord.conf"),
		Username:   opts.Username,
		Password:   opts.Password,
		bin:        bin,
	}
	if err := s.writeConfig(opts); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// binary prefers Debian's /usr/bin/supervisord, then PATH.
func binary() (string, error) {
	const bin = "/usr/bin/supervisord"
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	p, err := exec.LookPath("supervisord")
	if err != nil {
		return "", ErrNotInstalled
	}
	return p, nil
}

// shortTempDir makes a folder whose socket path stays under the unix socket
// limit (about 100 bytes) even when TMPDIR is long.
func shortTempDir() (string, error) {
	base := os.TempDir()
	if len(base) > 40 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "sv")
	if err != nil {
		return "", fmt.Errorf("make supervisord folder: %w", err)
	}
	return dir, nil
}

func (s *Instance) writeConfig(opts Options) error {
	dir := s.Dir
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
			return err
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
			return fmt.Errorf("supervisord program %+v: Name and Command are required", p)
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
		return fmt.Errorf("write supervisord.conf: %w", err)
	}
	return nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a port for supervisord: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// start runs supervisord and waits until getState answers RUNNING; on error
// supervisord is stopped.
func (s *Instance) start(ctx context.Context) error {
	out, err := os.OpenFile(filepath.Join(s.Dir, "supervisord.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open supervisord output: %w", err)
	}
	cmd := exec.Command(s.bin, "-c", s.ConfigPath)
	cmd.Dir = s.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	// Its own process group, so the SIGKILL fallback reaches what it spawned
	// in it and a terminal's ^C goes to the caller, which stops it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", s.bin, err)
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

	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		state, err := s.State(ctx)
		if err == nil && state == "RUNNING" {
			return nil
		}
		select {
		case <-done:
			s.Stop()
			return fmt.Errorf("supervisord -c %s exited at start: %s", s.ConfigPath, s.tail())
		case <-ctx.Done():
			s.Stop()
			return fmt.Errorf("supervisord -c %s did not answer RUNNING within %s (state %q, last error: %v): %s",
				s.ConfigPath, readyTimeout, state, err, s.tail())
		case <-tick.C:
		}
	}
}

// tail returns the end of supervisord's output and log, for error messages.
func (s *Instance) tail() string {
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

// Stop sends supervisord SIGTERM (it stops its programs), waits up to 10 s,
// then sends SIGKILL to its process group, and waits until it has exited.
// The folder stays, so Restart can start it again. It is a no-op when
// supervisord is not running.
func (s *Instance) Stop() {
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
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Restart starts supervisord again with the same config, so the same socket
// or port, and waits until it answers; it stops it first if it is running.
// Programs start afresh (autostart ones are started again).
func (s *Instance) Restart(ctx context.Context) error {
	s.Stop()
	return s.start(ctx)
}

// Close stops supervisord and removes its folder.
func (s *Instance) Close() error {
	s.Stop()
	if err := os.RemoveAll(s.Dir); err != nil {
		return fmt.Errorf("remove supervisord folder: %w", err)
	}
	return nil
}

// Call makes one XML-RPC call (method such as "supervisor.getProcessInfo")
// and decodes its value into v; a fault is an error. It gives up after 10 s.
func (s *Instance) Call(ctx context.Context, method string, args []any, v any) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
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
		return fmt.Errorf("%s: status %d: %s", method, resp.StatusCode, bytes.TrimSpace(body))
	}
	r := xmlrpc.Response(body)
	if err := r.Err(); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	return r.Unmarshal(v)
}

// State returns supervisord's statename (RUNNING once it serves).
func (s *Instance) State(ctx context.Context) (string, error) {
	var st struct {
		Name string `xmlrpc:"statename"`
	}
	err := s.Call(ctx, "supervisor.getState", nil, &st)
	return st.Name, err
}

// RunningPID returns the pid of program name when supervisord runs it; ok is
// false when supervisord is down or the program is not RUNNING.
func (s *Instance) RunningPID(ctx context.Context, name string) (pid int, ok bool) {
	var info struct {
		PID       int    `xmlrpc:"pid"`
		StateName string `xmlrpc:"statename"`
	}
	if err := s.Call(ctx, "supervisor.getProcessInfo", []any{name}, &info); err != nil {
		return 0, false
	}
	return info.PID, info.StateName == "RUNNING"
}

// CountingCommand returns a Program.Command that appends its pid as a line to
// the file at path each time it starts, then sleeps for an hour. The line is
// written just after supervisord spawns the program, so poll CountStarts.
func CountingCommand(path string) (string, error) {
	if strings.ContainsAny(path, "' \"\\") {
		return "", fmt.Errorf("start counter path %q needs quoting; use a plainer folder", path)
	}
	// $$ survives the exec, so each line is the pid supervisord reports.
	return fmt.Sprintf("/bin/sh -c 'echo $$ >> %s; exec sleep 3600'", path), nil
}

// CountStarts returns how many times a CountingCommand writing to path has
// started.
func CountStarts(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read start counter: %w", err)
	}
	return bytes.Count(data, []byte("\n")), nil
}
