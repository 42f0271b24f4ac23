package ssmpush_test

// Tests of push.sh run directly by /bin/sh on a real supervisord in the
// Python handler's layout: the restart order, both env file formats and the
// handler's own file.

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/remote/ssmpush"
	"extcloud-failover/internal/testenv"
)

var handlerPrograms = []string{"app:stunnel", "app:cloud-client", "app:application"}

// handlerHost is a supervisord running the handler's group app, whose
// programs log their starts and stops.
type handlerHost struct {
	sv      *testenv.Supervisord
	log     string
	envFile string
}

func newHandlerHost(t *testing.T) handlerHost {
	t.Helper()
	dir := t.TempDir()
	h := handlerHost{log: filepath.Join(dir, "order.log"), envFile: filepath.Join(dir, "ext_cloud.env")}
	var progs []testenv.SupervisordProgram
	for _, name := range []string{"stunnel", "cloud-client", "application"} {
		progs = append(progs, testenv.SupervisordProgram{Name: name, Group: "app", Command: testenv.OrderProgram(t, h.log, name), StartSecs: 1})
	}
	h.sv = testenv.StartSupervisord(t, testenv.SupervisordOptions{Programs: progs})
	testenv.OrderLog(t, h.log, 0, 3)
	testenv.WaitRunning(t, h.sv, handlerPrograms...)
	return h
}

// run runs the push script for t in format f on h and returns its exit code
// and output.
func (h handlerHost) run(t *testing.T, f remote.EnvFormat, tg remote.Target) (int, string) {
	t.Helper()
	script, err := ssmpush.ScriptAs(f, tg, h.envFile, handlerPrograms)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = append(os.Environ(), "SUPERVISORCTL=supervisorctl -c "+h.sv.ConfigPath)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	case err != nil:
		t.Fatalf("run push script: %v", err)
	}
	return 0, string(out)
}

func TestPushScriptHandlerOrder(t *testing.T) {
	t.Parallel()
	h := newHandlerHost(t)
	eu := remote.Target{Region: "EU", Cloud: "eu.example.test", Generation: 1}
	if code, out := h.run(t, remote.EnvShell, eu); code != 0 {
		t.Fatalf("push exit %d:\n%s", code, out)
	}
	got := testenv.OrderLog(t, h.log, 3, 6)
	want := "stop application, stop cloud-client, stop stunnel, start stunnel, start cloud-client, start application"
	if strings.Join(got, ", ") != want {
		t.Errorf("restart order = %q, want %q", strings.Join(got, ", "), want)
	}
}

func TestPushScriptFormats(t *testing.T) {
	t.Parallel()
	eu0 := remote.Target{Region: "EU", Cloud: "eu.example.test", Generation: 0}
	tests := []struct {
		name    string
		before  string
		format  remote.EnvFormat
		tg      remote.Target
		code    int
		restart bool
	}{
		{"plain format written", "", remote.EnvPlain, eu0, 0, true},
		{"the handler's file of the same region: no restart", "export EXT_CLOUD=eu.example.test\nexport EXT_REGION=EU\n", remote.EnvShell, eu0, 0, false},
		{"plain file of the same target: no restart", string(remote.EnvPlain.Render(eu0)), remote.EnvShell, eu0, 0, false},
		{"the handler's file of another region: restart", "export EXT_CLOUD=nam.example.test\nexport EXT_REGION=NAM\n", remote.EnvShell, eu0, 0, true},
		{"EXT_REGION hand-edited: restart", "EXT_CLOUD=eu.example.test\nEXT_REGION=NAM\nEXT_CLOUD_REGION=EU\n", remote.EnvShell, eu0, 0, true},
		{"newer generation in plain format: refused", string(remote.EnvPlain.Render(remote.Target{Region: "NAM", Cloud: "nam.example.test", Generation: 4})),
			remote.EnvShell, remote.Target{Region: "EU", Cloud: "eu.example.test", Generation: 3}, 3, false},
		{"newer generation in shell format: refused", string(remote.EnvShell.Render(remote.Target{Region: "NAM", Cloud: "nam.example.test", Generation: 4})),
			remote.EnvPlain, remote.Target{Region: "EU", Cloud: "eu.example.test", Generation: 3}, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHandlerHost(t)
			if tt.before != "" {
				if err := os.WriteFile(h.envFile, []byte(tt.before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, out := h.run(t, tt.format, tt.tg)
			if code != tt.code {
				t.Fatalf("push exit %d, want %d:\n%s", code, tt.code, out)
			}
			data, err := os.ReadFile(h.envFile)
			if err != nil {
				t.Fatal(err)
			}
			want := string(tt.format.Render(tt.tg))
			if tt.code != 0 {
				want = tt.before
			}
			if string(data) != want {
				t.Errorf("env file =\n%s\nwant\n%s", data, want)
			}
			n := 0
			if tt.restart {
				n = 6
			}
			if got := testenv.OrderLog(t, h.log, 3, n); len(got) != n {
				t.Errorf("after the push the programs logged %q, want %d lines (restart: %t)\n%s", got, n, tt.restart, out)
			}
			if tt.code == 0 {
				if m, _ := os.ReadFile(h.envFile + ".applied"); strings.TrimSpace(string(m)) != "0" {
					t.Errorf("marker holds %q, want 0", m)
				}
			}
		})
	}
}
