package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"extcloud-failover/internal/check"
	"extcloud-failover/internal/config"
)

// cliEnv is a valid host environment for the command-line tests.
func cliEnv() map[string]string {
	return map[string]string{
		"EXT_CLOUD_FAILOVER_LIST":     "NAM=nam.example.com,EU=eu.example.com,APAC=apac.example.com",
		"CONNECTION_KEEPALIVE_ORG_ID": "org-1",
		"CONNECTION_KEEPALIVE_TXN_ID": "txn-1",
		"SUPERVISOR_PROGRAMS":         "app",
	}
}

// checkOneLine asserts a command-line error is one bounded line.
func checkOneLine(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r\x00") {
		t.Errorf("error is not one line: %q", msg)
	}
	if len(msg) > 512 {
		t.Errorf("error is %d bytes, want at most 512: %.200q", len(msg), msg)
	}
}

// TestCommandLineErrors pins each bad command line's message: values are
// checked by config (the field is the flag as written), flags a subcommand
// does not take are the flag package's own errors.
func TestCommandLineErrors(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("A", 1<<20)
	tests := []struct {
		name string
		args []string
		want string
	}{
		// config's messages, naming the flag as written.
		{"region unknown flag", []string{"--region", "EUR"}, `--region: unknown region "EUR" (want NAM, EU or APAC)`},
		{"region unknown short flag", []string{"-r", "eu"}, `-r: unknown region "eu" (want NAM, EU or APAC)`},
		{"region unknown long flag", []string{"--ext-cloud-region=X"}, `--ext-cloud-region: unknown region "X" (want NAM, EU or APAC)`},
		{"probe timeout flag not below check timeout flag", []string{"--probe-timeout=1m", "--check-timeout=1m"},
			`--probe-timeout: 1m0s must be less than --check-timeout (1m0s)`},
		{"insecure flag not loopback", []string{"--probe-insecure-skip-verify"}, `--probe-insecure-skip-verify: allowed only for loopback probe hosts (got "nam.example.com")`},
		{"threshold flag", []string{"--failover-threshold", "4 minutes"}, `--failover-threshold: "4 minutes" is not a duration (want e.g. 4m)`},
		{"state file flag charset", []string{"--state-file=/tmp/a;b"}, `--state-file: "/tmp/a;b": character ';' not allowed (want A-Z a-z 0-9 _ . / -)`},
		{"push concurrency zero flag", []string{"--push-concurrency=0"}, `--push-concurrency: 0 is out of range (want 1-1000)`},
		{"dry run flag", []string{"--dry-run=maybe"}, `--dry-run: "maybe" is not a boolean (want true or false)`},
		{"single dash long flag", []string{"-probe-timeout=x"}, `--probe-timeout: "x" is not a duration (want e.g. 5s)`},
		{"hostile long region flag", []string{"--region=" + strings.Repeat("é", 100)}, `--region: unknown region "éééééééééééééééééééé"… (want NAM, EU or APAC)`},
		{"flag after the command", []string{"status", "--region", "EUR"}, `--region: unknown region "EUR" (want NAM, EU or APAC)`},
		// The flag package's messages, for flags the subcommand does not take.
		{"unknown flag", []string{"--nope"}, `check: flag provided but not defined: -nope (extcloud-failover check --help lists its flags)`},
		{"unknown hostile flag", []string{"--no\npe=1"}, `check: flag provided but not defined: -no\npe (extcloud-failover check --help lists its flags)`},
		{"flag needs value", []string{"--probe-timeout"}, `check: flag needs an argument: -probe-timeout (extcloud-failover check --help lists its flags)`},
		{"bad flag syntax", []string{"---x"}, `check: bad flag syntax: ---x (extcloud-failover check --help lists its flags)`},
		{"json is status's", []string{"check", "--json"}, `check: flag provided but not defined: -json (--json is a flag of status and simulate; extcloud-failover check --help lists its flags)`},
		{"json without a command", []string{"--json"}, `check: flag provided but not defined: -json (--json is a flag of status and simulate; extcloud-failover check --help lists its flags)`},
		{"to is failover's", []string{"status", "--to", "EU"}, `status: flag provided but not defined: -to (--to is a flag of failover; extcloud-failover status --help lists its flags)`},
		// A typo in a flag: the nearest flag of the subcommand, when one is close.
		{"typo in a configuration flag", []string{"--probe-timout", "5s"}, `check: flag provided but not defined: -probe-timout (did you mean --probe-timeout? extcloud-failover check --help lists its flags)`},
		{"typo after good flags", []string{"-r", "EU", "--dry-run", "--failover-treshold=2m"}, `check: flag provided but not defined: -failover-treshold (did you mean --failover-threshold? extcloud-failover check --help lists its flags)`},
		{"typo in an own flag", []string{"failover", "--too", "EU"}, `failover: flag provided but not defined: -too (did you mean --to? extcloud-failover failover --help lists its flags)`},
		{"typo after the command", []string{"--dry-run", "status", "--jsno"}, `status: flag provided but not defined: -jsno (did you mean --json? extcloud-failover status --help lists its flags)`},
		{"json not a boolean", []string{"status", "--json=maybe"}, `status: invalid boolean value "maybe" for -json: parse error (extcloud-failover status --help lists its flags)`},
		// Subcommands and stray arguments.
		{"unknown command", []string{"frobnicate"}, `unknown command or argument "frobnicate" (want check, status, failover, pause, resume, doctor, validate, watch, simulate; --help lists the flags)`},
		{"stray argument", []string{"status", "more"}, `unknown command or argument "more" (want check, status, failover, pause, resume, doctor, validate, watch, simulate; --help lists the flags)`},
		{"command after a command", []string{"check", "status"}, `unknown command or argument "status" (want check, status, failover, pause, resume, doctor, validate, watch, simulate; --help lists the flags)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, cfg, err := parseArgs(tt.args, mapLookup(cliEnv()))
			if err == nil {
				t.Fatalf("parseArgs(%q) = %+v, want error %q", tt.args, cfg, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
			checkOneLine(t, err)
		})
	}
	// A huge value in a subcommand's own flag is cut, still one line.
	_, _, _, err := parseArgs([]string{"status", "--json=" + big}, mapLookup(cliEnv()))
	if err == nil || !strings.HasPrefix(err.Error(), `status: invalid boolean value "AAAA`) {
		t.Fatalf("error %v, want the flag package's invalid boolean value", err)
	}
	checkOneLine(t, err)
	// A huge unknown flag gets no suggestion and stays one line.
	_, _, _, err = parseArgs([]string{"--" + big}, mapLookup(cliEnv()))
	if err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Fatalf("error %.200v, want the flag package's own", err)
	}
	checkOneLine(t, err)
	// A bad value is a *config.Error naming the flag.
	_, _, _, err = parseArgs([]string{"-r", "eu"}, mapLookup(cliEnv()))
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Field != "-r" {
		t.Errorf("error %v (%T), want a *config.Error for -r", err, err)
	}
}

