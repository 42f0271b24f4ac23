package supervisord

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStartRestartClose starts supervisord under a TMPDIR too long for a unix
// socket, restarts it, and checks Close leaves no process and no folder.
func TestStartRestartClose(t *testing.T) {
	long := filepath.Join(t.TempDir(), strings.Repeat("x", 80))
	if err := os.Mkdir(long, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", long)
	ctx := context.Background()
	counter := filepath.Join(t.TempDir(), "starts")
	command, err := CountingCommand(counter)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(ctx, Options{Programs: []Program{{Name: "app", Command: command}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if len(s.SocketPath) > 100 {
		t.Errorf("socket path %q is %d bytes, want at most 100", s.SocketPath, len(s.SocketPath))
	}
	pid := waitRunning(t, s, "app")
	waitStarts(t, counter, 1) // else Restart may stop app before it writes
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	pid2 := waitRunning(t, s, "app")
	if pid2 == pid {
		t.Errorf("app pid %d after Restart, want a new one", pid2)
	}
	waitStarts(t, counter, 2)
	last := waitRunning(t, s, "app")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("folder %s after Close: %v, want it removed", s.Dir, err)
	}
	if err := syscall.Kill(last, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("app pid %d after Close: kill 0 = %v, want ESRCH", last, err)
	}
	if _, err := s.State(ctx); err == nil {
		t.Error("State after Close answered, want an error")
	}
}

func TestStartInetAuth(t *testing.T) {
	s, err := Start(context.Background(), Options{Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || s.SocketPath != "" {
		t.Errorf("URL %q SocketPath %q, want http://127.0.0.1:PORT and no socket", s.URL, s.SocketPath)
	}
	s.Password = "wrong"
	if _, err := s.State(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("State with a wrong password: %v, want status 401", err)
	}
}

func TestStartRejectsProgramWithoutCommand(t *testing.T) {
	_, err := Start(context.Background(), Options{Programs: []Program{{Name: "app"}}})
	if err == nil || !strings.Contains(err.Error(), "Name and Command are required") {
		t.Fatalf("Start: %v, want Name and Command are required", err)
	}
}

// waitRunning polls until program name is RUNNING and returns its pid.
func waitRunning(t *testing.T, s *Instance, name string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if pid, ok := s.RunningPID(context.Background(), name); ok {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not RUNNING within 5s", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitStarts polls until the CountingCommand writing to counter has started
// want times: it writes its line just after supervisord spawns it.
func waitStarts(t *testing.T, counter string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := CountStarts(counter)
		if err == nil && n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CountStarts = %d, %v; want %d", n, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
