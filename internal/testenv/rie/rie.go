// rie.go: Emulator, one aws-lambda-rie process, and Invoke, one invocation
// through its endpoint with the lines the function wrote meanwhile.
package rie

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	"time"
)

// Path is where `make tools` builds the emulator, relative to the
// repository root.
const Path = "tools/rie/bin/aws-lambda-rie"

// InvocationsPath is the emulator's invocation endpoint, the one `sam local
// invoke` posts to inside its container.
const InvocationsPath = "/2015-03-31/functions/function/invocations"

// Region is the region the function believes it runs in.
const Region = "us-east-1"

// startTimeout bounds the wait for the emulator to accept connections.
const startTimeout = 20 * time.Second

// linesGrace is how long after the answer Invoke waits for the emulator's
// END line, which it writes just before the answer.
const linesGrace = 5 * time.Second

// Find returns the emulator `make tools` built, looking for the repository
// root (the folder holding go.mod) upwards from the working directory.
func Find() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("aws-lambda-rie: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("aws-lambda-rie: no go.mod above the working directory")
		}
		dir = parent
	}
	bin := filepath.Join(dir, Path)
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("aws-lambda-rie not built at %s: run `make tools`", bin)
	}
	return bin, nil
}

// Options configures Start.
type Options struct {
	// Emulator is the aws-lambda-rie binary; empty means Find.
	Emulator string
	// Bootstrap is the function binary, run with its folder as the working
	// directory (/var/task on Lambda).
	Bootstrap string
	// Timeout is the function's timeout, AWS_LAMBDA_FUNCTION_TIMEOUT (whole
	// seconds, at least 1), as template.yaml sets Timeout.
	Timeout time.Duration
	// FunctionName is AWS_LAMBDA_FUNCTION_NAME; default "function".
	FunctionName string
	// MemoryMB is AWS_LAMBDA_FUNCTION_MEMORY_SIZE; default 128.
	MemoryMB int
	// Env is added to the function's environment after the defaults (fake
	// credentials, Region, no shared config files, no instance metadata),
	// and wins over them.
	Env []string
}

// Emulator is one aws-lambda-rie process. Invoke is safe for concurrent
// use, but the emulator serves one invocation at a time and refuses the
// others.
type Emulator struct {
	// URL is the invocation endpoint, http://127.0.0.1:PORT + InvocationsPath.
	URL string

	timeout time.Duration
	cmd     *exec.Cmd
	exited  chan struct{}
	stdout  *lines
	stderr  *lines
	client  *http.Client
	invoke  sync.Mutex
}

