package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// binPath is the checker, built for the demo by TestMain.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "extcloud-demo-test-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "extcloud-failover")
	build := exec.Command("go", "build", "-o", binPath, "../../cmd/cron")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	code := 1
	if build.Run() == nil {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// cancelOn is the demo's output; it cancels when a line says when.
type cancelOn struct {
	mu     sync.Mutex
	b      strings.Builder
	when   string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if strings.Contains(w.b.String(), w.when) {
		w.cancel()
	}
	return len(p), nil
}

func (w *cancelOn) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestDemoInterruptedLeavesNothingRunning: ^C in the middle of make demo
// (the context ends during the outage) stops the demo with an error and
// still stops supervisord, which runs in its own process group and would
// outlive the demo, and removes every file. Headings are plain text when
// the output is not a terminal.
func TestDemoInterruptedLeavesNothingRunning(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOn{when: "injecting an outage", cancel: cancel}
	err := demo(ctx, binPath, out, false)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("demo = %v, want it interrupted; output:\n%s", err, out)
	}
	sock := regexp.MustCompile(`unix://(/\S+)/supervisor\.sock`).FindStringSubmatch(out.String())
	if sock == nil {
		t.Fatalf("no supervisord in the output:\n%s", out)
	}
	if _, err := os.Stat(sock[1]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("supervisord's folder %s is still there (%v): supervisord was not stopped", sock[1], err)
	}
	if ps, err := exec.Command("pgrep", "-f", sock[1]).Output(); err == nil {
		t.Errorf("still running after the demo: %s", ps)
	}
	if strings.Contains(out.String(), "\033[") {
		t.Errorf("terminal escapes in output that is not a terminal:\n%q", out)
	}
}
