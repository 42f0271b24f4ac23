// This file holds the Supervisor pusher: the env file plus supervisord
// XML-RPC restarts on one or more supervisords.

package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/kolo/xmlrpc"

	"extcloud-failover/internal/ident"
)

// Supervisor defaults.
const (
	DefaultSupervisorConcurrency  = 4
	DefaultSupervisorStopTimeout  = 30 * time.Second
	DefaultSupervisorStartTimeout = 30 * time.Second

	// svCallTimeout bounds the calls that do not wait for a program.
	svCallTimeout = 10 * time.Second
	// svMaxBody caps an XML-RPC response.
	svMaxBody = 1 << 20
	// svSkewTolerance is the clock difference below which supervisord's
	// start times are compared with the env file's as they are.
	svSkewTolerance = 2 * time.Second
)

// supervisord fault codes (supervisor/xmlrpc.py, class Faults).
const (
	svFaultBadName        = 10
	svFaultAlreadyStarted = 60
	svFaultNotRunning     = 70
	svFaultSuccess        = 80
)

// errSupervisorUnauthorized is a 401 from supervisord.
var errSupervisorUnauthorized = errors.New("unauthorized (check SUPERVISOR_USERNAME/SUPERVISOR_PASSWORD)")

// SupervisorConfig configures NewSupervisor.
type SupervisorConfig struct {
	// URLs are the supervisord XML-RPC addresses: unix:///path/to.sock,
	// http://host:port/RPC2 or https://... (path /RPC2 when empty). Basic-auth
	// credentials in a URL take precedence over Username and Password.
	URLs []string
	// Username and Password are the basic-auth credentials, if any.
	Username, Password string
	// Programs are restarted on every host: stopped in reverse order, then
	// started in order, each waited for. "name", "group:name" or "group:*"
	// (every program of the group, in supervisord's priority order).
	Programs []string
	// EnvFile is the local ext_cloud.env the programs read.
	EnvFile string
	// Format is how EnvFile is written (empty means EnvShell).
	Format EnvFormat
	// Concurrency is how many supervisords are talked to at once
	// (0 means DefaultSupervisorConcurrency).
	Concurrency int
	// StopTimeout and StartTimeout bound the wait inside one stop or start
	// call (0 means 30 s); the push's ctx bounds them too.
	StopTimeout, StartTimeout time.Duration
	// Now is the local clock (nil means time.Now), used to correct for a
	// supervisord whose clock differs from ours.
	Now func() time.Time
}

// Supervisor points the programs of one or more supervisords at a target:
// it writes the env file and restarts the programs through XML-RPC.
// It is safe for concurrent use, but pushes must not overlap (the env file
// is shared); the state's compare-and-swap serialises them.
type Supervisor struct {
	hosts        []*svHost
	byID         map[string]*svHost
	programs     []string
	envFile      string
	format       EnvFormat
	concurrency  int
	stopTimeout  time.Duration
	startTimeout time.Duration
	now          func() time.Time
}

// svHost is one supervisord.
type svHost struct {
	id         string // URL without credentials
	rpcURL     string // URL the request is sent to
	user, pass string
	client     *http.Client
}

