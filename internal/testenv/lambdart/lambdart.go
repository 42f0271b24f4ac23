package lambdart

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"extcloud-failover/internal/testenv/syncbuf"
)

const (
	// Region is the region the function believes it runs in.
	Region = "us-east-1"
	// accountID is the account in the function's ARN.
	accountID = "123456789012"
	// traceID is the X-Ray header every event carries.
	traceID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
	// Grace is how long past an event's deadline Invoke still waits for the
	// answer before it reports that none came.
	Grace = 5 * time.Second
)

// Answer is what the function posted for one event.
type Answer struct {
	// OK is true for .../response, false for .../error.
	OK bool
	// Body is the response, or the error document.
	Body []byte
	// ErrorType and ErrorMessage are the error document's errorType and
	// errorMessage; empty when OK.
	ErrorType, ErrorMessage string
	// At is when the answer reached the server, before Invoke returned it.
	At time.Time
}

// Server is a Runtime API on 127.0.0.1 for one function process at a time.
// Its methods are safe for concurrent use.
type Server struct {
	function string
	addr     string
	srv      *http.Server
	queue    chan event
	seq      atomic.Int64

	mu         sync.Mutex
	waiting    map[string]chan reply
	initErrors []string
}

// event is one queued invocation.
type event struct {
	id       string
	payload  []byte
	deadline time.Time
}

// reply is an answer, or why the answer could not be read.
type reply struct {
	a   Answer
	err error
}

// Start starts a Runtime API for the function named function (it appears in
// the ARN and the environment). Close stops it.
func Start(function string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambda runtime api: %w", err)
	}
	s := &Server{function: function, addr: ln.Addr().String(), queue: make(chan event, 16), waiting: map[string]chan reply{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", s.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, req *http.Request) {
		s.answer(w, req, true)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", func(w http.ResponseWriter, req *http.Request) {
		s.answer(w, req, false)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		s.mu.Lock()
		s.initErrors = append(s.initErrors, string(body))
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is host:port, the value of AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.addr }

// ARN is the function's ARN, as Lambda-Runtime-Invoked-Function-Arn carries it.
func (s *Server) ARN() string {
	return "arn:aws:lambda:" + Region + ":" + accountID + ":function:" + s.function
}

// Close stops the server; a function waiting on /next sees its connection
// closed.
func (s *Server) Close() { _ = s.srv.Close() }

// InitErrors returns the documents posted to /runtime/init/error.
func (s *Server) InitErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.initErrors...)
}

// Env is the environment the Lambda service gives a function in taskRoot,
// pointed at s, plus fake credentials. AWS_EC2_METADATA_DISABLED and the
// /dev/null config files keep the SDK from looking for credentials or a
// region anywhere else: without them it once reached 169.254.169.254. PATH
// is the caller's, so that whatever the function runs is found.
func (s *Server) Env(taskRoot string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_RUNTIME_API=" + s.addr,
		"AWS_LAMBDA_FUNCTION_NAME=" + s.function,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + s.function,
		"AWS_LAMBDA_LOG_STREAM_NAME=2024/05/01/[$LATEST]0123456789abcdef",
		"LAMBDA_TASK_ROOT=" + taskRoot,
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_SESSION_TOKEN=test",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
	}
}

func (s *Server) next(w http.ResponseWriter, req *http.Request) {
	select {
	case ev := <-s.queue:
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", ev.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(ev.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", s.ARN())
		h.Set("Lambda-Runtime-Trace-Id", traceID)
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(ev.payload)
	case <-req.Context().Done(): // the process went away
	}
}

func (s *Server) answer(w http.ResponseWriter, req *http.Request, ok bool) {
	body, err := io.ReadAll(req.Body)
	at := time.Now()
	id := req.PathValue("id")
	s.mu.Lock()
	ch := s.waiting[id]
	delete(s.waiting, id)
	s.mu.Unlock()
	if ch == nil {
		http.Error(w, "unknown request id", http.StatusBadRequest)
		return
	}
	r := reply{a: Answer{OK: ok, Body: body, At: at}}
	switch {
	case err != nil:
		r.err = fmt.Errorf("read the answer to %s: %w", id, err)
	case !ok:
		var doc struct {
			Message string `json:"errorMessage"`
			Type    string `json:"errorType"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			r.err = fmt.Errorf("error document for %s is not JSON (%w): %q", id, err, body)
		}
		r.a.ErrorType, r.a.ErrorMessage = doc.Type, doc.Message
	}
	ch <- r
	if r.err != nil {
		http.Error(w, r.err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

// Invoke queues payload with the given deadline and waits for the function's
// answer until ctx is done or Grace past the deadline. It is safe to call
// from several goroutines; events are handed out in the order queued.
func (s *Server) Invoke(ctx context.Context, payload string, deadline time.Time) (Answer, error) {
	id := fmt.Sprintf("req-%d-%d", time.Now().UnixNano(), s.seq.Add(1))
	ch := make(chan reply, 1)
	s.mu.Lock()
	s.waiting[id] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiting, id)
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithDeadlineCause(ctx, deadline.Add(Grace), fmt.Errorf("%v past its deadline", Grace))
	defer cancel()
	select {
	case s.queue <- event{id: id, payload: []byte(payload), deadline: deadline}:
	case <-ctx.Done():
		return Answer{}, fmt.Errorf("queue %s: %w", payload, context.Cause(ctx))
	}
	select {
	case r := <-ch:
		return r.a, r.err
	case <-ctx.Done():
		return Answer{}, fmt.Errorf("no answer to %s: %w", payload, context.Cause(ctx))
	}
}

// Function is one function process started by StartFunction.
type Function struct {
	// Stdout and Stderr keep what the process wrote.
	Stdout, Stderr *syncbuf.Buffer
	cmd            *exec.Cmd
	exited         chan struct{}
}

// StartFunction starts bin with s's Env (its folder as the task root and
// working directory, as /var/task on Lambda) followed by extra, which wins
// over it. Stop ends it.
func (s *Server) StartFunction(bin string, extra ...string) (*Function, error) {
	f := &Function{Stdout: &syncbuf.Buffer{}, Stderr: &syncbuf.Buffer{}, exited: make(chan struct{})}
	f.cmd = exec.Command(bin)
	f.cmd.Dir = filepath.Dir(bin)
	f.cmd.Env = append(s.Env(f.cmd.Dir), extra...)
	f.cmd.Stdout, f.cmd.Stderr = f.Stdout, f.Stderr
	if err := f.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start function %s: %w", bin, err)
	}
	go func() {
		_ = f.cmd.Wait()
		close(f.exited)
	}()
	return f, nil
}

// Exited is closed when the process has exited.
func (f *Function) Exited() <-chan struct{} { return f.exited }

// Output is what the process wrote, for an error message.
func (f *Function) Output() string {
	return "stdout:\n" + f.Stdout.String() + "\nstderr:\n" + f.Stderr.String()
}

// Stop kills the process and waits for it to exit.
func (f *Function) Stop() {
	_ = f.cmd.Process.Kill()
	<-f.exited
}
