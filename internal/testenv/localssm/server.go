// server.go: the endpoint (Server, Start, Client), its options, and the
// operations SendCommand, ListCommands, ListCommandInvocations and
// GetCommandInvocation, with the scripts they run.
package localssm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// Instance is one managed instance of the local SSM endpoint.
type Instance struct {
	// Dir is the instance's sandbox: scripts run with it as their working
	// folder. Tests point ENV_FILE inside it.
	Dir string
	// Tags are the instance's tags, matched by "tag:Key" targets.
	Tags map[string]string
	// Env is added to the environment of this instance's scripts, after
	// Options.Env (e.g. SUPERVISORCTL=supervisorctl -c /path/conf).
	Env []string
	// NeverAnswer is a host whose agent went away: its scripts never run,
	// its invocations stay Pending until the command's TimeoutSeconds (the
	// delivery timeout, 3600 s when unset) and then end TimedOut with
	// details DeliveryTimedOut, as SSM reports them.
	NeverAnswer bool
}

// Options configures Start. Zero values mean no fault.
type Options struct {
	// Instances maps instance IDs to their sandboxes.
	Instances map[string]Instance
	// RootInDir makes each instance's Dir stand for its file system root:
	// the script's ENV_FILE='/abs/path' is run as Dir + /abs/path, so that
	// instances of one machine do not share an env file and the template's
	// default path can be used. The folder must exist, as on a host.
	// Without it, ENV_FILE must lie in the temp folder.
	RootInDir bool
	// Simulate, when set, stands in for the script on every instance: it is
	// called with the instance ID and a context that ends at the command's
	// executionTimeout, and returns the exit code and the output. Instances
	// then need no Dir. For fleets too large to run a shell on each (make
	// bench).
	Simulate func(ctx context.Context, instanceID string) (code int, stdout string)
	// UndeliveredAfter, when set, replaces the delivery timeout after which
	// a NeverAnswer instance's invocations end DeliveryTimedOut (SSM's is at
	// least 30 s), to keep tests short.
	UndeliveredAfter time.Duration
	// Env is added to every script's environment, after PATH, HOME and LANG.
	Env []string
	// Parallel caps the scripts running at once across all instances
	// (default 8), on top of each command's MaxConcurrency.
	Parallel int
	// ThrottleFirst answers the first N requests (of any operation) with
	// ThrottlingException.
	ThrottleFirst int
	// AccessDenied answers every request with AccessDeniedException.
	AccessDenied bool
	// Hang holds every request open until the client gives up.
	Hang bool
	// NotYetPolls makes the first N ListCommandInvocations of each command
	// answer an empty list, and the first N GetCommandInvocation of each
	// invocation answer InvocationDoesNotExist, as right after SendCommand.
	NotYetPolls int
}

// Command is a command the endpoint accepted, as sent.
type Command struct {
	CommandID      string
	DocumentName   string
	Comment        string
	InstanceIDs    []string // as sent (empty for tag targets)
	Targets        []TargetSpec
	Parameters     map[string][]string
	MaxConcurrency string
	MaxErrors      string
	TimeoutSeconds int
	// Resolved is the instances the command runs on.
	Resolved []string
}

// TargetSpec is one entry of SendCommand's Targets.
type TargetSpec struct {
	Key    string
	Values []string
}

// Server is a local endpoint for the part of the SSM API used by Run
// Command: SendCommand, ListCommands, ListCommandInvocations and
// GetCommandInvocation over the AWS JSON 1.1 protocol. SendCommand answers
// at once and runs the "commands" of AWS-RunShellScript in the background,
// with /bin/sh in each target instance's sandbox, at most MaxConcurrency
// at a time; meanwhile the invocations are Pending, then InProgress, as in
// SSM. Lists are paginated with MaxResults and NextToken. Requests are not
// signature-checked.
type Server struct {
	// URL is the endpoint, for AWS_ENDPOINT_URL_SSM or Client.
	URL string

	opts      Options
	srv       *http.Server
	scriptDir string
	runCtx    context.Context
	stopRuns  context.CancelFunc
	hang      chan struct{}
	slots     chan struct{}
	runs      sync.WaitGroup
	closeOnce sync.Once

	requests atomic.Int64

	mu       sync.Mutex
	byOp     map[string]int
	commands []*ssmCommand
	byID     map[string]*ssmCommand
	seq      int
}