// NewSupervisor checks c and returns a Supervisor. Errors name the setting
// (SUPERVISOR_URL, SUPERVISOR_PROGRAMS, ENV_FILE) and never a password.
func NewSupervisor(c SupervisorConfig) (*Supervisor, error) {
	if len(c.URLs) == 0 {
		return nil, errors.New("SUPERVISOR_URL: empty (want unix:///path/to.sock or http://host:port/RPC2)")
	}
	if len(c.Programs) == 0 {
		return nil, errors.New("SUPERVISOR_PROGRAMS: empty (want program names, group:name or group:*)")
	}
	for _, p := range c.Programs {
		if err := ident.Program(p); err != nil {
			return nil, fmt.Errorf("SUPERVISOR_PROGRAMS: bad program %w", err)
		}
	}
	if c.EnvFile == "" {
		return nil, errors.New("ENV_FILE: empty (want the path of ext_cloud.env)")
	}
	s := &Supervisor{
		programs:     append([]string(nil), c.Programs...),
		envFile:      c.EnvFile,
		format:       c.Format,
		concurrency:  c.Concurrency,
		stopTimeout:  c.StopTimeout,
		startTimeout: c.StartTimeout,
		now:          c.Now,
	}
	switch s.format {
	case "":
		s.format = EnvShell
	case EnvShell, EnvPlain:
	default:
		return nil, fmt.Errorf("ENV_FILE_FORMAT: unknown format %q (want shell or plain)", s.format)
	}
	if s.concurrency <= 0 {
		s.concurrency = DefaultSupervisorConcurrency
	}
	if s.stopTimeout <= 0 {
		s.stopTimeout = DefaultSupervisorStopTimeout
	}
	if s.startTimeout <= 0 {
		s.startTimeout = DefaultSupervisorStartTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.byID = make(map[string]*svHost, len(c.URLs))
	for i, raw := range c.URLs {
		h, err := newSVHost(raw, c.Username, c.Password)
		if err != nil {
			return nil, fmt.Errorf("SUPERVISOR_URL entry %d: %w", i+1, err)
		}
		if s.byID[h.id] != nil {
			return nil, fmt.Errorf("SUPERVISOR_URL: %s listed twice", h.id)
		}
		s.byID[h.id] = h
		s.hosts = append(s.hosts, h)
	}
	return s, nil
}

func newSVHost(raw, user, pass string) (*svHost, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the input, which may hold a password.
		return nil, errors.New("not a URL (want unix:///path/to.sock or http://host:port/RPC2)")
	}
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
		u.User = nil
	}
	h := &svHost{id: u.String(), user: user, pass: pass}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // supervisord is ours; never send it through a proxy
	switch u.Scheme {
	case "unix":
		sock := u.Path
		if sock == "" {
			return nil, fmt.Errorf("%s: no socket path (want unix:///path/to.sock)", h.id)
		}
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}
		h.rpcURL = "http://localhost/RPC2"
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("%s: no host (want http://host:port/RPC2)", h.id)
		}
		r := *u
		if r.Path == "" || r.Path == "/" {
			r.Path = "/RPC2"
		}
		h.rpcURL = r.String()
	default:
		return nil, fmt.Errorf("%s: unsupported scheme %q (want unix, http or https)", h.id, u.Scheme)
	}
	h.client = &http.Client{Transport: tr}
	return h, nil
}

// Hosts returns the host IDs: the configured URLs without credentials.
func (s *Supervisor) Hosts() []string {
	ids := make([]string, len(s.hosts))
	for i, h := range s.hosts {
		ids[i] = h.id
	}
	return ids
}

// Push writes the env file for t, then restarts the programs on the selected
// supervisords (hosts are host IDs as returned by Hosts; empty means all), at
// most Concurrency at once, and checks that every program is RUNNING.
//
// The programs are restarted as the Python handler did: every one stopped in
// reverse order, then every one started in order, each call waited for; a
// program that was not running is just started. Push is idempotent per
// generation: when the env file already held t (a re-push, for instance
// after a crash between writing the file and restarting), only programs that
// are not RUNNING, or whose start time is earlier than the file's
// modification time, are restarted; a program started since the file was
// written already runs with it and counts as converged. Start times have a
// one-second resolution, so a program started in the same second as the
// write counts as started after it. When supervisord's clock differs from
// ours by more than two seconds, its start times are shifted by the
// difference first.
//
// Push returns an error only when the env file cannot be written (then no
// program is restarted, and every selected host is in Result.Failed with that
// error; a newer generation in the file wraps ErrStaleGeneration). Failures on
// a host, and host IDs that are not configured (wrapping ErrUnknownHost), are
// in Result.Failed. When a host ID is not configured (SUPERVISOR_URL changed
// while a push was pending), every configured supervisord is pushed: the
// ones that took its place never got the push, and a re-push of the same
// generation restarts only programs older than the env file.
func (s *Supervisor) Push(ctx context.Context, t Target, hosts []string) (Result, error) {
	res := Result{Failed: map[string]error{}}
	selected := s.hosts
	if len(hosts) > 0 {
		selected = nil
		gone := false
		seen := map[string]bool{}
		for _, id := range hosts {
			if seen[id] {
				continue
			}
			seen[id] = true
			h, ok := s.byID[id]
			if !ok {
				res.Failed[id] = fmt.Errorf("supervisor %s: not configured in SUPERVISOR_URL: %w", id, ErrUnknownHost)
				gone = true
				continue
			}
			selected = append(selected, h)
		}
		if gone {
			selected = s.hosts
		}
	}

	w, err := s.format.Write(s.envFile, t)
	if err != nil {
		for _, h := range selected {
			res.Failed[h.id] = err
		}
		return res, err
	}
	return s.restartAll(ctx, res, selected, w.Change.NeedsRestart(), w.ModTime), nil
}

