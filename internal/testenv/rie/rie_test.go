package rie

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		ok     bool
		typ    string
		timed  bool
	}{
		{"result", 200, `{"region":"NAM","healthy":true}`, true, "", false},
		{"error document", 200, `{"errorMessage":"configuration: X","errorType":"ConfigError"}`, false, "ConfigError", false},
		{"result that mentions an error", 200, `{"errorType":"x"}`, true, "", false},
		{"timeout", 200, "Task timed out after 9.00 seconds", false, "", true},
		{"emulator refused", 400, ``, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := Invocation{Status: tt.status, Body: []byte(tt.body)}
			inv.classify()
			if inv.OK != tt.ok || inv.ErrorType != tt.typ || inv.TimedOut != tt.timed {
				t.Errorf("classify(%d %s) = ok %v type %q timed out %v; want %v %q %v", tt.status, tt.body, inv.OK, inv.ErrorType, inv.TimedOut, tt.ok, tt.typ, tt.timed)
			}
		})
	}
}

// TestLinesBetween: the lines of one invocation are those between its
// START and END lines, however the writes are cut, and a missing END is an
// error after the grace period, not a hang.
func TestLinesBetween(t *testing.T) {
	l := newLines()
	go func() {
		for _, part := range []string{"START RequestId: a Version: $LATEST\n{\"m\":", "1}\n{\"m\":2}\nEND Request", "Id: a\nREPORT RequestId: a\n"} {
			_, _ = l.Write([]byte(part))
		}
	}()
	got, err := l.between(context.Background(), "START RequestId: a", "END RequestId: a")
	if err != nil || strings.Join(got, "|") != `{"m":1}|{"m":2}` {
		t.Fatalf("between = %q, %v; want the two lines", got, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.between(ctx, "START RequestId: b", "END RequestId: b"); err == nil {
		t.Fatal("between found an invocation that never started")
	}
}