type ssmCommand struct {
	Command
	requested time.Time
	listPolls int
	invs      map[string]*ssmInvocation
}

type ssmInvocation struct {
	instanceID     string
	status         string
	details        string
	code           int
	stdout, stderr string
	start, end     time.Time
	getPolls       int
}

// Start starts the endpoint on 127.0.0.1. Close stops it.
func Start(opts Options) (*Server, error) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		return nil, fmt.Errorf("local SSM endpoint needs /bin/sh: %w", err)
	}
	for id, inst := range opts.Instances {
		if opts.Simulate != nil {
			break
		}
		if fi, err := os.Stat(inst.Dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("local SSM instance %s: sandbox %q is not a folder", id, inst.Dir)
		}
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 8
	}
	scriptDir, err := os.MkdirTemp("", "localssm-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(scriptDir)
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		URL:       "http://" + ln.Addr().String(),
		opts:      opts,
		scriptDir: scriptDir,
		runCtx:    ctx,
		stopRuns:  cancel,
		hang:      make(chan struct{}),
		slots:     make(chan struct{}, opts.Parallel),
		byOp:      map[string]int{},
		byID:      map[string]*ssmCommand{},
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close kills the scripts still running and stops the endpoint. Closing
// twice is harmless.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.stopRuns()
		s.runs.Wait()
		close(s.hang)
		_ = s.srv.Close()
		_ = os.RemoveAll(s.scriptDir)
	})
}

// Client returns an SSM client for the endpoint at url: static
// credentials, us-east-1, and retries with short back-offs so throttling
// tests stay fast.
func Client(url string) *ssm.Client {
	return ssm.New(ssm.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxBackoff = 50 * time.Millisecond
		}),
	})
}

// Requests returns how many requests reached the endpoint, faults included.
func (s *Server) Requests() int { return int(s.requests.Load()) }

// RequestsByOperation returns the request count per operation name
// ("SendCommand", ...), faults included.
func (s *Server) RequestsByOperation() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.byOp))
	for k, v := range s.byOp {
		m[k] = v
	}
	return m
}

// SendCommandCalls returns how many SendCommand calls were accepted.
func (s *Server) SendCommandCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.commands)
}

// Commands returns the accepted commands, oldest first.
func (s *Server) Commands() []Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Command, len(s.commands))
	for i, c := range s.commands {
		out[i] = c.Command
	}
	return out
}

// InstancesPerCall returns, for each accepted SendCommand, how many
// instances it ran on.
func (s *Server) InstancesPerCall() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, len(s.commands))
	for i, c := range s.commands {
		out[i] = len(c.Resolved)
	}
	return out
}

// Invocation is the state of one command on one instance.
type Invocation struct {
	CommandID, InstanceID string
	// Status is Pending, InProgress, Success, Failed, TimedOut or Cancelled.
	Status string
	// ResponseCode is the script's exit code, -1 while it runs.
	ResponseCode   int
	Stdout, Stderr string
	// End is when it ended; zero while it runs.
	End time.Time
}

// Invocations returns every invocation, by command then instance ID: what
// the scripts printed, for failure messages.
func (s *Server) Invocations() []Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Invocation
	for _, c := range s.commands {
		ids := make([]string, 0, len(c.invs))
		for id := range c.invs {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			inv := c.invs[id]
			out = append(out, Invocation{CommandID: c.CommandID, InstanceID: id, Status: inv.status,
				ResponseCode: inv.code, Stdout: inv.stdout, Stderr: inv.stderr, End: inv.end})
		}
	}
	return out
}

