package probe

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyProbeImportsSpeedtest keeps speedtest-go in its room: no other
// package of the module (nor its tests) imports it, so no other package has
// to know what it does to http.DefaultClient.
func TestOnlyProbeImportsSpeedtest(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-tags", "soak,lambda.norpc", "-f", "{{.ImportPath}} {{.Imports}} {{.TestImports}} {{.XTestImports}}", "extcloud-failover/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const lib = "github.com/showwin/speedtest-go"
	var importers []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if pkg, imports, _ := strings.Cut(line, " "); strings.Contains(imports, lib) {
			importers = append(importers, pkg)
		}
	}
	if len(importers) != 1 || importers[0] != "extcloud-failover/internal/probe" {
		t.Fatalf("packages importing %s: %v, want only extcloud-failover/internal/probe", lib, importers)
	}
}
