// Tests of the command events: pause, resume, status, doctor, and the
// typed errors of bad command events.
package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"extcloud-failover/internal/check"
	"extcloud-failover/internal/doctor"
	"extcloud-failover/internal/state"
)

func decodeCommand(t *testing.T, out []byte) CommandResponse {
	t.Helper()
	var res CommandResponse
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return res
}

func TestCommandPauseStatusResume(t *testing.T) {
	t.Parallel()
	store := &fakeStore{}
	a, logs := testApp(t, store, fakeProber{"NAM": true}, &fakePusher{})

	out, err := invoke(t, a, `{"command": "pause", "for": "2h", "reason": "EU maintenance", "by": "alice"}`)
	if err != nil {
		t.Fatalf("pause: %v", err)
	}
	res := decodeCommand(t, out)
	if res.Command != "pause" || res.Status == nil || res.Status.Pause == nil {
		t.Fatalf("pause response %s", out)
	}
	p := res.Status.Pause
	if p.Reason != "EU maintenance" || p.By != "alice" || time.Until(p.Until) < 119*time.Minute || time.Until(p.Until) > 2*time.Hour {
		t.Errorf("pause = %+v, want 2h by alice for EU maintenance", p)
	}
	if store.s.Pause == nil || store.s.Version != 1 {
		t.Fatalf("stored state %+v, want the pause at version 1", store.s)
	}

	out, err = invoke(t, a, `{"command": "status"}`)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	st := decodeCommand(t, out).Status
	if st == nil || st.Pause == nil || st.Pause.Reason != "EU maintenance" || len(st.History) != 1 || st.History[0].Kind != state.EventPause {
		t.Fatalf("status %s, want the pause and one pause event", out)
	}

	out, err = invoke(t, a, `{"command": "resume"}`)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	st = decodeCommand(t, out).Status
	if st.Pause != nil || len(st.History) != 2 || st.History[0].Kind != state.EventResume || st.History[0].By != "lambda request req-1" {
		t.Fatalf("after resume %s, want no pause and resume (by the request) newest first", out)
	}
	out, err = invoke(t, a, `{"command": "resume"}`)
	if err != nil || !strings.Contains(decodeCommand(t, out).Message, "not paused") {
		t.Fatalf("second resume: %s, %v, want not paused", out, err)
	}
	if store.s.Version != 2 {
		t.Errorf("a resume without a pause wrote the state (version %d, want 2)", store.s.Version)
	}
	if !strings.Contains(logs.String(), `"trigger":"command"`) {
		t.Errorf("no command trigger in the logs:\n%s", logs)
	}
}

func TestCommandDefaultPauseIsOneHour(t *testing.T) {
	t.Parallel()
	store := &fakeStore{}
	a, _ := testApp(t, store, fakeProber{"NAM": true}, &fakePusher{})
	if _, err := invoke(t, a, `{"command": "pause"}`); err != nil {
		t.Fatal(err)
	}
	if left := time.Until(store.s.Pause.Until); left < 59*time.Minute || left > time.Hour {
		t.Errorf("default pause ends in %v, want 1h", left)
	}
}

func TestCommandErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		payload  string
		wantType string
		wantMsg  string
	}{
		{"unknown command", `{"command": "reboot"}`, "EventError", `event: command: unknown "reboot" (want pause, resume, status or doctor)`},
		{"pause for not a duration", `{"command": "pause", "for": "2 hours"}`, "EventError", `event: for: "2 hours" is not a duration (want e.g. "2h" or "30m")`},
		{"pause too long", `{"command": "pause", "for": "169h"}`, "EventError", `event: for: 169h is longer than 7 days (want at most 168h)`},
		{"pause too long, as typed", `{"command": "pause", "for": "200h"}`, "EventError", `event: for: 200h is longer than 7 days (want at most 168h)`},
		{"pause negative", `{"command": "pause", "for": "-1h"}`, "EventError", `event: for: -1h must be more than 0 (e.g. 2h)`},
		{"pause reason newline", `{"command": "pause", "reason": "a\nb"}`, "EventError", `event: reason: has a control character or invalid UTF-8 (want one line of text)`},
		{"pause reason long", `{"command": "pause", "reason": "` + strings.Repeat("x", 201) + `"}`, "EventError", `event: reason: 201 bytes (want at most 200)`},
		{"for without pause", `{"command": "resume", "for": "1h"}`, "EventError", `event: for, reason: only for the pause command (got command "resume")`},
		{"command and failover", `{"command": "status", "failover_to": "EU"}`, "EventError", `event: failover_to and command: send one of them`},
		{"command not a string", `{"command": 1}`, "EventError", `event: json: cannot unmarshal number`},
		{"force without failover_to", `{"force": true}`, "EventError", `event: force: only with failover_to`},
		{"reason without pause", `{"offset": 10, "reason": "x"}`, "EventError", `event: for, reason: only for the pause command`},
		{"by with a newline", `{"failover_to": "EU", "by": "a\nb"}`, "EventError", `event: by: has a control character`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &fakeStore{}
			a, _ := testApp(t, store, fakeProber{"NAM": true}, &fakePusher{})
			_, err := invoke(t, a, tt.payload)
			if err == nil {
				t.Fatal("invoke succeeded, want an error")
			}
			if got := errorType(err); got != tt.wantType {
				t.Errorf("errorType = %q, want %q (%v)", got, tt.wantType, err)
			}
			if !strings.HasPrefix(err.Error(), tt.wantMsg) {
				t.Errorf("message %q, want prefix %q", err, tt.wantMsg)
			}
			if store.s.Version != 0 {
				t.Errorf("a refused event wrote the state: %+v", store.s)
			}
		})
	}
}

func TestCommandDoctor(t *testing.T) {
	t.Parallel()
	passing := doctor.Report{Results: []doctor.Result{{Mark: doctor.OK, Part: "region NAM (active)", Detail: "answers"}}}
	failing := doctor.Report{Results: []doctor.Result{
		{Mark: doctor.OK, Part: "region NAM (active)", Detail: "answers"},
		{Mark: doctor.Fail, Part: "SSM target tag:Role=app", Detail: "resolves to no managed instance", Fix: "tag the hosts"},
	}}
	for _, tt := range []struct {
		name     string
		rep      doctor.Report
		wantType string
	}{{"passes", passing, ""}, {"fails", failing, "DoctorError"}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, logs := testApp(t, &fakeStore{}, fakeProber{"NAM": true}, &fakePusher{})
			a.doctor = func(context.Context, check.Deps) doctor.Report { return tt.rep }
			out, err := invoke(t, a, `{"command": "doctor"}`)
			if tt.wantType == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res := decodeCommand(t, out); res.Doctor == nil || len(res.Doctor.Results) != 1 {
					t.Fatalf("doctor response %s", out)
				}
				return
			}
			if err == nil || errorType(err) != tt.wantType {
				t.Fatalf("error %v (%s), want a %s", err, errorType(err), tt.wantType)
			}
			if want := "doctor: 1 of 2 checks failed: SSM target tag:Role=app: resolves to no managed instance"; err.Error() != want {
				t.Errorf("message %q, want %q", err, want)
			}
			if !strings.Contains(logs.String(), `"mark":"FAIL"`) {
				t.Errorf("the failed check is not logged:\n%s", logs)
			}
		})
	}
}
