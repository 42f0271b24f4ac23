// End-to-end tests of the command events on the real bootstrap binary,
// under the Lambda Runtime Interface Emulator (rie_test.go), with dynalite,
// the local SSM endpoint and a real supervisord.
package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// command invokes a command event and returns the decoded response, or
// the error document's type and message.
func (f *function) command(t *testing.T, payload string) (CommandResponse, string, string) {
	t.Helper()
	res := f.invoke(t, payload) // fails the test unless every line is JSON
	if !res.OK {
		return CommandResponse{}, res.ErrorType, res.ErrorMessage
	}
	var out CommandResponse
	if err := json.Unmarshal(res.Body, &out); err != nil {
		t.Fatalf("invoke %s: response %s: %v", payload, res.Body, err)
	}
	return out, "", ""
}

func (f *function) mustCommand(t *testing.T, payload string) CommandResponse {
	t.Helper()
	out, typ, msg := f.command(t, payload)
	if typ != "" {
		t.Fatalf("invoke %s: %s: %s\n%s", payload, typ, msg, f.Output())
	}
	return out
}

func TestLambdaCommands(t *testing.T) {
	fl := newFleet(t)
	fn := startFunction(t, fl.env)

	p := fn.mustCommand(t, `{"command": "pause", "for": "2h", "reason": "NAM maintenance", "by": "oncall@example"}`)
	if p.Status == nil || p.Status.Pause == nil || p.Status.Pause.Reason != "NAM maintenance" || p.Status.Pause.By != "oncall@example" {
		t.Fatalf("pause response %+v", p)
	}

	fl.nam.Down.Store(true)
	var held map[string]any
	waitFor(t, "a held failover", func() bool {
		res := fn.mustInvoke(t, `{"offset": 10}`)
		switch res["action"] {
		case "outage_started", "none":
			return false
		case "paused":
			held = res
			return true
		}
		t.Fatalf("while paused: %v", res)
		return false
	})
	if r, _ := held["reason"].(string); !strings.Contains(r, "paused until ") || !strings.Contains(r, "NAM maintenance") || held["pause_reason"] != "NAM maintenance" {
		t.Errorf("held check %v, want until when and why", held)
	}
	if n := fl.ssm.SendCommandCalls(); n != 0 {
		t.Fatalf("%d pushes while paused", n)
	}

	st := fn.mustCommand(t, `{"command": "status"}`)
	if st.Status == nil || st.Status.Pause == nil || st.Status.Pause.Reason != "NAM maintenance" || st.Status.OutageSeconds <= 0 {
		t.Fatalf("status %+v, want the pause and the outage going on", st.Status)
	}

	if r := fn.mustCommand(t, `{"command": "resume"}`); r.Status == nil || r.Status.Pause != nil {
		t.Fatalf("resume %+v", r)
	}
	res := fn.mustInvoke(t, `{"offset": 20}`)
	if res["action"] != "failover" || res["to"] != "EU" {
		t.Fatalf("first check after resume = %v, want failover to EU", res)
	}
	if n := fl.ssm.SendCommandCalls(); n != 1 {
		t.Errorf("%d SendCommand calls after resume, want 1", n)
	}
	st = fn.mustCommand(t, `{"command": "status"}`)
	var kinds []string
	for _, e := range st.Status.History {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, ","); got != "failover,resume,pause" || st.Status.Region != "EU" {
		t.Errorf("status after failover: region %s history %s, want EU and failover,resume,pause", st.Status.Region, got)
	}

	// A forced failover to a dead region is refused, then forced.
	fl.apac.Down.Store(true)
	if _, typ, msg := fn.command(t, `{"failover_to": "APAC"}`); typ != "PreflightError" || !strings.Contains(msg, `"force": true`) {
		t.Fatalf("failover_to a dead APAC: %s %q, want a PreflightError naming force", typ, msg)
	}
	if n := fl.ssm.SendCommandCalls(); n != 1 {
		t.Fatalf("a refused failover pushed: %d SendCommand calls", n)
	}
	forced := fn.mustInvoke(t, `{"failover_to": "APAC", "force": true, "by": "oncall@example"}`)
	if forced["action"] != "failover" || forced["to"] != "APAC" || forced["from"] != "EU" {
		t.Fatalf("forced = %v", forced)
	}

	// Bad command events are typed errors.
	for payload, want := range map[string]string{
		`{"command": "reboot"}`:                   `event: command: unknown "reboot"`,
		`{"command": "pause", "for": "8 days"}`:   `event: for: "8 days" is not a duration`,
		`{"command": "pause", "for": "200h"}`:     `event: for: 200h is longer than 7 days`,
		`{"command": "status", "reason": "why?"}`: `event: for, reason: only for the pause command`,
	} {
		if _, typ, msg := fn.command(t, payload); typ != "EventError" || !strings.HasPrefix(msg, want) {
			t.Errorf("%s: %s %q, want EventError %q", payload, typ, msg, want)
		}
	}
}

func TestLambdaDoctor(t *testing.T) {
	fl := newFleet(t)
	fl.eu.Down.Store(true)
	fn := startFunction(t, fl.env)
	d := fn.mustCommand(t, `{"command": "doctor"}`)
	if d.Doctor == nil || d.Doctor.Failed() {
		t.Fatalf("doctor on a good set-up: %+v", d)
	}
	var eu, ssm, table bool
	for _, r := range d.Doctor.Results {
		switch {
		case r.Part == "region EU":
			eu = r.Mark == "warn" && strings.Contains(r.Detail, "not active: reported, not failed")
		case r.Part == "SSM target tag:ExtCloudFailover=app":
			ssm = r.Mark == "ok" && r.Detail == "1 managed instances online"
		case strings.HasPrefix(r.Part, "state item fleet-e2e in table "+tableName):
			table = r.Mark == "ok"
		}
	}
	if !eu || !ssm || !table {
		t.Errorf("doctor results %+v: want EU down reported, the SSM target with 1 online, the table readable", d.Doctor.Results)
	}

	// A target that resolves to no instance, and a table that does not exist.
	env := append(append([]string{}, fl.env...), "SSM_TARGETS=tag:ExtCloudFailover=app,i-0fedcba9876543210", "STATE_TABLE=no-such-table")
	bad := startFunction(t, env)
	_, typ, msg := bad.command(t, `{"command": "doctor"}`)
	if typ != "DoctorError" || !strings.Contains(msg, "SSM target i-0fedcba9876543210: resolves to no managed instance") ||
		!strings.Contains(msg, "state item fleet-e2e in table no-such-table") {
		t.Fatalf("doctor with a bad target and table: %s %q, want a DoctorError naming both", typ, msg)
	}
}
