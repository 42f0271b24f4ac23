package testenv

// order.go: supervisord programs that log when they start and stop, for
// tests of the restart order.

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// OrderProgram returns a SupervisordProgram.Command that appends
// "start NAME" to log when it starts and "stop NAME" when it is sent
// SIGTERM, before it exits: a waiting stop call returns after the line is
// written. Give the program StartSecs: 1, so that a waiting start call
// returns after its line too; the lines are then in the order the calls
// were made.
func OrderProgram(t testing.TB, log, name string) string {
	t.Helper()
	if strings.ContainsAny(log+name, "' \"\\$`") {
		t.Fatalf("order log %q or name %q needs quoting; use a plainer one", log, name)
	}
	return fmt.Sprintf(`/bin/sh -c 'echo start %[2]s >> %[1]s; trap "echo stop %[2]s >> %[1]s; exit 0" TERM; while :; do sleep 1 & wait $!; done'`, log, name)
}

// OrderLog returns the lines of an OrderProgram log after the first skip,
// polling up to 10 s until there are at least want of them (it returns
// what there is then; the caller compares).
func OrderLog(t testing.TB, log string, skip, want int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(log)
		var lines []string
		if s := strings.TrimSpace(string(data)); s != "" {
			lines = strings.Split(s, "\n")
		}
		if len(lines) >= skip+want || time.Now().After(deadline) {
			if len(lines) < skip {
				t.Fatalf("order log holds %q, want at least %d lines", lines, skip)
			}
			return lines[skip:]
		}
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

// WaitRunning polls up to 10 s until supervisord reports every program in
// names RUNNING.
func WaitRunning(t testing.TB, sv *Supervisord, names ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, name := range names {
		for {
			if _, ok := sv.RunningPID(name); ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("supervisord program %s not RUNNING within 10s", name)
			}
			time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline
		}
	}
}
