// This file holds MainWithBinary: a test binary that builds the program it
// runs end to end, once per package.

package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// MainWithBinary builds the main package in the working directory (the test's
// own package) into a temporary folder as name, with CGO_ENABLED=0 and the
// given build tags, sets *path to it, runs the tests and removes the folder.
// End-to-end tests call it from TestMain so that they drive the real binary.
func MainWithBinary(m *testing.M, name string, path *string, tags ...string) {
	dir, err := os.MkdirTemp("", "extcloud-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*path = filepath.Join(dir, name)
	args := []string{"build", "-trimpath", "-o", *path}
	for _, tag := range tags {
		args = append(args, "-tags", tag)
	}
	build := exec.Command("go", append(args, ".")...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build %s: %v\n", name, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
