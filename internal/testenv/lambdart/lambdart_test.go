package lambdart

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runtime plays the function in a goroutine: it takes one event from /next
// and posts body to path (response or error) under the event's id. The
// channel gets the event's headers, or why it could not.
func runtime(s *Server, path, body string) <-chan any {
	done := make(chan any, 1)
	go func() {
		api := "http://" + s.Addr() + "/2018-06-01/runtime/"
		resp, err := http.Get(api + "invocation/next")
		if err != nil {
			done <- err
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		post, err := http.Post(api+"invocation/"+resp.Header.Get("Lambda-Runtime-Aws-Request-Id")+"/"+path, "application/json", strings.NewReader(body))
		if err != nil {
			done <- err
			return
		}
		post.Body.Close()
		done <- resp.Header
	}()
	return done
}

func start(t *testing.T) *Server {
	t.Helper()
	s, err := Start("fn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestInvoke(t *testing.T) {
	s := start(t)
	deadline := time.Now().Add(9 * time.Second)
	fn := runtime(s, "response", `{"healthy":true}`)
	a, err := s.Invoke(context.Background(), `{}`, deadline)
	if err != nil {
		t.Fatal(err)
	}
	if !a.OK || string(a.Body) != `{"healthy":true}` || a.ErrorType != "" || a.At.IsZero() {
		t.Errorf("answer = %+v, want the response", a)
	}
	got := <-fn
	h, ok := got.(http.Header)
	if !ok {
		t.Fatalf("runtime: %v", got)
	}
	if h.Get("Lambda-Runtime-Aws-Request-Id") == "" || h.Get("Lambda-Runtime-Trace-Id") == "" ||
		h.Get("Lambda-Runtime-Deadline-Ms") != strconv.FormatInt(deadline.UnixMilli(), 10) ||
		h.Get("Lambda-Runtime-Invoked-Function-Arn") != "arn:aws:lambda:us-east-1:123456789012:function:fn" {
		t.Errorf("next headers = %v", h)
	}
}

func TestInvokeError(t *testing.T) {
	s := start(t)
	fn := runtime(s, "error", `{"errorType":"ConfigError","errorMessage":"configuration: bad"}`)
	a, err := s.Invoke(context.Background(), `{}`, time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if a.OK || a.ErrorType != "ConfigError" || a.ErrorMessage != "configuration: bad" {
		t.Errorf("answer = %+v, want ConfigError", a)
	}
	if err, ok := (<-fn).(error); ok {
		t.Fatal(err)
	}

	fn = runtime(s, "error", `not json`)
	if _, err := s.Invoke(context.Background(), `{}`, time.Now().Add(time.Second)); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("error document not JSON: err = %v", err)
	}
	<-fn
}

func TestInvokeNoAnswer(t *testing.T) {
	s := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Invoke(ctx, `{}`, time.Now().Add(time.Second)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("nobody takes the event: err = %v, want the context's deadline", err)
	}
}

func TestInitErrors(t *testing.T) {
	s := start(t)
	resp, err := http.Post("http://"+s.Addr()+"/2018-06-01/runtime/init/error", "application/json", strings.NewReader(`{"errorType":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := s.InitErrors(); !slices.Equal(got, []string{`{"errorType":"x"}`}) {
		t.Errorf("InitErrors = %q", got)
	}
}

func TestEnv(t *testing.T) {
	s := start(t)
	env := s.Env("/var/task")
	for _, want := range []string{"AWS_LAMBDA_RUNTIME_API=" + s.Addr(), "AWS_LAMBDA_FUNCTION_NAME=fn", "LAMBDA_TASK_ROOT=/var/task",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"} {
		if !slices.Contains(env, want) {
			t.Errorf("Env has no %s: %q", want, env)
		}
	}
}
