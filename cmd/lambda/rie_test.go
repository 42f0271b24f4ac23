package main

// The harness for the end-to-end tests: the real bin/bootstrap under the
// real Lambda Runtime Interface Emulator, invoked through its invocation
// endpoint as `sam local invoke` does, with the timeout template.yaml sets.
// TestLambdaEvents is the table of single invocations; a new event case is
// one entry there.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"extcloud-failover/internal/testenv/rie"
)

var (
	timeoutOnce sync.Once
	timeoutVal  time.Duration
	timeoutErr  error
)

// functionTimeout is the Timeout template.yaml gives the function, which the
// emulator enforces as AWS_LAMBDA_FUNCTION_TIMEOUT.
func functionTimeout(t *testing.T) time.Duration {
	t.Helper()
	timeoutOnce.Do(func() {
		tmpl, _ := openTemplate(t)
		fn, err := tmpl.GetServerlessFunctionWithName("CheckerFunction")
		if err != nil {
			timeoutErr = err
			return
		}
		if fn.Timeout == nil || *fn.Timeout < 1 {
			timeoutErr = errString("template.yaml: CheckerFunction has no Timeout")
			return
		}
		timeoutVal = time.Duration(*fn.Timeout) * time.Second
	})
	if timeoutErr != nil {
		t.Fatal(timeoutErr)
	}
	return timeoutVal
}

type errString string

func (e errString) Error() string { return string(e) }

// function is bin/bootstrap under its own emulator: one execution
// environment, cold at the first invocation, warm after it.
type function struct {
	*rie.Emulator
}

