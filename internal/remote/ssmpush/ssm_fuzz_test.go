package ssmpush_test

import (
	"encoding/base64"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/remote/ssmpush"
)

// FuzzSSMScript feeds arbitrary values to SSMScript: each is either refused,
// or the script is the four expected assignments followed by push.sh
// unchanged, every assigned value is base64 or passed its character set,
// and sh -n accepts the whole.
func FuzzSSMScript(f *testing.F) {
	body, err := os.ReadFile("push.sh")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("EU", "eu.example.test", "app", "/opt/application/tmp/ext_cloud.env", int64(1))
	f.Add("NAM", "https://nam.example.test:8443/x", "web:*", "/a", int64(0))
	f.Add("EU'", "eu", "app", "/tmp/x", int64(2))
	f.Add("EU", "$(reboot)", "app", "/tmp/x", int64(2))
	f.Add("EU", "eu", "app;id", "/tmp/x", int64(2))
	f.Add("EU", "eu", "app", "/tmp/x'$(id)'", int64(2))
	f.Add("EU", "eu", "app", "/tmp/x", int64(-5))

	var (
		b64     = regexp.MustCompile(`^ENV_B64='([A-Za-z0-9+/=]*)'$`)
		envFile = regexp.MustCompile(`^ENV_FILE='(/[A-Za-z0-9_./-]+)'$`)
		gen     = regexp.MustCompile(`^GENERATION='([0-9]+)'$`)
		progs   = regexp.MustCompile(`^PROGRAMS='([A-Za-z0-9_.:* -]*)'$`)
	)
	f.Fuzz(func(t *testing.T, region, cloud, program, envPath string, generation int64) {
		tg := remote.Target{Region: region, Cloud: cloud, Generation: generation}
		script, err := ssmpush.Script(tg, envPath, []string{program})
		if err != nil {
			if !errors.Is(err, ssmpush.ErrInvalid) && !errors.Is(err, remote.ErrInvalidTarget) {
				t.Fatalf("refused with an unmarked error: %v", err)
			}
			return
		}
		for _, in := range []string{region, cloud, program, envPath} {
			if strings.ContainsAny(in, "'\"`$\\;&|<>(){}[]!?~#\n\r\t =") {
				t.Fatalf("accepted an input with shell metacharacters: %q", in)
			}
		}
		lines := strings.SplitN(script, "\n", 6)
		if len(lines) != 6 || lines[0] != "#!/bin/sh" {
			t.Fatalf("script does not start with the shebang and four assignments:\n%s", script)
		}
		if lines[5] != string(body) {
			t.Fatal("script body differs from push.sh")
		}
		m := b64.FindStringSubmatch(lines[1])
		if m == nil {
			t.Fatalf("bad ENV_B64 line %q", lines[1])
		}
		if dec, err := base64.StdEncoding.DecodeString(m[1]); err != nil || string(dec) != string(remote.Render(tg)) {
			t.Fatalf("ENV_B64 does not decode to Render(t): %v", err)
		}
		if m := envFile.FindStringSubmatch(lines[2]); m == nil || m[1] != envPath {
			t.Fatalf("bad ENV_FILE line %q for %q", lines[2], envPath)
		}
		if m := gen.FindStringSubmatch(lines[3]); m == nil || m[1] != strconv.FormatInt(generation, 10) {
			t.Fatalf("bad GENERATION line %q for %d", lines[3], generation)
		}
		if m := progs.FindStringSubmatch(lines[4]); m == nil || m[1] != program {
			t.Fatalf("bad PROGRAMS line %q for %q", lines[4], program)
		}
		shellCheck(t, script)
	})
}
