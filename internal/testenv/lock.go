// This file holds HoldLock: a separate process that holds a state file's
// flock, for crash and contention tests.

package testenv

import (
	"io"
	"os/exec"
	"syscall"
	"testing"
)

// LockHolder is another process holding an flock, as a second checker
// would.
type LockHolder struct {
	cmd *exec.Cmd
}

// HoldLock starts flock(1) holding an exclusive lock on path and returns
// once it holds it. The process is killed in t.Cleanup if still running.
func HoldLock(t testing.TB, path string) *LockHolder {
	t.Helper()
	flockBin, err := exec.LookPath("flock")
	if err != nil {
		t.Fatal("flock(1) not installed: run `apt-get install -y util-linux`")
	}
	// -o: the command does not inherit the lock; flock itself holds it.
	cmd := exec.Command(flockBin, "-o", path, "-c", "echo locked; exec sleep 3600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	buf := make([]byte, 7)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "locked\n" {
		t.Fatalf("lock holder said %q, %v", buf, err)
	}
	return &LockHolder{cmd: cmd}
}

// Kill sends SIGKILL to the holder, as a crash would: the kernel releases
// the lock.
func (h *LockHolder) Kill(t testing.TB) {
	t.Helper()
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}