// startFunction starts an emulator for bootstrap with env added to its
// environment; it is stopped in t.Cleanup. A missing emulator fails the
// test (`make tools` builds it).
func startFunction(t *testing.T, env []string) *function {
	t.Helper()
	e, err := rie.Start(rie.Options{
		Bootstrap:    bootstrapPath,
		Timeout:      functionTimeout(t),
		FunctionName: functionName,
		Env:          append([]string{"HOME=" + t.TempDir()}, env...),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return &function{Emulator: e}
}

// outcome is one invocation as a test sees it: the emulator's answer,
// the decision record when the function answered one, and every line the
// function wrote meanwhile, each decoded as the JSON object it must be.
type outcome struct {
	rie.Invocation
	Result map[string]any
	Logs   []map[string]any
	fn     *function
}

// invoke invokes payload once. It fails the test when no answer came or
// when a line the function wrote is not one JSON object with the log
// contract's keys; an error answer is returned, not a failure.
func (f *function) invoke(t *testing.T, payload string) outcome {
	t.Helper()
	inv, err := f.Invoke(t.Context(), payload)
	if err != nil {
		t.Fatalf("%v\n%s", err, f.Output())
	}
	return decodeInvocation(t, f, payload, inv)
}

func decodeInvocation(t *testing.T, f *function, payload string, inv rie.Invocation) outcome {
	t.Helper()
	out := outcome{Invocation: inv, fn: f}
	for _, l := range inv.Lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m == nil {
			t.Errorf("invoke %s: the function wrote a line that is not a JSON object: %q", payload, l)
			continue
		}
		for _, k := range []string{"timestamp", "level", "service", "message"} {
			if _, ok := m[k]; !ok {
				t.Errorf("invoke %s: log line %s has no %q", payload, l, k)
			}
		}
		out.Logs = append(out.Logs, m)
	}
	if inv.TimedOut {
		t.Fatalf("invoke %s: timed out after %v\n%s", payload, inv.Elapsed, f.Output())
	}
	if inv.OK {
		if err := json.Unmarshal(inv.Body, &out.Result); err != nil {
			t.Fatalf("invoke %s: response %q is not JSON: %v", payload, inv.Body, err)
		}
	}
	return out
}

// mustInvoke invokes and fails the test unless the function answered with a
// decision record.
func (f *function) mustInvoke(t *testing.T, payload string) map[string]any {
	t.Helper()
	inv := f.invoke(t, payload)
	return mustResult(t, payload, inv)
}

func mustResult(t *testing.T, payload string, inv outcome) map[string]any {
	t.Helper()
	if !inv.OK {
		t.Fatalf("invoke %s: %s: %s\n%s", payload, inv.ErrorType, inv.ErrorMessage, inv.fn.Output())
	}
	for _, k := range []string{"region", "healthy", "outage_seconds", "action", "generation", "pending_hosts"} {
		if _, ok := inv.Result[k]; !ok {
			t.Fatalf("invoke %s: response %s has no %q", payload, inv.Body, k)
		}
	}
	return inv.Result
}

// invokeOnce starts a fresh function with env, invokes payload once and
// returns what happened.
func invokeOnce(t *testing.T, env []string, payload string) outcome {
	t.Helper()
	return startFunction(t, env).invoke(t, payload)
}

// summaries returns the "check complete" lines of logs.
func summaries(logs []map[string]any) []map[string]any {
	var out []map[string]any
	for _, l := range logs {
		if l["message"] == "check complete" {
			out = append(out, l)
		}
	}
	return out
}

// TestLambdaEvents invokes the function once per case, each in a fresh
// execution environment, and checks the answer and that every line written
// is JSON. Each case gets its own STATE_KEY.
func TestLambdaEvents(t *testing.T) {
	fl := newFleet(t)
	paths, err := filepath.Glob("../../events/*.json")
	if err != nil || len(paths) < 3 {
		t.Fatalf("events/*.json: %v, %d files", err, len(paths))
	}
	type tc struct {
		name  string
		env   []string // added to the fleet's
		event string
		check func(t *testing.T, inv outcome)
	}
	// The event files run against a fleet whose state is already recorded:
	// the first check of a fleet records the primary and pushes its
	// generation 0 once (pending_push); the steady state is action none.
	seeded := append(slices.Clip(fl.env), "STATE_KEY=events-steady")
	if first := mustResult(t, "{}", invokeOnce(t, seeded, `{}`)); first["action"] != "pending_push" || first["healthy"] != true {
		t.Fatalf("first check of the fleet = %v, want NAM healthy, pending_push", first)
	}
	var cases []tc
	for _, p := range paths {
		cases = append(cases, tc{name: filepath.Base(p), env: []string{"STATE_KEY=events-steady"}, event: mustRead(t, p), check: func(t *testing.T, inv outcome) {
			res := mustResult(t, p, inv)
			if res["region"] != "NAM" || res["healthy"] != true || res["action"] != "none" {
				t.Errorf("result %v, want NAM healthy, action none", res)
			}
			if s := summaries(inv.Logs); len(s) != 1 || s[0]["action"] != "none" {
				t.Errorf("check complete lines %v, want one with action none", s)
			}
		}})
	}
	cases = append(cases,
		tc{name: "array event", event: `[1, 2]`, check: func(t *testing.T, inv outcome) {
			wantError(t, inv, "EventError", "event: want a JSON object")
			wantLog(t, inv, "error", "event refused")
		}},
		tc{name: "bad JSON event", event: `{"offset": `, check: func(t *testing.T, inv outcome) {
			// The emulator passes the bytes as they are; the function refuses them.
			wantError(t, inv, "EventError", "event: ")
		}},
		tc{name: "unknown failover region", event: `{"failover_to": "MARS"}`, check: func(t *testing.T, inv outcome) {
			wantError(t, inv, "EventError", `"MARS"`)
		}},
		tc{name: "bad configuration", env: []string{"FAILOVER_THRESHOLD=4 minutes"}, event: `{}`, check: func(t *testing.T, inv outcome) {
			wantError(t, inv, "ConfigError", "configuration: FAILOVER_THRESHOLD: ")
			wantLog(t, inv, "error", "invalid configuration: FAILOVER_THRESHOLD: ")
		}},
		tc{name: "unknown command", event: `{"command": "reboot"}`, check: func(t *testing.T, inv outcome) {
			wantError(t, inv, "EventError", `event: command: unknown "reboot" (want pause, resume, status or doctor)`)
			wantLog(t, inv, "error", "event refused")
		}},
		tc{name: "pause too long", event: `{"command": "pause", "for": "200h"}`, check: func(t *testing.T, inv outcome) {
			wantError(t, inv, "EventError", "event: for: 200h0m0s is longer than 7 days")
		}},
		tc{name: "status command", event: `{"command": "status"}`, check: func(t *testing.T, inv outcome) {
			var res CommandResponse
			if err := json.Unmarshal(inv.Body, &res); err != nil || !inv.OK || res.Command != "status" || res.Status == nil ||
				res.Status.Region != "NAM" || res.Status.Pause != nil || res.Status.History == nil {
				t.Errorf("status answer %s (%v), want the command and NAM's status, no pause, an empty history", inv.Body, err)
			}
			if s := summaries(inv.Logs); len(s) != 0 {
				t.Errorf("a command wrote check complete lines: %v", s)
			}
		}},
		tc{name: "failover to a dead region", env: []string{"EXT_CLOUD_FAILOVER_LIST=NAM=" + fl.nam.Cloud() + ",EU=127.0.0.1:1"}, event: `{"failover_to": "EU"}`, check: func(t *testing.T, inv outcome) {
			wantError(t, inv, "PreflightError", `EU failed its pre-flight: connection refused`)
			wantError(t, inv, "PreflightError", `(send "force": true with failover_to to switch anyway)`)
			wantLog(t, inv, "warn", "forced failover refused: EU failed its pre-flight")
		}},
		tc{name: "push incomplete", env: []string{"SUPERVISOR_PROGRAMS=nosuch"}, event: `{"failover_to": "EU"}`, check: func(t *testing.T, inv outcome) {
			wantError(t, inv, "PushIncompleteError", "push incomplete")
			wantLog(t, inv, "error", "host did not converge")
			if s := summaries(inv.Logs); len(s) != 1 || s[0]["level"] != "error" || s[0]["action"] != "failover" {
				t.Errorf("check complete lines %v, want one error line with action failover", s)
			}
		}},
	)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := append(slices.Clip(fl.env), "STATE_KEY=events-"+string(rune('a'+i)))
			inv := invokeOnce(t, append(env, c.env...), c.event)
			c.check(t, inv)
			// The function's standard logger (aws-lambda-go prints each error
			// it returns) goes through the JSON handler too: the error the
			// invocation returned is a JSON line of its own.
			if !inv.OK {
				found := false
				for _, l := range inv.Logs {
					if l["error_type"] == inv.ErrorType && l["level"] == "error" {
						found = true
					}
				}
				if !found {
					t.Errorf("no JSON line with error_type %s among %v", inv.ErrorType, inv.Lines)
				}
			}
		})
	}
}

// wantError fails unless inv is an error answer of type typ whose message
// contains msg.
func wantError(t *testing.T, inv outcome, typ, msg string) {
	t.Helper()
	if inv.OK || inv.ErrorType != typ || !strings.Contains(inv.ErrorMessage, msg) {
		t.Errorf("answer ok=%v %s: %q, want %s containing %q (body %s)", inv.OK, inv.ErrorType, inv.ErrorMessage, typ, msg, inv.Body)
	}
}

// wantLog fails unless a line of inv has level and a message starting with
// prefix.
func wantLog(t *testing.T, inv outcome, level, prefix string) {
	t.Helper()
	for _, l := range inv.Logs {
		if m, _ := l["message"].(string); l["level"] == level && strings.HasPrefix(m, prefix) {
			return
		}
	}
	t.Errorf("no %s line starting with %q among:\n%s", level, prefix, strings.Join(inv.Lines, "\n"))
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
