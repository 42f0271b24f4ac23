// This file holds the test-facing wrapper of a private supervisord, and the
// programs tests run under it.

package testenv

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"extcloud-failover/internal/testenv/supervisord"
)

// SupervisordProgram is one [program:x] section; see supervisord.Program.
type SupervisordProgram = supervisord.Program

// SupervisordOptions configures StartSupervisord; see supervisord.Options.
type SupervisordOptions = supervisord.Options

// Supervisord is a running supervisord started by StartSupervisord.
type Supervisord struct {
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

	inst *supervisord.Instance
}

// StartSupervisord starts a private supervisord (supervisord.Start): config
// in a fresh short folder, foreground, ready when its XML-RPC interface
// answers RUNNING. t.Cleanup stops it and removes the folder. Any error,
// including a missing supervisord binary (with the install command), fails
// the test.
func StartSupervisord(t testing.TB, opts SupervisordOptions) *Supervisord {
	t.Helper()
	inst, err := supervisord.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := inst.Close(); err != nil {
			t.Error(err)
		}
	})
	return &Supervisord{
		URL:        inst.URL,
		Dir:        inst.Dir,
		ConfigPath: inst.ConfigPath,
		SocketPath: inst.SocketPath,
		Username:   inst.Username,
		Password:   inst.Password,
		inst:       inst,
	}
}

// Stop stops supervisord (and its programs) and waits until it has exited.
// Calls to its URL then fail to connect until Restart.
func (s *Supervisord) Stop(t testing.TB) {
	t.Helper()
	s.inst.Stop()
}

// Restart starts supervisord again with the same config, so the same socket
// or port, and waits until it answers; it stops it first if it is running.
// Programs start afresh (autostart ones are started again).
func (s *Supervisord) Restart(t testing.TB) {
	t.Helper()
	if err := s.inst.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Call makes one XML-RPC call (method such as "supervisor.getProcessInfo")
// and returns the decoded value; it fails the test on any error, including
// a fault.
func (s *Supervisord) Call(t testing.TB, method string, args ...any) any {
	t.Helper()
	var v any
	if err := s.inst.Call(context.Background(), method, args, &v); err != nil {
		t.Fatalf("supervisord %s: %v", method, err)
	}
	return v
}

// RunningPID returns the pid of program name when supervisord runs it; ok is
// false when supervisord is down or the program is not RUNNING.
func (s *Supervisord) RunningPID(name string) (pid int, ok bool) {
	return s.inst.RunningPID(context.Background(), name)
}

// CountingProgram returns a command for SupervisordProgram.Command that adds
// a line (its pid) to a file in dir each time it starts and then sleeps for an
// hour, and a function that returns how many times it has started. The line
// is written just after supervisord spawns the program, so poll count with a
// deadline rather than reading it once, or use LastStartedPID to wait for it.
func CountingProgram(t testing.TB, dir string) (command string, count func() int) {
	t.Helper()
	f, err := os.CreateTemp(dir, "starts-")
	if err != nil {
		t.Fatalf("create start counter: %v", err)
	}
	path := f.Name()
	if err := f.Close(); err != nil {
		t.Fatalf("create start counter: %v", err)
	}
	command, err = supervisord.CountingCommand(path)
	if err != nil {
		t.Fatal(err)
	}
	count = func() int {
		n, err := supervisord.CountStarts(path)
		if err != nil {
			t.Error(err)
			return -1
		}
		return n
	}
	return command, count
}

// LastStartedPID returns the pid on the last line of a CountingProgram's
// counter file in dir, 0 when there is none.
func LastStartedPID(t testing.TB, dir string) int {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "starts-*"))
	if err != nil || len(paths) != 1 {
		t.Fatalf("start counter in %s: %v (found %d)", dir, err, len(paths))
	}
	data, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatalf("read start counter: %v", err)
	}
	lines := strings.Fields(string(data))
	if len(lines) == 0 {
		return 0
	}
	pid, _ := strconv.Atoi(lines[len(lines)-1])
	return pid
}