// apiError is an error answer of the JSON protocol.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func badRequest(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, args...)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.")
	s.mu.Lock()
	s.byOp[op]++
	s.mu.Unlock()
	switch {
	case s.opts.Hang:
		select {
		case <-r.Context().Done():
		case <-s.hang:
		}
		return
	case r.Method != http.MethodPost || !ok:
		writeError(w, badRequest("UnknownOperationException", "want POST with X-Amz-Target AmazonSSM.<operation>"))
		return
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1"):
		writeError(w, badRequest("SerializationException", "want Content-Type application/x-amz-json-1.1"))
		return
	case s.opts.AccessDenied:
		writeError(w, badRequest("AccessDeniedException", "User: arn:aws:sts::000000000000:assumed-role/test is not authorized to perform: ssm:%s", op))
		return
	case n <= int64(s.opts.ThrottleFirst):
		writeError(w, badRequest("ThrottlingException", "Rate exceeded"))
		return
	}

	var out any
	var err error
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	switch op {
	case "SendCommand":
		var in sendCommandInput
		if err = dec.Decode(&in); err == nil {
			out, err = s.sendCommand(in)
		}
	case "DescribeInstanceInformation":
		var in describeInput
		if err = dec.Decode(&in); err == nil {
			out, err = s.describeInstances(in)
		}
	case "ListCommands":
		var in listCommandsInput
		if err = dec.Decode(&in); err == nil {
			out, err = s.listCommands(in)
		}
	case "ListCommandInvocations":
		var in listInvocationsInput
		if err = dec.Decode(&in); err == nil {
			out, err = s.listInvocations(in)
		}
	case "GetCommandInvocation":
		var in getInvocationInput
		if err = dec.Decode(&in); err == nil {
			out, err = s.getInvocation(in)
		}
	default:
		err = badRequest("UnknownOperationException", "operation %q is not served here", op)
	}
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		writeError(w, ae)
	case err != nil:
		writeError(w, badRequest("SerializationException", "decode request: %v", err))
	default:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(out)
	}
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "message": e.msg})
}

type sendCommandInput struct {
	DocumentName   string
	Comment        string
	InstanceIds    []string
	Targets        []TargetSpec
	Parameters     map[string][]string
	MaxConcurrency string
	MaxErrors      string
	TimeoutSeconds int
}

