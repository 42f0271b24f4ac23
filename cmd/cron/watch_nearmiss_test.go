package main

// watch names a misspelt variable in its log, as validate does on stderr.

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"extcloud-failover/internal/testenv/syncbuf"
)

// TestE2EWatchLogsNearMissesOnce: a container's log is where a typo gets
// noticed, so watch logs validate's warning for a misspelt variable as one
// JSON line at warn, once at start, not once a check.
func TestE2EWatchLogsNearMissesOnce(t *testing.T) {
	t.Parallel()
	f := newFleet(t, "PROBE_INTERVAL=100ms", "FAILOVER_TRESHOLD=2m")
	var out syncbuf.Buffer
	w := exec.Command(binPath, "watch")
	w.Env = f.env
	w.Stdout, w.Stderr = &out, &out
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Wait() }()
	t.Cleanup(func() {
		_ = w.Process.Kill()
		<-done
	})
	waitFor(t, "three checks", func() bool { return strings.Count(out.String(), `"message":"check complete"`) >= 3 })
	if err := w.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("watch after SIGTERM: %v", err)
	}
	done <- nil
	want := `"level":"warn","message":"FAILOVER_TRESHOLD is set but not read: did you mean FAILOVER_THRESHOLD? (FAILOVER_THRESHOLD keeps its default)"`
	if n := strings.Count(out.String(), want); n != 1 {
		t.Errorf("watch logged the near miss %d times, want once; want a line with %s:\n%s", n, want, out.String())
	}
	for line := range strings.Lines(out.String()) {
		if !strings.HasPrefix(line, "{") {
			t.Errorf("not a JSON line: %q", line)
		}
	}
}
