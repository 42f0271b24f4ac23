package telemetry

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// fixedNow is a clock in a zone east of UTC, to show the handler converts.
func fixedNow() time.Time {
	return time.Date(2026, 11, 24, 6, 0, 0, 123456789, time.FixedZone("CET", 3600))
}

// lines parses every line of out as one JSON object.
func lines(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var objs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", sc.Text(), err)
		}
		objs = append(objs, m)
	}
	return objs
}

func TestHandlerFields(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(NewHandler(&buf, HandlerOptions{Service: "extcloud-failover", Level: slog.LevelDebug, Now: fixedNow}))
	log.Debug("probe", "region", "NAM")
	log.Info("outage started", "region", "EU", "outage_seconds", 73.5, "generation", 4)
	log.With("region", "APAC").WithGroup("push").Warn("host failed", "host", "h1", "attempt", 2)
	log.Error("state unreadable", "error", errors.New("read state /x: permission denied"))

	got := lines(t, buf.Bytes())
	if len(got) != 4 {
		t.Fatalf("got %d lines, want 4:\n%s", len(got), buf.String())
	}
	wantLevels := []string{"debug", "info", "warn", "error"}
	wantMsgs := []string{"probe", "outage started", "host failed", "state unreadable"}
	for i, m := range got {
		if m["timestamp"] != "2026-11-24T05:00:00.123Z" {
			t.Errorf("line %d: timestamp = %v, want 2026-11-24T05:00:00.123Z", i, m["timestamp"])
		}
		if m["level"] != wantLevels[i] {
			t.Errorf("line %d: level = %v, want %s", i, m["level"], wantLevels[i])
		}
		if m["service"] != "extcloud-failover" {
			t.Errorf("line %d: service = %v", i, m["service"])
		}
		if m["message"] != wantMsgs[i] {
			t.Errorf("line %d: message = %v, want %s", i, m["message"], wantMsgs[i])
		}
		for _, k := range []string{"time", "msg"} {
			if _, ok := m[k]; ok {
				t.Errorf("line %d: has slog's own key %q", i, k)
			}
		}
	}
	if got[1]["region"] != "EU" || got[1]["outage_seconds"] != 73.5 || got[1]["generation"] != 4.0 {
		t.Errorf("attrs = %v", got[1])
	}
	push, ok := got[2]["push"].(map[string]any)
	if got[2]["region"] != "APAC" || !ok || push["host"] != "h1" || push["attempt"] != 2.0 {
		t.Errorf("grouped attrs = %v", got[2])
	}
	if got[3]["error"] != "read state /x: permission denied" {
		t.Errorf("error attr = %v", got[3]["error"])
	}
}

func TestHandlerLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		level slog.Leveler
		want  []string
	}{
		{name: "default info", level: nil, want: []string{"info", "warn", "error"}},
		{name: "warn", level: slog.LevelWarn, want: []string{"warn", "error"}},
		{name: "between levels rounds down", level: slog.LevelDebug, want: []string{"debug", "debug", "info", "warn", "error"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log := slog.New(NewHandler(&buf, HandlerOptions{Level: tc.level}))
			log.Debug("d")
			log.Log(t.Context(), slog.LevelDebug+2, "d+2")
			log.Info("i")
			log.Warn("w")
			log.Error("e")
			var levels []string
			for _, m := range lines(t, buf.Bytes()) {
				levels = append(levels, fmt.Sprint(m["level"]))
			}
			if strings.Join(levels, ",") != strings.Join(tc.want, ",") {
				t.Errorf("levels = %v, want %v", levels, tc.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	secrets := []string{"", "s3cr3t", "s3cr3t-long"}
	tests := []struct {
		name, in, want string
	}{
		{name: "secret", in: "key s3cr3t here", want: "key [REDACTED] here"},
		{name: "longest first", in: "s3cr3t-long", want: "[REDACTED]"},
		{name: "twice", in: "s3cr3ts3cr3t", want: "[REDACTED][REDACTED]"},
		{name: "url userinfo", in: "dial https://admin:pw@host:9001/RPC2 failed", want: "dial https://admin:[REDACTED]@host:9001/RPC2 failed"},
		{name: "url password with at", in: "http://u:p@ss@h/x", want: "http://u:[REDACTED]@h/x"},
		{name: "url empty user", in: "redis://:pw@h", want: "redis://:[REDACTED]@h"},
		{name: "url user only", in: "https://user@host/x", want: "https://user@host/x"},
		{name: "url port no userinfo", in: "https://host:8443/a@b", want: "https://host:8443/a@b"},
		{name: "two urls", in: "http://a:1@x and http://b:2@y", want: "http://a:[REDACTED]@x and http://b:[REDACTED]@y"},
		{name: "nothing", in: "plain text", want: "plain text"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Redact(tc.in, secrets); got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// leaky is a struct value the JSON handler marshals.
type leaky struct {
	Token string `json:"token"`
	URL   string `json:"url"`
}

func TestHandlerRedacts(t *testing.T) {
	t.Parallel()
	const (
		apiKey   = "dd0123456789abcdef0123456789abcd"
		password = "sup&rvisor<pw>"
		userPW   = "hunter2hunter2"
	)
	url := "https://alice:" + userPW + "@supervisor.example:9001/RPC2"
	var buf bytes.Buffer
	log := slog.New(NewHandler(&buf, HandlerOptions{Service: "svc", Secrets: []string{apiKey, password}}))

	log.Info("using key "+apiKey+" for "+url, "key", apiKey)
	log.Warn("push failed", "url", url, "password", password,
		"error", fmt.Errorf("restart %s: %w", url, errors.New("auth "+password+" rejected")))
	log.With("dd_api_key", apiKey).WithGroup("g").Error("nested", "inner", slog.GroupValue(slog.String("pw", password)))
	log.Info("values", "struct", leaky{Token: password, URL: url}, "list", []string{apiKey, "ok"})

	out := buf.String()
	for _, secret := range []string{apiKey, password, userPW, "sup\\u0026rvisor"} {
		if strings.Contains(out, secret) {
			t.Errorf("output contains secret %q:\n%s", secret, out)
		}
	}
	if n := strings.Count(out, Redacted); n < 10 {
		t.Errorf("output has %d %s markers, want at least 10:\n%s", n, Redacted, out)
	}
	if !strings.Contains(out, "https://alice:[REDACTED]@supervisor.example:9001/RPC2") {
		t.Errorf("URL not kept with its password redacted:\n%s", out)
	}
	got := lines(t, buf.Bytes())
	if len(got) != 4 {
		t.Fatalf("got %d lines, want 4", len(got))
	}
	if _, ok := got[3]["struct"].(map[string]any); !ok {
		t.Errorf("struct value = %#v, want a JSON object with its secrets redacted", got[3]["struct"])
	}
}