func (s *Server) sendCommand(in sendCommandInput) (any, error) {
	if in.DocumentName != "AWS-RunShellScript" {
		return nil, badRequest("InvalidDocument", "document %q is not served here (only AWS-RunShellScript)", in.DocumentName)
	}
	if len(in.Parameters["commands"]) == 0 {
		return nil, badRequest("InvalidParameters", "parameter commands is required")
	}
	if (len(in.InstanceIds) == 0) == (len(in.Targets) == 0) {
		return nil, badRequest("ValidationException", "exactly one of InstanceIds and Targets is required")
	}
	if len(in.InstanceIds) > 50 {
		return nil, badRequest("ValidationException", "1 validation error detected: Value at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 50")
	}
	if len(in.Targets) > 5 {
		return nil, badRequest("ValidationException", "at most 5 targets")
	}
	if len(in.Comment) > 100 {
		return nil, badRequest("ValidationException", "comment longer than 100")
	}
	if in.TimeoutSeconds != 0 && (in.TimeoutSeconds < 30 || in.TimeoutSeconds > 2592000) {
		return nil, badRequest("ValidationException", "TimeoutSeconds %d out of 30..2592000", in.TimeoutSeconds)
	}
	execTimeout := time.Hour
	if v := in.Parameters["executionTimeout"]; len(v) > 0 {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > 172800 {
			return nil, badRequest("InvalidParameters", "executionTimeout %q", v[0])
		}
		execTimeout = time.Duration(n) * time.Second
	}

	var resolved []string
	if len(in.InstanceIds) > 0 {
		for _, id := range in.InstanceIds {
			if _, ok := s.opts.Instances[id]; !ok {
				return nil, badRequest("InvalidInstanceId", "instance %s is not a managed instance", id)
			}
			if !slices.Contains(resolved, id) {
				resolved = append(resolved, id)
			}
		}
	} else {
		for id, inst := range s.opts.Instances {
			if matchTargets(id, inst, in.Targets) {
				resolved = append(resolved, id)
			}
		}
		slices.Sort(resolved)
	}

	now := time.Now()
	s.mu.Lock()
	s.seq++
	c := &ssmCommand{
		Command: Command{
			CommandID:      fmt.Sprintf("%08x-0000-4000-8000-%012x", now.Unix()&0xffffffff, s.seq),
			DocumentName:   in.DocumentName,
			Comment:        in.Comment,
			InstanceIDs:    in.InstanceIds,
			Targets:        in.Targets,
			Parameters:     in.Parameters,
			MaxConcurrency: in.MaxConcurrency,
			MaxErrors:      in.MaxErrors,
			TimeoutSeconds: in.TimeoutSeconds,
			Resolved:       resolved,
		},
		requested: now,
		invs:      map[string]*ssmInvocation{},
	}
	for _, id := range resolved {
		c.invs[id] = &ssmInvocation{instanceID: id, status: "Pending", details: "Pending", code: -1}
	}
	s.commands = append(s.commands, c)
	s.byID[c.CommandID] = c
	s.mu.Unlock()

	script := strings.Join(in.Parameters["commands"], "\n") + "\n"
	delivery := time.Duration(in.TimeoutSeconds) * time.Second
	if delivery == 0 {
		delivery = time.Hour // SSM's default
	}
	if s.opts.UndeliveredAfter > 0 {
		delivery = s.opts.UndeliveredAfter
	}
	s.runs.Add(1)
	go s.run(c, script, concurrency(in.MaxConcurrency, len(resolved)), delivery, execTimeout)

	return map[string]any{"Command": map[string]any{
		"CommandId":         c.CommandID,
		"DocumentName":      c.DocumentName,
		"Comment":           c.Comment,
		"InstanceIds":       nonNil(c.InstanceIDs),
		"Targets":           nonNil(c.Targets),
		"Parameters":        c.Parameters,
		"MaxConcurrency":    c.MaxConcurrency,
		"MaxErrors":         c.MaxErrors,
		"TimeoutSeconds":    c.TimeoutSeconds,
		"RequestedDateTime": epoch(now),
		"Status":            "Pending",
		"StatusDetails":     "Pending",
		"TargetCount":       len(resolved),
	}}, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// matchTargets reports whether an instance matches every target (SSM ANDs
// the entries and ORs the values of one entry).
func matchTargets(id string, inst Instance, targets []TargetSpec) bool {
	for _, tg := range targets {
		switch {
		case tg.Key == "InstanceIds":
			if !slices.Contains(tg.Values, id) {
				return false
			}
		case strings.HasPrefix(tg.Key, "tag:"):
			v, ok := inst.Tags[strings.TrimPrefix(tg.Key, "tag:")]
			if !ok || !slices.Contains(tg.Values, v) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// concurrency turns MaxConcurrency ("10" or "25%") into a count.
func concurrency(v string, n int) int {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		if pct, err := strconv.Atoi(p); err == nil && pct > 0 {
			return max(1, int(math.Ceil(float64(n*pct)/100)))
		}
	} else if c, err := strconv.Atoi(v); err == nil && c > 0 {
		return c
	}
	return 50
}

// run executes the command on its instances, at most limit at once. An
// instance that never answers times out after the delivery timeout.
func (s *Server) run(c *ssmCommand, script string, limit int, delivery, timeout time.Duration) {
	defer s.runs.Done()
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for _, id := range c.Resolved {
		inst := s.opts.Instances[id]
		if inst.NeverAnswer {
			wg.Go(func() {
				t := time.NewTimer(delivery)
				defer t.Stop()
				select {
				case <-t.C:
				case <-s.runCtx.Done():
					return
				}
				s.mu.Lock()
				inv := c.invs[id]
				inv.status, inv.details, inv.end = "TimedOut", "DeliveryTimedOut", time.Now()
				s.mu.Unlock()
			})
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-s.runCtx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.runOne(c, id, inst, script, timeout)
		}()
	}
	wg.Wait()
}

// runOne runs the script on one instance and records the outcome.
func (s *Server) runOne(c *ssmCommand, id string, inst Instance, script string, timeout time.Duration) {
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	case <-s.runCtx.Done():
		return
	}
	inv := c.invs[id]
	s.mu.Lock()
	inv.status, inv.details, inv.start = "InProgress", "InProgress", time.Now()
	s.mu.Unlock()

	status, details, code, stdout, stderr := "Failed", "Failed", 1, "", ""
	path := filepath.Join(s.scriptDir, c.CommandID+"-"+id+".sh")
	var err error
	if s.opts.Simulate != nil {
		ctx, cancel := context.WithTimeout(s.runCtx, timeout)
		code, stdout = s.opts.Simulate(ctx, id)
		switch {
		case ctx.Err() == context.DeadlineExceeded:
			status, details, code = "TimedOut", "ExecutionTimedOut", -1
		case s.runCtx.Err() != nil:
			status, details, code = "Cancelled", "Cancelled", -1
		case code == 0:
			status, details = "Success", "Success"
		}
		cancel()
		s.mu.Lock()
		inv.status, inv.details, inv.code, inv.stdout, inv.end = status, details, code, stdout, time.Now()
		s.mu.Unlock()
		return
	}
	if s.opts.RootInDir {
		script, err = rooted(script, inst.Dir)
	} else {
		err = sandboxed(script)
	}
	if err != nil {
		stderr = err.Error()
	} else if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		stderr = fmt.Sprintf("write script: %v", err)
	} else {
		ctx, cancel := context.WithTimeout(s.runCtx, timeout)
		cmd := exec.CommandContext(ctx, "/bin/sh", path)
		cmd.Dir = inst.Dir
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + inst.Dir, "LANG=C"}, s.opts.Env...)
		cmd.Env = append(cmd.Env, inst.Env...)
		var so, se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		// Kill the whole process group: the script's children too.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 5 * time.Second
		err := cmd.Run()
		stdout, stderr = so.String(), se.String()
		var ee *exec.ExitError
		switch {
		case ctx.Err() == context.DeadlineExceeded:
			status, details, code = "TimedOut", "ExecutionTimedOut", -1
		case s.runCtx.Err() != nil:
			status, details, code = "Cancelled", "Cancelled", -1
		case err == nil:
			status, details, code = "Success", "Success", 0
		case errors.As(err, &ee):
			code = ee.ExitCode()
		default:
			stderr += err.Error()
		}
		cancel()
	}
	s.mu.Lock()
	inv.status, inv.details, inv.code, inv.stdout, inv.stderr, inv.end = status, details, code, stdout, stderr, time.Now()
	s.mu.Unlock()
}