// Inspect compares the env file with t for the check that runs on every
// invocation, without any XML-RPC call (see EnvFormat.Inspect): a file
// holding exactly t costs one read; one that means t in another format, or
// with keys missing (the Python handler's), is rewritten without a restart;
// a missing or different one is reported (EnvCreated, EnvReplaced), and a
// Push of t then writes it and restarts every program. A file with a newer
// generation is an error wrapping ErrStaleGeneration.
func (s *Supervisor) Inspect(t Target) (EnvWrite, error) {
	return s.format.Inspect(s.envFile, t)
}

// Compare is Inspect for a dry run: it writes nothing (EnvFormat.Compare).
func (s *Supervisor) Compare(t Target) (EnvWrite, error) {
	return s.format.Compare(s.envFile, t)
}

func (s *Supervisor) restartAll(ctx context.Context, res Result, selected []*svHost, changed bool, written time.Time) Result {
	errs := fanOut(ctx, len(selected), s.concurrency, func(ctx context.Context, i int) error {
		return s.pushHost(ctx, selected[i], changed, written)
	})
	for i, h := range selected {
		err := errs[i]
		if err == context.Canceled || err == context.DeadlineExceeded {
			// fanOut did not start this host: ctx ended first.
			err = fmt.Errorf("supervisor %s: not contacted: %w", h.id, err)
		}
		if err != nil {
			res.Failed[h.id] = err
			continue
		}
		res.Converged = append(res.Converged, h.id)
	}
	return res
}

// pushHost restarts the programs on one supervisord and checks them.
func (s *Supervisor) pushHost(ctx context.Context, h *svHost, changed bool, written time.Time) error {
	var state struct {
		Name string `xmlrpc:"statename"`
	}
	if err := s.call(ctx, h, svCallTimeout, "getState", &state); err != nil {
		return fmt.Errorf("supervisor %s: %w", h.id, err)
	}
	if state.Name != "RUNNING" {
		return fmt.Errorf("supervisor %s: supervisord is %s (want RUNNING)", h.id, state.Name)
	}
	todo := s.programs
	if !changed {
		// A re-push: only what has not started since the file was written.
		todo = nil
		for _, p := range s.programs {
			infos, err := s.processInfo(ctx, h, p)
			if err != nil {
				return err
			}
			for _, in := range infos {
				if !s.converged(in, written) {
					todo = append(todo, in.namespec())
				}
			}
		}
	}
	if err := s.restartInOrder(ctx, h, todo); err != nil {
		return err
	}
	for _, p := range s.programs {
		infos, err := s.processInfo(ctx, h, p)
		if err != nil {
			return err
		}
		for _, in := range infos {
			if in.StateName != "RUNNING" {
				return fmt.Errorf("supervisor %s: program %s is %s (want RUNNING)", h.id, in.namespec(), in.StateName)
			}
		}
	}
	return nil
}

