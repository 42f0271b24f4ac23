// This file holds Dynalite and DynamoClient, the test wrappers of the
// dynalite subpackage.

package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"extcloud-failover/internal/testenv/dynalite"
)

// Dynalite starts a dynalite (an in-memory DynamoDB) on 127.0.0.1 for this
// test (dynalite.Start), waits until it accepts connections and returns its
// endpoint, "http://127.0.0.1:PORT". Tables are created, deleted and
// updated without delay. The process group is killed by t.Cleanup. A
// missing dynalite is a test failure naming the install command.
//
// Each call starts its own instance (about half a second); tests that need
// several tables share one instance and use distinct table names.
func Dynalite(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("dynalite: %v", err)
	}
	inst, err := dynalite.Start(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inst.Stop)
	return inst.Endpoint
}

// repoRoot walks up from the working directory to the folder holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("find repository root: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// DynamoClient returns a DynamoDB client for the endpoint Dynalite returned
// (dynalite.Client).
func DynamoClient(t testing.TB, endpoint string) *dynamodb.Client {
	t.Helper()
	if endpoint == "" {
		t.Fatal("DynamoClient: empty endpoint")
	}
	return dynalite.Client(endpoint)
}
