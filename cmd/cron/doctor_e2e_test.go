// End-to-end tests of doctor on the built binary, with a real supervisord.
package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/testenv"
)

// doctorLine returns the checklist line about part, or "".
func doctorLine(out, part string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, part) {
			return l
		}
	}
	return ""
}

func TestE2EDoctorPassesOnAGoodSetUp(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	inv := f.run("doctor")
	if inv.code != 0 {
		t.Fatalf("doctor exit %d, want 0:\n%s%s", inv.code, inv.stdout, inv.stderr)
	}
	for _, part := range []string{"ok    region NAM (active)", "ok    region EU", "ok    region APAC", "ok    env file " + f.envFile,
		"ok    state file " + f.stateFile, "ok    supervisord " + f.sv.URL, "ok    program app on ", "ok    env file and state", "doctor: all "} {
		if doctorLine(inv.stdout, part) == "" {
			t.Errorf("no line %q in:\n%s", part, inv.stdout)
		}
	}
	if strings.Contains(inv.stdout, "FAIL") {
		t.Errorf("a check failed:\n%s", inv.stdout)
	}
	// doctor changes nothing.
	if env, _ := os.ReadFile(f.envFile); string(env) != f.deployed || f.readState().Version != 0 || f.starts() != 1 {
		t.Errorf("doctor changed the host: env %q, state version %d, starts %d", f.envRegion(), f.readState().Version, f.starts())
	}
}

func TestE2EDoctorNamesTheFailingPart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name  string
		env   []string
		setup func(f *fleet)
		code  int
		line  string // the line of the failing (or warned) part
		want  string // in that line
	}{
		{name: "unknown program", env: []string{"SUPERVISOR_PROGRAMS=app,ghost"}, code: 1,
			line: "FAIL  program ghost on ", want: "compare SUPERVISOR_PROGRAMS with `supervisorctl status`"},
		{name: "missing folder", env: []string{"ENV_FILE=" + filepath.Join(dir, "missing", "ext_cloud.env")}, code: 1,
			line: "FAIL  env file " + filepath.Join(dir, "missing", "ext_cloud.env"), want: "does not exist; fix: create it (mkdir -p " + filepath.Join(dir, "missing") + ")"},
		{name: "supervisord down", setup: func(f *fleet) { f.sv.Stop(t) }, code: 1,
			line: "FAIL  supervisord ", want: "start supervisord, or point SUPERVISOR_URL at the one that runs the application"},
		{name: "active region down", setup: func(f *fleet) { f.nam.Down.Store(true) }, code: 1,
			line: "FAIL  region NAM (active)", want: "down right now: status 503"},
		{name: "other region down", setup: func(f *fleet) { f.eu.Down.Store(true) }, code: 0,
			line: "warn  region EU", want: "down right now: status 503 (not active: reported, not failed)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFleet(t, tt.env...)
			if tt.setup != nil {
				tt.setup(f)
			}
			inv := f.run("doctor")
			if inv.code != tt.code {
				t.Fatalf("doctor exit %d, want %d:\n%s%s", inv.code, tt.code, inv.stdout, inv.stderr)
			}
			l := doctorLine(inv.stdout, tt.line)
			if l == "" || !strings.Contains(l, tt.want) {
				t.Fatalf("line %q = %q, want it to contain %q; checklist:\n%s", tt.line, l, tt.want, inv.stdout)
			}
			if got := strings.Count(inv.stdout, "FAIL  "); (tt.code == 0) != (got == 0) {
				t.Errorf("%d failed lines with exit %d:\n%s", got, inv.code, inv.stdout)
			}
		})
	}
}

func TestE2EDoctorWrongSupervisordPassword(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd, _ := testenv.CountingProgram(t, dir)
	sv := testenv.StartSupervisord(t, testenv.SupervisordOptions{
		Programs: []testenv.SupervisordProgram{{Name: "app", Command: cmd}},
		Username: "admin", Password: "right-password",
	})
	f := fleetOn(t, dir, sv, nil, "SUPERVISOR_USERNAME=admin", "SUPERVISOR_PASSWORD=right-password")
	if inv := f.run("doctor"); inv.code != 0 {
		t.Fatalf("doctor with the right password: exit %d:\n%s%s", inv.code, inv.stdout, inv.stderr)
	}
	f.env = append(f.env, "SUPERVISOR_PASSWORD=wrong-password")
	inv := f.run("doctor")
	if inv.code != 1 {
		t.Fatalf("doctor exit %d, want 1:\n%s%s", inv.code, inv.stdout, inv.stderr)
	}
	l := doctorLine(inv.stdout, "FAIL  supervisord "+sv.URL)
	if !strings.Contains(l, "unauthorized") || !strings.Contains(l, "set SUPERVISOR_USERNAME and SUPERVISOR_PASSWORD") {
		t.Errorf("supervisord line %q, want unauthorized and the fix:\n%s", l, inv.stdout)
	}
	if strings.Contains(inv.stdout, "wrong-password") {
		t.Errorf("doctor printed the password:\n%s", inv.stdout)
	}
}

func TestE2EDoctorEnvFileAndStateDisagree(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	f.nam.Down.Store(true)
	f.plantOutage(time.Minute)
	if inv := f.run(); inv.action() != "failover" {
		t.Fatalf("setup failover: action %q:\n%s", inv.action(), inv.stdout)
	}
	f.nam.Down.Store(false)
	if inv := f.run("doctor"); inv.code != 0 || doctorLine(inv.stdout, "ok    env file and state: agree: EU, generation 1") == "" {
		t.Fatalf("after a failover: exit %d:\n%s", inv.code, inv.stdout)
	}
	// Someone points the env file elsewhere by hand.
	if err := os.WriteFile(f.envFile, remote.Render(remote.Target{Region: "APAC", Cloud: f.apac.Cloud(), Generation: 1}), 0o644); err != nil {
		t.Fatal(err)
	}
	inv := f.run("doctor")
	if l := doctorLine(inv.stdout, "FAIL  env file and state"); inv.code != 1 || !strings.Contains(l, "the state says EU, generation 1; the env file says APAC, generation 1") {
		t.Fatalf("exit %d, line %q:\n%s", inv.code, l, inv.stdout)
	}
}
