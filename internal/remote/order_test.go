package remote

// Tests of the handler's restart order, Converge and the checks that keep a
// checker under supervisord from restarting itself.

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"extcloud-failover/internal/testenv"
)

// handlerGroup starts a supervisord with the handler's group app: stunnel,
// cloud-client and application, logging their starts and stops to log.
// StartSecs 1 makes RUNNING mean "has run its first line", as supervisord's
// default does: with 0, a start returns before the shell has logged it and
// the log's order is the scheduler's, not the pusher's.
func handlerGroup(t *testing.T, autostart bool) (sv *testenv.Supervisord, log string) {
	t.Helper()
	log = filepath.Join(t.TempDir(), "order.log")
	var progs []testenv.SupervisordProgram
	for _, name := range []string{"stunnel", "cloud-client", "application"} {
		progs = append(progs, testenv.SupervisordProgram{Name: name, Group: "app", Command: testenv.OrderProgram(t, log, name), NoAutostart: !autostart, StartSecs: 1})
	}
	sv = testenv.StartSupervisord(t, testenv.SupervisordOptions{Programs: progs})
	if autostart {
		deadline := time.Now().Add(10 * time.Second)
		for _, p := range handlerPrograms {
			for _, ok := sv.RunningPID(p); !ok; _, ok = sv.RunningPID(p) {
				if time.Now().After(deadline) {
					t.Fatalf("%s not RUNNING within 10s", p)
				}
				time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline
			}
		}
	}
	return sv, log
}

var handlerPrograms = []string{"app:stunnel", "app:cloud-client", "app:application"}

func TestSupervisorRestartOrder(t *testing.T) {
	t.Parallel()
	sv, log := handlerGroup(t, true)
	testenv.OrderLog(t, log, 0, 3)
	testenv.WaitRunning(t, sv, handlerPrograms...)
	s := svNew(t, SupervisorConfig{URLs: []string{sv.URL}, Programs: handlerPrograms})
	svWantConverged(t, svPush(t, s, svGen1), sv.URL)
	got := testenv.OrderLog(t, log, 3, 6)
	want := []string{
		"stop application", "stop cloud-client", "stop stunnel",
		"start stunnel", "start cloud-client", "start application",
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("restart order = %q, want the handler's %q", got, want)
	}

	t.Run("re-push restarts only what has not started since, in order", func(t *testing.T) {
		sv.Call(t, "supervisor.stopProcess", "app:application", true)
		sv.Call(t, "supervisor.stopProcess", "app:stunnel", true)
		svWantConverged(t, svPush(t, s, svGen1), sv.URL)
		got := testenv.OrderLog(t, log, 9, 4)
		want := []string{"stop application", "stop stunnel", "start stunnel", "start application"}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("log after the re-push = %q, want %q", got, want)
		}
	})
}

func TestSupervisorInspect(t *testing.T) {
	t.Parallel()
	eu := Target{Region: "EU", Cloud: "eu.cloud.example", Generation: 0}

	t.Run("first deploy: reported, then Push writes and starts in order", func(t *testing.T) {
		t.Parallel()
		sv, log := handlerGroup(t, false)
		env := filepath.Join(t.TempDir(), "ext_cloud.env")
		s := svNew(t, SupervisorConfig{URLs: []string{sv.URL}, Programs: handlerPrograms, EnvFile: env})
		w, err := s.Inspect(eu)
		if err != nil || w.Change != EnvCreated {
			t.Fatalf("Inspect() = change %d, %v; want EnvCreated", w.Change, err)
		}
		if _, err := os.Stat(env); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Inspect wrote the env file: %v", err)
		}
		svWantConverged(t, svPush(t, s, eu), sv.URL)
		if got := readTestFile(t, env); got != string(Render(eu)) {
			t.Errorf("env file = %q, want %q", got, Render(eu))
		}
		got := testenv.OrderLog(t, log, 0, 3)
		if want := "start stunnel, start cloud-client, start application"; strings.Join(got, ", ") != want {
			t.Errorf("log = %q, want %q", got, want)
		}
	})

	t.Run("no supervisord call, and a write only when the meaning stays", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name, before string
			change       EnvChange
			was          string
		}{
			{"identical", string(Render(eu)), EnvUnchanged, ""},
			{"plain format", string(EnvPlain.Render(eu)), EnvReformatted, ""},
			{"the handler's file", "export EXT_CLOUD=eu.cloud.example\nexport EXT_REGION=EU\n", EnvReformatted, ""},
			{"hand-edited", "export EXT_CLOUD=nam.cloud.example\nexport EXT_REGION=EU\n", EnvReplaced, "region EU, cloud nam.cloud.example, generation 0"},
			{"missing", "", EnvCreated, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				url, calls := svFake(t, nil)
				env := filepath.Join(t.TempDir(), "ext_cloud.env")
				if tt.before != "" {
					writeTestFile(t, env, tt.before)
				}
				s := svNew(t, SupervisorConfig{URLs: []string{url}, Programs: []string{"app"}, EnvFile: env})
				w, err := s.Inspect(eu)
				if err != nil || w.Change != tt.change || w.Was != tt.was {
					t.Fatalf("Inspect() = change %d was %q, %v; want change %d was %q", w.Change, w.Was, err, tt.change, tt.was)
				}
				if len(calls()) > 0 {
					t.Errorf("supervisord calls %q, want none", calls())
				}
				data, _ := os.ReadFile(env)
				want := tt.before
				if tt.change == EnvReformatted {
					want = string(Render(eu))
				}
				if string(data) != want {
					t.Errorf("env file = %q, want %q", data, want)
				}
			})
		}
	})

	t.Run("newer generation is fenced", func(t *testing.T) {
		t.Parallel()
		env := filepath.Join(t.TempDir(), "ext_cloud.env")
		writeTestFile(t, env, string(EnvPlain.Render(Target{Region: "NAM", Cloud: "nam.cloud.example", Generation: 3})))
		s := svNew(t, SupervisorConfig{URLs: []string{"unix:///nonexistent.sock"}, Programs: []string{"app"}, EnvFile: env})
		if _, err := s.Inspect(eu); !errors.Is(err, ErrStaleGeneration) {
			t.Fatalf("Inspect() error = %v, want ErrStaleGeneration", err)
		}
	})

	t.Run("a reformatted file keeps its time, so a re-push restarts nothing", func(t *testing.T) {
		t.Parallel()
		sv, log := handlerGroup(t, true)
		testenv.OrderLog(t, log, 0, 3)
		testenv.WaitRunning(t, sv, handlerPrograms...)
		env := filepath.Join(t.TempDir(), "ext_cloud.env")
		writeTestFile(t, env, "export EXT_CLOUD=eu.cloud.example\nexport EXT_REGION=EU\n")
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(env, old, old); err != nil {
			t.Fatal(err)
		}
		s := svNew(t, SupervisorConfig{URLs: []string{sv.URL}, Programs: handlerPrograms, EnvFile: env})
		if w, err := s.Inspect(eu); err != nil || w.Change != EnvReformatted {
			t.Fatalf("Inspect() = change %d, %v; want EnvReformatted", w.Change, err)
		}
		svWantConverged(t, svPush(t, s, eu), sv.URL)
		if got := testenv.OrderLog(t, log, 3, 0); len(got) != 0 {
			t.Errorf("push of the same target restarted: %q", got)
		}
	})
}