// sandboxed refuses a script whose ENV_FILE assignment points outside the
// temp folder: tests run as root on a real machine.
func sandboxed(script string) error {
	for line := range strings.Lines(script) {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "ENV_FILE=")
		if !ok {
			continue
		}
		p := filepath.Clean(strings.Trim(v, `'"`))
		tmp := filepath.Clean(os.TempDir())
		if !strings.HasPrefix(p, tmp+string(filepath.Separator)) {
			return fmt.Errorf("testenv: refusing to run a script with ENV_FILE %s outside %s", p, tmp)
		}
	}
	return nil
}

// rooted rewrites the script's ENV_FILE assignment into dir, the
// instance's stand-in for /.
func rooted(script, dir string) (string, error) {
	var b strings.Builder
	found := false
	for line := range strings.Lines(script) {
		v, ok := strings.CutPrefix(line, "ENV_FILE='")
		if ok && !found {
			p, _, closed := strings.Cut(v, "'")
			if !closed || !filepath.IsAbs(p) || strings.ContainsAny(p, "'\\") {
				return "", fmt.Errorf("localssm: ENV_FILE assignment %q is not a quoted absolute path", strings.TrimSpace(line))
			}
			line = "ENV_FILE='" + filepath.Join(dir, p) + "'\n"
			found = true
		}
		b.WriteString(line)
	}
	return b.String(), nil
}