// Start starts the emulator on free ports of 127.0.0.1 and waits until it
// accepts connections. The function itself starts at the first invocation.
// Close stops both.
func Start(o Options) (*Emulator, error) {
	if o.Emulator == "" {
		bin, err := Find()
		if err != nil {
			return nil, err
		}
		o.Emulator = bin
	}
	if o.Timeout < time.Second || o.Timeout%time.Second != 0 {
		return nil, fmt.Errorf("aws-lambda-rie: timeout %v: want whole seconds, at least 1", o.Timeout)
	}
	if _, err := os.Stat(o.Bootstrap); err != nil {
		return nil, fmt.Errorf("aws-lambda-rie: function binary: %w", err)
	}
	// The emulator runs it from its own folder.
	abs, err := filepath.Abs(o.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("aws-lambda-rie: function binary: %w", err)
	}
	o.Bootstrap = abs
	var lastErr error
	// A free port is found by binding and releasing it, so another process
	// may take it first; the emulator then exits and new ports are tried.
	for range 3 {
		e, err := start(o)
		if err == nil {
			return e, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func start(o Options) (*Emulator, error) {
	invokePort, err := freePort()
	if err != nil {
		return nil, err
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	name := o.FunctionName
	if name == "" {
		name = "function"
	}
	mem := o.MemoryMB
	if mem == 0 {
		mem = 128
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(invokePort))
	e := &Emulator{
		URL:     "http://" + addr + InvocationsPath,
		timeout: o.Timeout,
		exited:  make(chan struct{}),
		stdout:  newLines(),
		stderr:  newLines(),
		client:  &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
	e.cmd = exec.Command(o.Emulator,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(apiPort)),
		o.Bootstrap)
	e.cmd.Dir = filepath.Dir(o.Bootstrap)
	e.cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.TempDir(),
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(int(o.Timeout/time.Second)),
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(mem),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME=2026/12/01/[$LATEST]0123456789abcdef",
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_SESSION_TOKEN=test",
		// Keep the SDK from looking for credentials or a region anywhere
		// else, such as 169.254.169.254.
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
	}, o.Env...)
	e.cmd.Stdout, e.cmd.Stderr = e.stdout, e.stderr
	// Its own process group, so that Close reaches the function too.
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.Emulator, err)
	}
	go func() {
		_ = e.cmd.Wait()
		close(e.exited)
	}()

	deadline := time.Now().Add(startTimeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			select {
			case <-e.exited:
				return nil, fmt.Errorf("aws-lambda-rie exited at start (port %d taken?):\n%s", invokePort, e.Stderr())
			default:
				return e, nil
			}
		}
		if time.Now().After(deadline) {
			e.Close()
			return nil, fmt.Errorf("aws-lambda-rie not accepting connections on %s after %v: %w\n%s", addr, startTimeout, err, e.Stderr())
		}
		select {
		case <-e.exited:
			return nil, fmt.Errorf("aws-lambda-rie exited at start:\n%s", e.Stderr())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close kills the emulator and the function and waits for the emulator to
// exit.
func (e *Emulator) Close() {
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	<-e.exited
}

// Exited is closed once the emulator has exited.
func (e *Emulator) Exited() <-chan struct{} { return e.exited }

// Stdout is everything the emulator printed on stdout: the function's lines
// between its own START, END and REPORT lines.
func (e *Emulator) Stdout() string { return e.stdout.String() }

// Stderr is the emulator's own diagnostics.
func (e *Emulator) Stderr() string { return e.stderr.String() }

// Output is both, for a failure message.
func (e *Emulator) Output() string {
	return "stdout:\n" + e.Stdout() + "\nstderr:\n" + e.Stderr()
}

// Invocation is the outcome of one Invoke.
type Invocation struct {
	// RequestID is the invocation's id (X-Amzn-RequestId).
	RequestID string
	// Status is the HTTP status of the emulator's answer.
	Status int
	// Body is the answer: the function's response, its error document, or
	// the emulator's timeout message.
	Body []byte
	// OK is true when the function returned a response rather than an error.
	OK bool
	// ErrorType and ErrorMessage are the error document's errorType and
	// errorMessage, what a Step Functions Catch matches.
	ErrorType, ErrorMessage string
	// TimedOut is true when the function missed its deadline.
	TimedOut bool
	// Lines are the lines the function wrote during the invocation (at the
	// first one, its start-up lines too), without the emulator's.
	Lines []string
	// Elapsed is the round trip as the caller saw it.
	Elapsed time.Duration
}

// Invoke posts payload to the invocation endpoint and returns the answer
// with the function's lines. It waits at most the function's timeout plus
// a few seconds, or until ctx is done. An error means no answer came.
func (e *Emulator) Invoke(ctx context.Context, payload string) (Invocation, error) {
	e.invoke.Lock() // the emulator refuses a second invocation meanwhile
	defer e.invoke.Unlock()
	var id [16]byte
	_, _ = rand.Read(id[:])
	inv := Invocation{RequestID: hex.EncodeToString(id[:])}
	ctx, cancel := context.WithTimeout(ctx, e.timeout+linesGrace)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, strings.NewReader(payload))
	if err != nil {
		return inv, err
	}
	req.Header.Set("X-Amzn-RequestId", inv.RequestID)
	start := time.Now()
	resp, err := e.client.Do(req)
	if err != nil {
		return inv, fmt.Errorf("invoke %.60s: %w", payload, err)
	}
	inv.Body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	inv.Elapsed = time.Since(start)
	inv.Status = resp.StatusCode
	if err != nil {
		return inv, fmt.Errorf("invoke %.60s: read answer: %w", payload, err)
	}
	inv.classify()
	inv.Lines, err = e.stdout.between(ctx, "START RequestId: "+inv.RequestID, "END RequestId: "+inv.RequestID)
	if err != nil {
		return inv, fmt.Errorf("invoke %.60s: %w", payload, err)
	}
	return inv, nil
}

// classify reads the answer: an error document has exactly errorType and
// errorMessage (and perhaps stackTrace); the function's result has neither.
func (inv *Invocation) classify() {
	if bytes.HasPrefix(inv.Body, []byte("Task timed out after ")) {
		inv.TimedOut = true
		return
	}
	var doc struct {
		Type    *string `json:"errorType"`
		Message *string `json:"errorMessage"`
	}
	if inv.Status/100 == 2 && json.Unmarshal(inv.Body, &doc) == nil && doc.Type != nil && doc.Message != nil {
		inv.ErrorType, inv.ErrorMessage = *doc.Type, *doc.Message
		return
	}
	inv.OK = inv.Status/100 == 2
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}

// lines keeps what a process writes, as complete lines; safe for
// concurrent use.
type lines struct {
	mu      sync.Mutex
	partial []byte
	all     []string
	grew    chan struct{} // closed and replaced when a line arrives
}

func newLines() *lines { return &lines{grew: make(chan struct{})} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	added := false
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.all = append(l.all, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		added = true
	}
	if added {
		close(l.grew)
		l.grew = make(chan struct{})
	}
	return len(p), nil
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, s := range l.all {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	b.Write(l.partial)
	return b.String()
}

// between waits for a line starting with end and returns the lines after
// the one starting with start and before it.
func (l *lines) between(ctx context.Context, start, end string) ([]string, error) {
	grace := time.NewTimer(linesGrace)
	defer grace.Stop()
	for {
		l.mu.Lock()
		from, to := -1, -1
		for i, s := range l.all {
			if from < 0 && strings.HasPrefix(s, start) {
				from = i
			}
			if from >= 0 && strings.HasPrefix(s, end) {
				to = i
				break
			}
		}
		if to >= 0 {
			out := append([]string(nil), l.all[from+1:to]...)
			l.mu.Unlock()
			return out, nil
		}
		grew := l.grew
		l.mu.Unlock()
		select {
		case <-grew:
		case <-grace.C:
			return nil, fmt.Errorf("the emulator wrote no %q line", end)
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the emulator's %q line: %w", end, ctx.Err())
		}
	}
}