func TestNewSupervisorFormat(t *testing.T) {
	_, err := NewSupervisor(SupervisorConfig{URLs: []string{"unix:///x.sock"}, Programs: []string{"app"}, EnvFile: "/x.env", Format: "yaml"})
	if err == nil || err.Error() != `ENV_FILE_FORMAT: unknown format "yaml" (want shell or plain)` {
		t.Errorf("NewSupervisor(Format yaml) error = %v", err)
	}
}

func TestRestartsSelf(t *testing.T) {
	tests := []struct {
		name        string
		programs    []string
		group, self string
		want        string
	}{
		{"handler's list", handlerPrograms, "app", "watch", ""},
		{"group wildcard", []string{"app:*"}, "app", "watch", "app:*"},
		{"itself by name", []string{"app:stunnel", "app:watch"}, "app", "watch", "app:watch"},
		{"other group's wildcard", []string{"web:*"}, "app", "watch", ""},
		{"ungrouped by name", []string{"checker"}, "checker", "checker", "checker"},
		{"ungrouped as its own group", []string{"checker:*"}, "checker", "checker", "checker:*"},
		{"same name, other group", []string{"watch"}, "app", "watch", ""},
		{"not under supervisord", []string{"app:*"}, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RestartsSelf(tt.programs, tt.group, tt.self); got != tt.want {
				t.Errorf("RestartsSelf(%q, %q, %q) = %q, want %q", tt.programs, tt.group, tt.self, got, tt.want)
			}
		})
	}
}

func TestSameSupervisor(t *testing.T) {
	tests := []struct {
		server string
		urls   []string
		want   bool
	}{
		{"unix:///var/run/supervisor.sock", []string{"unix:///var/run/supervisor.sock"}, true},
		{"unix:///var/run/supervisor.sock", []string{"unix:///var/run//supervisor.sock"}, true},
		{"unix:///var/run/supervisor.sock", []string{"unix:///tmp/other.sock"}, false},
		{"http://127.0.0.1:9001", []string{"http://127.0.0.1:9001/RPC2"}, true},
		{"http://localhost:9001", []string{"http://ops:pw@127.0.0.1:9001/RPC2"}, true},
		{"http://127.0.0.1:9001", []string{"http://127.0.0.1:9002/RPC2", "unix:///x.sock"}, false},
		{"", []string{"unix:///x.sock"}, false},
	}
	for _, tt := range tests {
		if got := SameSupervisor(tt.server, tt.urls); got != tt.want {
			t.Errorf("SameSupervisor(%q, %q) = %t, want %t", tt.server, tt.urls, got, tt.want)
		}
	}
}

func TestInspectNeverReadsAFIFO(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "ext_cloud.env")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := EnvShell.Inspect(p, Target{Region: "EU", Cloud: "eu.example"})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("Inspect(FIFO) error = %v, want one saying it is not a regular file", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Inspect blocked on a FIFO")
	}
}
