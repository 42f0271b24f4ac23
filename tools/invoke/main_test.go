package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bootstrapPath is cmd/lambda built as make build does.
var bootstrapPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "invoke-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bootstrapPath = filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", bootstrapPath, "../../cmd/lambda")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build bootstrap:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestRun is make invoke as a person runs it: the scheduled event answers
// healthy, a forced failover reaches the simulated host, bad input is exit
// code 2.
func TestRun(t *testing.T) {
	failover := filepath.Join(t.TempDir(), "failover.json")
	if err := os.WriteFile(failover, []byte(`{"failover_to": "EU"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, event, env string
		code             int
		want             []string
	}{
		{name: "scheduled check", event: "../../events/stepfunctions.json", env: "../../events/local.env",
			want: []string{`"message":"check complete"`, `"healthy":true`, `# the answer`}},
		{name: "forced failover", event: failover, env: "../../events/local.env",
			want: []string{`"action":"failover"`, "# SendCommand", "executionTimeout [300]", "EXT_CLOUD_REGION=EU"}},
		{name: "missing event", event: "nosuch.json", env: "../../events/local.env", code: 2},
		{name: "bad env line", event: "../../events/scheduler.json", env: writeFile(t, "EXT_CLOUD_FAILOVER_LIST\n"), code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			code, err := run(bootstrapPath, tt.event, tt.env, 9*time.Second, &out)
			if code != tt.code {
				t.Fatalf("exit code %d (%v), want %d\n%s", code, err, tt.code, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "local.env")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