// page is a list request's place: where it starts and how many it takes.
type page struct{ offset, max int }

// readPage checks a list request's MaxResults (0 means 50; at most 50) and
// NextToken (an offset this server handed out).
func readPage(maxResults int, nextToken string) (page, error) {
	if maxResults == 0 {
		maxResults = 50
	}
	if maxResults < 1 || maxResults > 50 {
		return page{}, badRequest("ValidationException", "MaxResults %d out of 1..50", maxResults)
	}
	pg := page{max: maxResults}
	if nextToken != "" {
		n, err := strconv.Atoi(nextToken)
		if err != nil || n < 0 {
			return page{}, badRequest("InvalidNextToken", "next token %q", nextToken)
		}
		pg.offset = n
	}
	return pg, nil
}

// of is the answer holding pg's share of all under key, with a NextToken
// when more remain.
func (pg page) of(key string, all []map[string]any) map[string]any {
	out := map[string]any{key: []any{}}
	if pg.offset < len(all) {
		end := min(pg.offset+pg.max, len(all))
		out[key] = all[pg.offset:end]
		if end < len(all) {
			out["NextToken"] = strconv.Itoa(end)
		}
	}
	return out
}

// command is the command id names; s.mu is held.
func (s *Server) command(id string) (*ssmCommand, error) {
	c, ok := s.byID[id]
	if !ok {
		return nil, badRequest("InvalidCommandId", "command %s not found", id)
	}
	return c, nil
}

type listCommandsInput struct {
	CommandId  string
	InstanceId string
	MaxResults int
	NextToken  string
}

