// Package dynalite starts the pinned dynalite (an in-memory DynamoDB,
// installed by `npm ci --prefix tools/dynalite`) on 127.0.0.1 for tests and
// the bench, and builds DynamoDB clients for it. Tables are created, deleted
// and updated without delay.
//
// It does not import testing; internal/testenv wraps it for tests. Start
// and Stop are meant for one goroutine.
package dynalite

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"extcloud-failover/internal/testenv/syncbuf"
)

// Bin is the dynalite launcher, relative to the repository root.
const Bin = "tools/dynalite/node_modules/.bin/dynalite"

// startTimeout bounds the wait for dynalite to accept connections; node
// starts in well under a second, but the machine may be busy.
const startTimeout = 30 * time.Second

// Instance is a running dynalite.
type Instance struct {
	// Endpoint is its URL, "http://127.0.0.1:PORT".
	Endpoint string

	cmd    *exec.Cmd
	exited chan struct{}
}

// Start starts dynalite from the repository at root (the folder of go.mod)
// on a free port and returns once dynalite says it listens. A missing
// dynalite is an error naming the install command.
func Start(root string) (*Instance, error) {
	bin := filepath.Join(root, Bin)
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("dynalite not installed: run `npm ci --prefix tools/dynalite` (make test and make tools do this): %w", err)
	}
	// The free port is found by binding and releasing it, so another process
	// may take it first; dynalite then exits and a new port is tried.
	var lastErr error
	for range 3 {
		inst, err := start(bin)
		if err == nil {
			return inst, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("dynalite: %w", lastErr)
}

func start(bin string) (*Instance, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin,
		"--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	out := &syncbuf.Buffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	// Its own process group, so that the kill reaches node and anything it
	// spawned. No Pdeathsig: Linux sends it when the forking *thread* exits,
	// which the Go runtime may do mid-test, killing a dynalite still in use.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	inst := &Instance{Endpoint: "http://" + addr, cmd: cmd, exited: make(chan struct{})}
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(inst.exited)
	}()
	output := func() string { return strings.TrimSpace(out.String()) }

	deadline := time.Now().Add(startTimeout)
	for {
		// Ready only once dynalite itself says it listens: a bare TCP accept
		// could come from another process that took the port first.
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			if strings.Contains(out.String(), "Dynalite listening at:") {
				return inst, nil
			}
			err = errors.New("port open but dynalite has not reported listening")
		}
		if time.Now().After(deadline) {
			inst.Stop()
			return nil, fmt.Errorf("not accepting connections on %s after %v: %w; output:\n%s", addr, startTimeout, err, output())
		}
		select {
		case <-inst.exited:
			return nil, fmt.Errorf("exited before accepting connections on %s: %w; output:\n%s", addr, waitErr, output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop kills dynalite's process group and waits for it to exit.
func (i *Instance) Stop() {
	_ = syscall.Kill(-i.cmd.Process.Pid, syscall.SIGKILL)
	<-i.exited
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

// Client returns a DynamoDB client for endpoint: region us-east-1, static
// fake credentials, the SDK's default retries, and nothing read from the
// environment or shared config files; optFns change the options further.
func Client(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, optFns...)
}