// converged reports whether a process already runs with the env file written
// at written.
func (s *Supervisor) converged(in svProcessInfo, written time.Time) bool {
	if in.StateName != "RUNNING" {
		return false
	}
	start := in.Start
	if in.Now > 0 {
		skew := s.now().Unix() - in.Now
		if time.Duration(abs64(skew))*time.Second > svSkewTolerance {
			start += skew
		}
	}
	return start >= written.Unix()
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// svProcessInfo is the part of getProcessInfo's struct that Push reads.
type svProcessInfo struct {
	Name      string `xmlrpc:"name"`
	Group     string `xmlrpc:"group"`
	Start     int64  `xmlrpc:"start"`
	Now       int64  `xmlrpc:"now"`
	StateName string `xmlrpc:"statename"`
}

// namespec is how supervisord names the process in calls.
func (in svProcessInfo) namespec() string {
	if in.Group == in.Name {
		return in.Name
	}
	return in.Group + ":" + in.Name
}

// processInfo returns the processes program p names.
func (s *Supervisor) processInfo(ctx context.Context, h *svHost, p string) ([]svProcessInfo, error) {
	if group, ok := strings.CutSuffix(p, ":*"); ok {
		var all []svProcessInfo
		if err := s.call(ctx, h, svCallTimeout, "getAllProcessInfo", &all); err != nil {
			return nil, fmt.Errorf("supervisor %s: program %s: getAllProcessInfo: %w%s", h.id, p, err, svHint(err))
		}
		var infos []svProcessInfo
		for _, in := range all {
			if in.Group == group {
				infos = append(infos, in)
			}
		}
		if len(infos) == 0 {
			return nil, fmt.Errorf("supervisor %s: program %s: no such group%s", h.id, p, svNoSuchProgram)
		}
		return infos, nil
	}
	var in svProcessInfo
	if err := s.call(ctx, h, svCallTimeout, "getProcessInfo", &in, p); err != nil {
		return nil, fmt.Errorf("supervisor %s: program %s: getProcessInfo: %w%s", h.id, p, err, svHint(err))
	}
	return []svProcessInfo{in}, nil
}

// restartInOrder restarts programs the way the Python handler did: it stops
// them in reverse order, then starts them in order, waiting for each call,
// so no program starts before all have stopped (the application stops
// before the tunnel it uses, and the tunnel is up before the application
// starts). NOT_RUNNING on stop and ALREADY_STARTED on start are fine.
func (s *Supervisor) restartInOrder(ctx context.Context, h *svHost, programs []string) error {
	stop := svStep{"stopProcess", s.stopTimeout, svFaultNotRunning}
	start := svStep{"startProcess", s.startTimeout, svFaultAlreadyStarted}
	for i := len(programs) - 1; i >= 0; i-- {
		if err := s.step(ctx, h, stop, programs[i]); err != nil {
			return err
		}
	}
	for _, p := range programs {
		if err := s.step(ctx, h, start, p); err != nil {
			return err
		}
	}
	return nil
}

// svStep is a waiting stop or start call and the fault that means it was
// not needed.
type svStep struct {
	method  string
	timeout time.Duration
	ok      int
}

// step makes one stop or start call for program p, waiting for it.
func (s *Supervisor) step(ctx context.Context, h *svHost, st svStep, p string) error {
	var v any
	err := s.call(ctx, h, st.timeout, st.method, &v, p, true)
	var fault xmlrpc.FaultError
	if errors.As(err, &fault) && fault.Code == st.ok {
		return nil
	}
	if err != nil {
		return fmt.Errorf("supervisor %s: program %s: %s: %w%s", h.id, p, st.method, err, svHint(err))
	}
	// A group ("g:*") answers with one status struct per process.
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	for _, item := range list {
		m, _ := item.(map[string]any)
		name, _ := m["name"].(string)
		group, _ := m["group"].(string)
		code, _ := m["status"].(int64)
		desc, _ := m["description"].(string)
		if code == svFaultSuccess || code == int64(st.ok) {
			continue
		}
		in := svProcessInfo{Name: name, Group: group}
		return fmt.Errorf("supervisor %s: program %s: %s: %w", h.id, in.namespec(), st.method,
			xmlrpc.FaultError{Code: int(code), String: desc})
	}
	return nil
}

// svNoSuchProgram is the fix for a program supervisord does not know.
const svNoSuchProgram = " (not a program of this supervisord: compare SUPERVISOR_PROGRAMS with `supervisorctl status`)"

// svHint returns what to do about err, when it is a fault the configuration
// causes, or "".
func svHint(err error) string {
	var fault xmlrpc.FaultError
	if errors.As(err, &fault) && fault.Code == svFaultBadName {
		return svNoSuchProgram
	}
	return ""
}

// call makes one XML-RPC call supervisor.<method> and decodes its value into
// v. The call is bounded by ctx and by timeout. A fault is returned as an
// xmlrpc.FaultError.
func (s *Supervisor) call(ctx context.Context, h *svHost, timeout time.Duration, method string, v any, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var a any
	if len(args) > 0 {
		a = args
	}
	req, err := xmlrpc.NewRequest(h.rpcURL, "supervisor."+method, a)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	req = req.WithContext(ctx)
	if h.user != "" || h.pass != "" {
		req.SetBasicAuth(h.user, h.pass)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		// The request URL of a unix socket is a placeholder; keep only why.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return errSupervisorUnauthorized
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, svMaxBody+1))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if len(body) > svMaxBody {
		return fmt.Errorf("response larger than %d bytes", svMaxBody)
	}
	return svDecode(body, v)
}

