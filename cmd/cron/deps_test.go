package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHostLinksNoAWSOrDatadogLambda keeps the host binary's healthy path
// small: it must never link the AWS SDK or datadog-lambda-go (and what they
// pull in), which belong to cmd/lambda.
func TestHostLinksNoAWSOrDatadogLambda(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed %d packages, want the whole graph: %s", len(deps), out)
	}
	for _, p := range deps {
		if strings.HasPrefix(p, "github.com/aws/") || strings.Contains(p, "datadog-lambda-go") || strings.Contains(p, "dd-trace-go") {
			t.Errorf("cmd/cron imports %s (directly or through a dependency); keep AWS and datadog-lambda-go in cmd/lambda", p)
		}
	}
}
