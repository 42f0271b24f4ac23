package state_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"extcloud-failover/internal/state"
	"extcloud-failover/internal/state/statetest"
)

// fullState returns a State with every field set, in UTC as Decode returns it.

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   state.State
	}{
		{"minimal", state.State{Version: 1}},
		{"full", statetest.Full()},
		{"pending with no hosts", state.State{Version: 2, Pending: &state.Pending{Generation: 1, Region: "APAC"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := state.Encode(tt.in)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got, err := state.Decode(data)
			if err != nil {
				t.Fatalf("Decode(%s): %v", data, err)
			}
			if !reflect.DeepEqual(got, tt.in) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tt.in)
			}
		})
	}
}

func TestEncodeIsReadableJSON(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	data, err := state.Encode(state.State{
		Version:         4,
		ActiveRegion:    "NAM",
		OutageStartedAt: time.Date(2025, 1, 2, 4, 0, 0, 0, loc),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "version": 4,
  "active_region": "NAM",
  "generation": 0,
  "outage_started_at": "2025-01-02T03:00:00Z"
}
`
	if string(data) != want {
		t.Errorf("Encode:\n%s\nwant:\n%s", data, want)
	}
}

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name string
		data string
		want state.State
	}{
		{"minimal", `{"version":1}`, state.State{Version: 1}},
		{"surrounding space", " \n{\"version\":1}\n\t", state.State{Version: 1}},
		// A newer binary may add fields; an older one must not take its
		// record for corrupt.
		{"unknown field ignored", `{"version":2,"future_field":{"a":[1,2]}}`, state.State{Version: 2}},
		{
			"time converted to UTC",
			`{"version":1,"last_probe_at":"2025-01-02T04:00:00+01:00"}`,
			state.State{Version: 1, LastProbeAt: time.Date(2025, 1, 2, 3, 0, 0, 0, time.UTC)},
		},
		{
			"empty host list is nil",
			`{"version":1,"pending":{"generation":1,"region":"EU","cloud":"c","hosts":[],"attempts":0}}`,
			state.State{Version: 1, Pending: &state.Pending{Generation: 1, Region: "EU", Cloud: "c"}},
		},
		{"null pending", `{"version":1,"pending":null}`, state.State{Version: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := state.Decode([]byte(tt.data))
			if err != nil {
				t.Fatalf("Decode(%q): %v", tt.data, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode(%q):\n got %+v\nwant %+v", tt.data, got, tt.want)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	full, err := state.Encode(statetest.Full())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    string
		wantErr string
	}{
		{"empty", "", "empty record"},
		{"only space", " \n ", "empty record"},
		{"truncated", string(full[:len(full)/2]), "unexpected end of JSON input"},
		{"not JSON", "version=3\n", "not a JSON object"},
		{"array", `[{"version":1}]`, "not a JSON object"},
		{"null", "null", "not a JSON object"},
		{"string", `"{\"version\":1}"`, "not a JSON object"},
		{"trailing data", `{"version":1}{"version":2}`, "after top-level value"},
		{"version as string", `{"version":"1"}`, "cannot unmarshal string"},
		{"fractional version", `{"version":1.5}`, "cannot unmarshal number 1.5"},
		{"missing version", `{"active_region":"EU"}`, "version 0: want 1 or more"},
		{"negative version", `{"version":-3}`, "version -3: want 1 or more"},
		{"negative generation", `{"version":1,"generation":-1}`, "generation -1: want 0 or more"},
		{"negative latency", `{"version":1,"latency_ms":-0.5}`, "latency_ms -0.5: want 0 or more"},
		{"hosts not a list", `{"version":1,"pending":{"hosts":"a,b"}}`, "cannot unmarshal string"},
		{"negative attempts", `{"version":1,"pending":{"attempts":-1}}`, "pending.attempts -1"},
		{"empty command id", `{"version":1,"pending":{"commands":[{"id":"","until":"2026-12-01T10:00:00Z"}]}}`, "pending.commands[0].id \"\": want 1 to 128 characters without spaces"},
		{"command id with a newline", `{"version":1,"pending":{"commands":[{"id":"a\nb","until":"2026-12-01T10:00:00Z"}]}}`, "pending.commands[0].id"},
		{"command until out of range", `{"version":1,"pending":{"commands":[{"id":"c1","until":"0001-01-01T00:30:00+01:00"}]}}`, "pending.commands[0].until 0000-12-31T23:30:00Z: year out of range"},
		{"too many commands", `{"version":1,"pending":{"commands":[` + strings.Repeat(`{"id":"c","until":"2026-12-01T10:00:00Z"},`, 250) + `{"id":"c","until":"2026-12-01T10:00:00Z"}]}}`, "pending.commands: 251 commands, want at most 250"},
		{"bad time", `{"version":1,"last_probe_at":"yesterday"}`, "cannot parse"},
		{"time before year 1", `{"version":1,"latency_at":"0001-01-01T00:30:00+01:00"}`, "latency_at 0000-12-31T23:30:00Z: year out of range"},
		{"time after year 9999", `{"version":1,"last_failover_at":"9999-12-31T23:30:00-01:00"}`, "year out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := state.Decode([]byte(tt.data))
			if err == nil {
				t.Fatalf("Decode(%q) = %+v, want an error", tt.data, got)
			}
			if !errors.Is(err, state.ErrCorrupt) {
				t.Errorf("Decode(%q) error %v does not wrap ErrCorrupt", tt.data, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Decode(%q) error %q, want it to contain %q", tt.data, err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, state.State{}) {
				t.Errorf("Decode(%q) returned %+v with its error, want the zero State", tt.data, got)
			}
		})
	}
}

// FuzzDecode checks that Decode never panics, that everything it rejects is
// ErrCorrupt, and that everything it accepts survives Encode and Decode
// unchanged.
func FuzzDecode(f *testing.F) {
	full, err := state.Encode(statetest.Full())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"pending":{"hosts":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := state.Decode(data)
		if err != nil {
			if !errors.Is(err, state.ErrCorrupt) {
				t.Fatalf("Decode(%q) error %v does not wrap ErrCorrupt", data, err)
			}
			return
		}
		enc, err := state.Encode(s)
		if err != nil {
			t.Fatalf("Encode(Decode(%q)): %v", data, err)
		}
		again, err := state.Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(%q))) = %q: %v", data, enc, err)
		}
		if !reflect.DeepEqual(again, s) {
			t.Fatalf("round trip of %q:\n got %+v\nwant %+v", data, again, s)
		}
	})
}