// svDecode decodes an XML-RPC response, turning a panic in the decoder into
// an error: the body comes from the network.
func svDecode(body []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decode response: %v", r)
		}
	}()
	if !bytes.Contains(body, []byte("<methodResponse")) {
		return errors.New("decode response: not an XML-RPC response")
	}
	r := xmlrpc.Response(body)
	if err := r.Err(); err != nil {
		var fault xmlrpc.FaultError
		if errors.As(err, &fault) {
			return fault
		}
		return fmt.Errorf("decode response: %w", err)
	}
	if err := r.Unmarshal(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("decode response: no value")
		}
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// RestartsSelf returns the first entry of programs that would restart the
// process supervisord runs as group:name (a checker that runs under
// supervisord reads both from SUPERVISOR_GROUP_NAME and
// SUPERVISOR_PROCESS_NAME), or "" when none would. A program outside any
// [group:x] section is its own group, so "name", "name:name" and "name:*"
// all reach it; a grouped one is reached by "group:name" and "group:*".
func RestartsSelf(programs []string, group, name string) string {
	if group == "" || name == "" {
		return ""
	}
	for _, p := range programs {
		g, n, grouped := strings.Cut(p, ":")
		switch {
		case !grouped && g == name && group == name:
			return p
		case grouped && g == group && (n == "*" || n == name):
			return p
		}
	}
	return ""
}

// SameSupervisor reports whether serverURL, the address supervisord gives
// the programs it starts (SUPERVISOR_SERVER_URL: unix:///path.sock or
// http://host:port), is one of urls as SUPERVISOR_URL lists them.
func SameSupervisor(serverURL string, urls []string) bool {
	want, ok := svEndpoint(serverURL)
	if !ok {
		return false
	}
	for _, u := range urls {
		if got, ok := svEndpoint(u); ok && got == want {
			return true
		}
	}
	return false
}

// svEndpoint returns what identifies a supervisord's address: its socket
// path, or its lower-case host:port with the scheme's default port.
func svEndpoint(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	switch u.Scheme {
	case "unix":
		if u.Path == "" {
			return "", false
		}
		return "unix:" + path.Clean(u.Path), true
	case "http", "https":
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		host := strings.ToLower(u.Hostname())
		if host == "localhost" {
			host = "127.0.0.1"
		}
		return "tcp:" + net.JoinHostPort(host, port), true
	}
	return "", false
}