// listCommands answers the commands, or the one CommandId names, with a
// status computed from its invocations: InProgress while one has not
// ended, then Success when all succeeded, else Cancelled, TimedOut or
// Failed, in that order. A tag that matched no instance is Success with
// TargetCount 0.
func (s *Server) listCommands(in listCommandsInput) (any, error) {
	pg, err := readPage(in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cmds := s.commands
	if in.CommandId != "" {
		c, err := s.command(in.CommandId)
		if err != nil {
			return nil, err
		}
		cmds = []*ssmCommand{c}
	}
	var all []map[string]any
	for _, c := range cmds {
		if in.InstanceId != "" && c.invs[in.InstanceId] == nil {
			continue
		}
		all = append(all, c.listEntry())
	}
	return pg.of("Commands", all), nil
}

// listEntry is c as ListCommands shows it; s.mu is held.
func (c *ssmCommand) listEntry() map[string]any {
	var done, errs, undelivered int
	status := "Success"
	rank := map[string]int{"Success": 0, "Failed": 1, "TimedOut": 2, "Cancelled": 3}
	for _, inv := range c.invs {
		r, ended := rank[inv.status]
		if !ended {
			status = "InProgress"
			continue
		}
		done++
		if inv.status != "Success" {
			errs++
		}
		if inv.details == "DeliveryTimedOut" {
			undelivered++
		}
		if status != "InProgress" && r > rank[status] {
			status = inv.status
		}
	}
	return map[string]any{
		"CommandId":             c.CommandID,
		"DocumentName":          c.DocumentName,
		"Comment":               c.Comment,
		"InstanceIds":           nonNil(c.InstanceIDs),
		"Targets":               nonNil(c.Targets),
		"Parameters":            c.Parameters,
		"MaxConcurrency":        c.MaxConcurrency,
		"MaxErrors":             c.MaxErrors,
		"TimeoutSeconds":        c.TimeoutSeconds,
		"RequestedDateTime":     epoch(c.requested),
		"Status":                status,
		"StatusDetails":         status,
		"TargetCount":           len(c.invs),
		"CompletedCount":        done,
		"ErrorCount":            errs,
		"DeliveryTimedOutCount": undelivered,
	}
}

type listInvocationsInput struct {
	CommandId  string
	InstanceId string
	MaxResults int
	NextToken  string
	Details    bool
}

func (s *Server) listInvocations(in listInvocationsInput) (any, error) {
	pg, err := readPage(in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cmds := s.commands
	if in.CommandId != "" {
		c, err := s.command(in.CommandId)
		if err != nil {
			return nil, err
		}
		if in.NextToken == "" {
			c.listPolls++
		}
		if c.listPolls <= s.opts.NotYetPolls {
			return map[string]any{"CommandInvocations": []any{}}, nil
		}
		cmds = []*ssmCommand{c}
	}
	var all []map[string]any
	for _, c := range cmds {
		ids := make([]string, 0, len(c.invs))
		for id := range c.invs {
			if in.InstanceId == "" || in.InstanceId == id {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			all = append(all, c.invocationEntry(c.invs[id], in.Details))
		}
	}
	return pg.of("CommandInvocations", all), nil
}

func (c *ssmCommand) invocationEntry(inv *ssmInvocation, details bool) map[string]any {
	e := map[string]any{
		"CommandId":         c.CommandID,
		"InstanceId":        inv.instanceID,
		"Comment":           c.Comment,
		"DocumentName":      c.DocumentName,
		"DocumentVersion":   "$DEFAULT",
		"RequestedDateTime": epoch(c.requested),
		"Status":            inv.status,
		"StatusDetails":     inv.details,
	}
	if details {
		p := map[string]any{
			"Name":          "aws:runShellScript",
			"Status":        inv.status,
			"StatusDetails": inv.details,
			"ResponseCode":  inv.code,
			"Output":        capOutput(inv.stdout+inv.stderr, 2500),
		}
		if !inv.start.IsZero() {
			p["ResponseStartDateTime"] = epoch(inv.start)
		}
		if !inv.end.IsZero() {
			p["ResponseFinishDateTime"] = epoch(inv.end)
		}
		e["CommandPlugins"] = []any{p}
	}
	return e
}

type getInvocationInput struct {
	CommandId  string
	InstanceId string
	PluginName string
}

func (s *Server) getInvocation(in getInvocationInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.command(in.CommandId)
	if err != nil {
		return nil, err
	}
	inv, ok := c.invs[in.InstanceId]
	if !ok {
		return nil, badRequest("InvocationDoesNotExist", "no invocation of command %s on %s", in.CommandId, in.InstanceId)
	}
	if in.PluginName != "" && in.PluginName != "aws:runShellScript" && in.PluginName != "aws:RunShellScript" {
		return nil, badRequest("InvalidPluginName", "plugin %s", in.PluginName)
	}
	inv.getPolls++
	if inv.getPolls <= s.opts.NotYetPolls {
		return nil, badRequest("InvocationDoesNotExist", "no invocation of command %s on %s yet", in.CommandId, in.InstanceId)
	}
	out := map[string]any{
		"CommandId":             c.CommandID,
		"InstanceId":            inv.instanceID,
		"Comment":               c.Comment,
		"DocumentName":          c.DocumentName,
		"DocumentVersion":       "$DEFAULT",
		"PluginName":            "aws:runShellScript",
		"ResponseCode":          inv.code,
		"Status":                inv.status,
		"StatusDetails":         inv.details,
		"StandardOutputContent": capOutput(inv.stdout, 24000),
		"StandardErrorContent":  capOutput(inv.stderr, 8000),
		"StandardOutputUrl":     "",
		"StandardErrorUrl":      "",
	}
	if !inv.start.IsZero() {
		out["ExecutionStartDateTime"] = inv.start.UTC().Format(time.RFC3339Nano)
	}
	if !inv.end.IsZero() {
		out["ExecutionEndDateTime"] = inv.end.UTC().Format(time.RFC3339Nano)
		out["ExecutionElapsedTime"] = fmt.Sprintf("PT%.3fS", inv.end.Sub(inv.start).Seconds())
	}
	return out, nil
}

// capOutput keeps the first n bytes, as SSM truncates output.
func capOutput(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// epoch is a timestamp as the JSON protocol sends it: seconds since 1970.
func epoch(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}