// TestFlagPrecedence covers how flags become config's overrides: they beat
// the environment, the last one wins and an empty one means the default.
func TestFlagPrecedence(t *testing.T) {
	t.Parallel()
	env := cliEnv()
	env["PROBE_TIMEOUT"] = "7s"
	env["FAILOVER_THRESHOLD"] = "2m"
	env["EXT_CLOUD_REGION"] = "EU"
	env["SUPERVISOR_PROGRAMS"] = "from-env"
	env["PUSH_CONCURRENCY"] = "8"
	tests := []struct {
		name  string
		args  []string
		check func(*config.Config) bool
		what  string
	}{
		{"env over default", nil, func(c *config.Config) bool {
			return c.ProbeTimeout == 7*time.Second && c.FailoverThreshold == 2*time.Minute
		}, "PROBE_TIMEOUT 7s, FAILOVER_THRESHOLD 2m"},
		{"flag over env", []string{"--probe-timeout=3s", "--failover-threshold", "1m"}, func(c *config.Config) bool {
			return c.ProbeTimeout == 3*time.Second && c.FailoverThreshold == time.Minute
		}, "3s, 1m"},
		{"flag over default", []string{"--latency-check=off"}, func(c *config.Config) bool { return c.LatencyCheck == config.LatencyOff }, "latency off"},
		{"list flag over env", []string{"--supervisor-programs=a,b"}, func(c *config.Config) bool { return reflect.DeepEqual(c.SupervisorPrograms, []string{"a", "b"}) }, "programs a,b"},
		{"empty flag means default", []string{"--push-concurrency="}, func(c *config.Config) bool { return c.PushConcurrency == 16 }, "push concurrency 16"},
		{"last flag wins", []string{"--push-concurrency=2", "--push-concurrency=3"}, func(c *config.Config) bool { return c.PushConcurrency == 3 }, "push concurrency 3"},
		{"region from env", nil, func(c *config.Config) bool { return c.PrimaryRegion == "EU" && c.Primary() == "EU" }, "region EU"},
		{"-r over env", []string{"-r", "APAC"}, func(c *config.Config) bool { return c.Primary() == "APAC" }, "region APAC"},
		{"--region over env", []string{"--region=NAM"}, func(c *config.Config) bool { return c.Primary() == "NAM" }, "region NAM"},
		{"--ext-cloud-region over env", []string{"--ext-cloud-region", "APAC"}, func(c *config.Config) bool { return c.Primary() == "APAC" }, "region APAC"},
		{"-r then --region", []string{"-r", "APAC", "--region", "NAM"}, func(c *config.Config) bool { return c.Primary() == "NAM" }, "region NAM"},
		{"bare bool flag", []string{"--dry-run"}, func(c *config.Config) bool { return c.DryRun }, "dry run"},
		{"bool flag false", []string{"--dry-run=false"}, func(c *config.Config) bool { return !c.DryRun }, "no dry run"},
		{"single dash long flag", []string{"-state-key=k1"}, func(c *config.Config) bool { return c.StateKey == "k1" }, "state key k1"},
		{"state file follows env file flag", []string{"--env-file=/srv/x/app.env"}, func(c *config.Config) bool { return c.StateFile == "/srv/x/extcloud-failover.state.json" }, "state file next to env file"},
		{"flags before and after the command", []string{"--dry-run", "status", "--push-concurrency=5"}, func(c *config.Config) bool { return c.DryRun && c.PushConcurrency == 5 }, "dry run, push concurrency 5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, c, err := parseArgs(tc.args, mapLookup(env))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("parseArgs(%q): got %+v, want %s", tc.args, c, tc.what)
			}
		})
	}
	_, _, c, err := parseArgs([]string{"--ext-cloud-failover-list=NAM=127.0.0.1:1,EU=127.0.0.1:2", "--cloudlookup-url=http://{cloud}/"}, nil)
	if err != nil || c.Primary() != "NAM" {
		t.Errorf("parseArgs with flags only: %v, %+v", err, c)
	}
}

