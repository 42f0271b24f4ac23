// Tests of what a forced failover past a failed pre-flight logs.
package check

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"extcloud-failover/internal/testenv"
)

// TestForcedFailoverLogsThePreflightOnce: a refused failover --to must not
// also log that it is switching anyway, and a forced one logs the failed
// pre-flight once, with the probe's phases.
func TestForcedFailoverLogsThePreflightOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.up["EU"].Store(false)
	cfg := testenv.Config(t, w.env)
	if _, err := Failover(context.Background(), cfg, w.deps(), FailoverRequest{To: "EU"}); err == nil {
		t.Fatal("Failover to a dead EU was not refused")
	}
	logs := w.logs.String()
	if strings.Contains(logs, "switching anyway") || strings.Count(logs, `"level":"WARN"`) != 1 || !strings.Contains(logs, `"msg":"forced failover refused: EU failed its pre-flight"`) {
		t.Errorf("a refused failover logged, want one refusal warning and no switching anyway:\n%s", logs)
	}
	before := len(logs)
	if _, err := Failover(context.Background(), cfg, w.deps(), FailoverRequest{To: "EU", Force: true}); err != nil {
		t.Fatalf("forced Failover: %v", err)
	}
	logs = w.logs.String()[before:]
	lines := regexp.MustCompile(`"msg":"[^"]*pre-flight[^\n]*`).FindAllString(logs, -1)
	if n := len(lines); n != 1 || !strings.Contains(lines[0], `"msg":"forced failover past a failed pre-flight"`) || !strings.Contains(lines[0], `"probe_phase_ms"`) {
		t.Errorf("%d lines on the failed pre-flight, want one with the phases:\n%s", n, logs)
	}
}
