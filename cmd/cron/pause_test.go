// Tests of pause's and failover's own flags, in process: a bad value is one
// line, exit 2, and nothing is written.
package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestControlFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := cliEnv()
	env["ENV_FILE"] = filepath.Join(dir, "ext_cloud.env")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"pause", "--for", "8d"}, `extcloud-failover: --for: "8d" is not a duration (want e.g. 2h or 30m)` + "\n"},
		{[]string{"pause", "--for", "169h"}, "extcloud-failover: --for: 169h is longer than 7 days (want at most 168h)\n"},
		{[]string{"pause", "--for", "200h"}, "extcloud-failover: --for: 200h is longer than 7 days (want at most 168h)\n"},
		{[]string{"pause", "--for", "-90m"}, "extcloud-failover: --for: -90m must be more than 0 (e.g. 2h)\n"},
		{[]string{"pause", "--for", "0s"}, "extcloud-failover: --for: 0s must be more than 0 (e.g. 2h)\n"},
		{[]string{"pause", "--reason", "a\nb"}, "extcloud-failover: --reason: has a control character or invalid UTF-8 (want one line of text)\n"},
		{[]string{"pause", "--reason", strings.Repeat("x", 201)}, "extcloud-failover: --reason: 201 bytes (want at most 200)\n"},
		{[]string{"status", "--for", "1h"}, "extcloud-failover: status: flag provided but not defined: -for (--for is a flag of pause; extcloud-failover status --help lists its flags)\n"},
		{[]string{"resume", "--reason", "x"}, "extcloud-failover: resume: flag provided but not defined: -reason (--reason is a flag of pause; extcloud-failover resume --help lists its flags)\n"},
		{[]string{"check", "--force"}, "extcloud-failover: check: flag provided but not defined: -force (--force is a flag of failover; extcloud-failover check --help lists its flags)\n"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tt.args, mapLookup(env), &stdout, &stderr); code != exitUsage || stderr.String() != tt.want {
			t.Errorf("run(%q) = %d, stderr %q; want %d, %q", tt.args, code, stderr.String(), exitUsage, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "extcloud-failover.state.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused command wrote the state: %v", err)
	}
}