// TestCommandSelection checks which subcommand runs, with the flags before
// or after its name.
func TestCommandSelection(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "check"},
		{[]string{"--dry-run"}, "check"},
		{[]string{"check"}, "check"},
		{[]string{"status", "--json"}, "status"},
		{[]string{"--dry-run", "status", "--json"}, "status"},
		{[]string{"failover", "--to", "EU"}, "failover"},
		{[]string{"-r", "EU", "validate"}, "validate"},
	} {
		cmd, run, _, err := parseArgs(tt.args, mapLookup(cliEnv()))
		if err != nil || cmd.name != tt.want || run == nil {
			t.Errorf("parseArgs(%q) = %v, %v; want %s", tt.args, cmd, err, tt.want)
		}
	}
}

// TestHelp: help wins even when the configuration is bad. Without a
// subcommand it lists the subcommands; with one, that subcommand's
// synopsis, what it does and its own flags with what they take. Both list
// every configuration flag.
func TestHelp(t *testing.T) {
	t.Parallel()
	general := []string{
		"usage: extcloud-failover [command] [flags]\n",
		"  status [--json]    print the active region, outage, pending hosts, pause and audit trail\n",
		"  pause [--for D]    hold automatic switches for D (default 1h, at most 7 days; --reason T)\n",
	}
	for _, tt := range []struct {
		args []string
		want []string // in the output, in order
		not  []string
	}{
		{[]string{"-h"}, general, []string{"status flags:"}},
		{[]string{"--help"}, general, nil},
		{[]string{"-help"}, general, nil},
		{[]string{"status", "--help"}, []string{"usage: extcloud-failover status [--json] [flags]\n\nprint the active region, outage, pending hosts, pause and audit trail\n",
			"status flags:\n  --json\n        print JSON\n"}, []string{"commands:\n", "failover flags:"}},
		{[]string{"--dry-run", "failover", "-h"}, []string{"usage: extcloud-failover failover --to R [flags]\n",
			"failover flags:\n  --force\n        switch even when the region fails its pre-flight\n  --to VALUE\n        the region to switch to (required)\n"}, []string{"commands:\n"}},
		{[]string{"simulate", "--help"}, []string{"usage: extcloud-failover simulate [flags]\n",
			"  --log FILE\n        replay the checker's JSON log from FILE (- for stdin)\n",
			"  --timeline FILE\n        a CSV FILE of region conditions: seconds,NAM,EU,APAC with up, down or dark\n"}, []string{"`"}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, mapLookup(nil), &stdout, &stderr); code != exitOK || stderr.Len() != 0 {
				t.Fatalf("run(%q) = %d, stderr %q; want 0 and nothing", tt.args, code, stderr.String())
			}
			out := stdout.String()
			for _, v := range config.Variables() {
				if !strings.Contains(out, "(env "+v.Env+")") || !strings.Contains(out, v.Flags[len(v.Flags)-1]) {
					t.Errorf("usage does not list %s / %s", v.Env, v.Flags[len(v.Flags)-1])
				}
			}
			want := append(tt.want,
				"  -r, --region, --ext-cloud-region REGION  (env EXT_CLOUD_REGION)\n",
				"        the primary region, active when there is no state yet (default: the first region of the list)\n",
				"  --probe-timeout DURATION  (env PROBE_TIMEOUT)\n        deadline of one probe; less than CHECK_TIMEOUT (default 5s)\n",
				"  --dry-run  (env DRY_RUN)\n")
			rest := out
			for _, w := range want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("usage lacks %q (or has it out of order); got:\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("usage has %q; got:\n%s", n, out)
				}
			}
		})
	}
}

