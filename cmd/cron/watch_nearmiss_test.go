package main

// watch names a misspelt variable in its log, as validate does on stderr.

import (
	"strings"
	"testing"
	"time"
)

// TestE2EWatchLogsNearMissesOnce: a container's log is where a typo gets
// noticed, so watch logs validate's warning for a misspelt variable as one
// JSON line at warn, once at start, not once a check.
func TestE2EWatchLogsNearMissesOnce(t *testing.T) {
	t.Parallel()
	f := newFleet(t, "PROBE_INTERVAL=100ms", "FAILOVER_TRESHOLD=2m")
	w := startWatch(t, f.env)
	out := w.out
	waitFor(t, "three checks", func() bool { return strings.Count(out.String(), `"message":"check complete"`) >= 3 })
	if err := w.stop(t, 10*time.Second); err != nil {
		t.Errorf("watch after SIGTERM: %v", err)
	}
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
