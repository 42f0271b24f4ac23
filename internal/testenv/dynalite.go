package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// dynaliteBin is the dynalite launcher, relative to the repository root;
// `npm ci --prefix tools/dynalite` installs it.
const dynaliteBin = "tools/dynalite/node_modules/.bin/dynalite"

// dynaliteStartTimeout bounds the wait for dynalite to accept connections;
// node starts in well under a second, but the machine may be busy.
const dynaliteStartTimeout = 30 * time.Second

// Dynalite starts a dynalite (an in-memory DynamoDB) on 127.0.0.1 for this
// test, waits until it accepts connections and returns its endpoint,
// "http://127.0.0.1:PORT". Tables are created, deleted and updated without
// delay. The process group is killed by t.Cleanup. A missing dynalite is a
// test failure naming the install command.
//
// Each call starts its own instance (about half a second); tests that need
// several tables share one instance and use distinct table names.
func Dynalite(t testing.TB) string {
	t.Helper()
	root, err := dynaliteRepoRoot()
	if err != nil {
		t.Fatalf("dynalite: %v", err)
	}
	bin := filepath.Join(root, dynaliteBin)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("dynalite not installed: run `npm ci --prefix tools/dynalite` (make test does this): %v", err)
	}

	// The free port is found by binding and releasing it, so another process
	// may take it first; dynalite then exits and a new port is tried.
	var lastErr error
	for range 3 {
		endpoint, err := dynaliteStart(t, bin)
		if err == nil {
			return endpoint
		}
		lastErr = err
	}
	t.Fatalf("dynalite: %v", lastErr)
	return ""
}

func dynaliteStart(t testing.TB, bin string) (string, error) {
	t.Helper()
	port, err := freePort()
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin,
		"--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	out := &dynaliteOutput{}
	cmd.Stdout = out
	cmd.Stderr = out
	// Its own process group, so that the kill reaches node and anything it
	// spawned. No Pdeathsig: Linux sends it when the forking *thread* exits,
	// which the Go runtime may do mid-test, killing a dynalite still in use.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}

	deadline := time.Now().Add(dynaliteStartTimeout)
	for {
		// Ready only once dynalite itself says it listens: a bare TCP accept
		// could come from another process that took the port first.
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			if strings.Contains(out.String(), "Dynalite listening at:") {
				break
			}
			err = errors.New("port open but dynalite has not reported listening")
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("not accepting connections on %s after %v: %w; output:\n%s",
				addr, dynaliteStartTimeout, err, out.String())
		}
		select {
		case <-exited:
			return "", fmt.Errorf("exited before accepting connections on %s: %w; output:\n%s",
				addr, waitErr, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Cleanup(stop)
	return "http://" + addr, nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	return port, nil
}

// dynaliteRepoRoot walks up from the working directory to the folder holding
// go.mod.
func dynaliteRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("find repository root: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// dynaliteOutput collects dynalite's output for error messages; the exec
// package writes to it from its own goroutines.
type dynaliteOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *dynaliteOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *dynaliteOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.TrimSpace(o.buf.String())
}

// DynamoClient returns a DynamoDB client for the endpoint Dynalite returned:
// region us-east-1, static fake credentials, the SDK's default retries, and
// nothing read from the environment or shared config files.
func DynamoClient(t testing.TB, endpoint string) *dynamodb.Client {
	t.Helper()
	if endpoint == "" {
		t.Fatal("DynamoClient: empty endpoint")
	}
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}