// TestStatusJSONFlag runs status --json in process: the subcommand's own
// flag reaches its body.
func TestStatusJSONFlag(t *testing.T) {
	t.Parallel()
	env := cliEnv()
	env["ENV_FILE"] = filepath.Join(t.TempDir(), "ext_cloud.env")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"status", "--json", "-r", "EU"}, mapLookup(env), &stdout, &stderr); code != exitOK {
		t.Fatalf("status --json = %d, stderr %q", code, stderr.String())
	}
	var rep check.Status
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || rep.Region != "EU" || rep.Cloud != "eu.example.com" {
		t.Fatalf("status --json printed %q (%v), want JSON naming EU", stdout.String(), err)
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"status"}, mapLookup(env), &stdout, &stderr); code != exitOK || !strings.HasPrefix(stdout.String(), "active region:  NAM (nam.example.com)\n") {
		t.Fatalf("status = %d, printed %q; want the text report", code, stdout.String())
	}
}

// TestFailoverTo checks failover's own flag before anything is touched.
func TestFailoverTo(t *testing.T) {
	t.Parallel()
	env := cliEnv()
	env["ENV_FILE"] = filepath.Join(t.TempDir(), "ext_cloud.env")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"failover"}, "extcloud-failover: --to: required with failover (e.g. failover --to EU)\n"},
		{[]string{"failover", "--to", "MARS"}, "extcloud-failover: --to: unknown region \"MARS\" (want NAM, EU or APAC)\n"},
		{[]string{"failover", "--to="}, "extcloud-failover: --to: required with failover (e.g. failover --to EU)\n"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tt.args, mapLookup(env), &stdout, &stderr); code != exitUsage || stderr.String() != tt.want {
			t.Errorf("run(%q) = %d, stderr %q; want %d, %q", tt.args, code, stderr.String(), exitUsage, tt.want)
		}
	}
}

// TestCommandsTable keeps the table consistent: unique names, a synopsis
// starting with the name, flags that do not shadow configuration flags.
func TestCommandsTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, c := range commands {
		if seen[c.name] || !strings.HasPrefix(c.synopsis, c.name) || c.help == "" {
			t.Errorf("command %q: duplicate, or synopsis %q / help %q wrong", c.name, c.synopsis, c.help)
		}
		seen[c.name] = true
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		if c.flags(fs) == nil {
			t.Errorf("command %q has no body", c.name)
		}
	}
	if findCommand(defaultCommand) == nil {
		t.Errorf("default command %q is not in the table", defaultCommand)
	}
}

// TestValidateNamesNearMisses: a variable set with a typo leaves its
// default in force without a word; validate names it, and what it is
// near, on stderr, and still succeeds (another tool may read such a name).
func TestValidateNamesNearMisses(t *testing.T) {
	t.Parallel()
	env := cliEnv()
	env["ENV_FILE"] = filepath.Join(t.TempDir(), "ext_cloud.env")
	env["FAILOVER_TRESHOLD"] = "2m"
	environ := func() []string {
		var out []string
		for k, v := range env {
			out = append(out, k+"="+v)
		}
		return out
	}
	var stdout, stderr bytes.Buffer
	code := runEnv(context.Background(), []string{"validate"}, mapLookup(env), environ, &stdout, &stderr)
	want := "extcloud-failover: warning: FAILOVER_TRESHOLD is set but not read: did you mean FAILOVER_THRESHOLD? (FAILOVER_THRESHOLD keeps its default)\n"
	if code != exitOK || stderr.String() != want || !strings.HasPrefix(stdout.String(), "configuration ok: 3 regions") || !strings.HasSuffix(stdout.String(), " (doctor checks the folders, supervisord and regions)\n") {
		t.Errorf("validate = %d, stdout %q, stderr %q; want 0, configuration ok and %q", code, stdout.String(), stderr.String(), want)
	}
}
