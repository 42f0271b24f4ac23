// Tests of the libraries' loggers routed through the JSON handler.
package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/smithy-go/logging"

	"extcloud-failover/internal/telemetry"
)

// TestLibraryLoggersWriteJSON: the AWS SDK's and dd-trace-go's messages,
// multi-line ones too, become one JSON line each at their own level.
func TestLibraryLoggersWriteJSON(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	l := slog.New(telemetry.NewHandler(&out, telemetry.HandlerOptions{Service: "s"}))
	sdkLog{l}.Logf(logging.Warn, "failed to parse response Date header value, got %s", "errors:\n* one\n* two")
	traceLog{l}.Log("Datadog Tracer v1.72.1 ERROR: lost 3 traces\n")
	want := []struct{ level, source, prefix string }{
		{"WARN", "aws-sdk-go-v2", "failed to parse response Date header value, got errors:\n* one"},
		{"ERROR", "dd-trace-go", "Datadog Tracer v1.72.1 ERROR: lost 3 traces"},
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		msg, _ := m["message"].(string)
		if !strings.EqualFold(m["level"].(string), want[i].level) || m["source"] != want[i].source || !strings.HasPrefix(msg, want[i].prefix) {
			t.Errorf("line %s, want level %s source %s message %q...", line, want[i].level, want[i].source, want[i].prefix)
		}
	}
}
