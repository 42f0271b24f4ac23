package main

// Drift between the env file and the state, on the built binary: every
// check rewrites a wrong file and restarts once, and leaves a right one
// alone.

import (
	"os"
	"strings"
	"testing"
	"time"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
)

func TestE2EConvergeDrift(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(f *fleet) // after deploy
		region  string         // what the file must name afterwards
		gen     int64
		restart bool
		log     string // a line the check writes
	}{
		{name: "identical", edit: func(*fleet) {}, region: "NAM"},
		{name: "deleted", region: "NAM", restart: true,
			edit: func(f *fleet) { removeFile(f.t, f.envFile) },
			log:  "env file missing: writing it for NAM, generation 0, and restarting the programs"},
		{name: "hand-edited", region: "NAM", restart: true,
			edit: func(f *fleet) {
				writeFile(f.t, f.envFile, "export EXT_CLOUD="+f.eu.Cloud()+"\nexport EXT_REGION=NAM\n")
			},
			log: "env file names region NAM, cloud " + "%EU%" + ", generation 0, the state says NAM (generation 0): rewriting it and restarting the programs"},
		{name: "another region than the state", region: "EU", gen: 1, restart: true,
			edit: func(f *fleet) {
				writeStateFile(f, state.State{Version: 3, ActiveRegion: "EU", Generation: 1, PreviousRegion: "NAM"})
			},
			log: "env file names region NAM, cloud %NAM%, generation 0, the state says EU (generation 1): rewriting it and restarting the programs"},
		{name: "plain format of the same target", region: "NAM",
			edit: func(f *fleet) {
				writeFile(f.t, f.envFile, string(remote.EnvPlain.Render(remote.Target{Region: "NAM", Cloud: f.nam.Cloud()})))
			},
			log: "env file rewritten in the shell format; it named the same target, so nothing was restarted"},
		{name: "the Python handler's file", region: "NAM",
			edit: func(f *fleet) {
				writeFile(f.t, f.envFile, "export EXT_CLOUD="+f.nam.Cloud()+"\nexport EXT_REGION=NAM\n")
			},
			log: "env file rewritten in the shell format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFleet(t)
			tt.edit(f)
			before, _ := os.Stat(f.envFile)
			inv := f.run()
			if inv.code != 0 {
				t.Fatalf("exit %d: %s %s", inv.code, inv.stdout, inv.stderr)
			}
			want := string(remote.Render(remote.Target{Region: tt.region, Cloud: map[string]string{"NAM": f.nam.Cloud(), "EU": f.eu.Cloud()}[tt.region], Generation: tt.gen}))
			if data, _ := os.ReadFile(f.envFile); string(data) != want {
				t.Errorf("env file = %q, want %q", data, want)
			}
			restarts := 0
			if tt.restart {
				restarts = 1
				waitFor(t, "the restart", func() bool { return f.starts() >= 2 })
			}
			if got := f.starts() - 1; got != restarts {
				t.Errorf("app restarted %d times, want %d", got, restarts)
			}
			logWant := strings.NewReplacer("%NAM%", f.nam.Cloud(), "%EU%", f.eu.Cloud()).Replace(tt.log)
			if tt.log != "" && !strings.Contains(inv.stdout, logWant) {
				t.Errorf("log lacks %q:\n%s", logWant, inv.stdout)
			}
			if tt.log == "" && strings.Contains(inv.stdout, "env file") {
				t.Errorf("identical file logged about it:\n%s", inv.stdout)
			}
			if tt.name == "identical" {
				after, _ := os.Stat(f.envFile)
				if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
					t.Error("identical env file was rewritten")
				}
			}
			if tt.restart {
				if s := f.readState(); s.Pending != nil {
					t.Errorf("still pending: %+v", s.Pending)
				}
			}

			// The next check finds the file right: no write, no restart.
			settled, _ := os.Stat(f.envFile)
			next := f.run()
			if next.code != 0 || strings.Contains(next.stdout, "env file") || f.starts()-1 != restarts {
				t.Errorf("second check: exit %d, starts %d:\n%s", next.code, f.starts(), next.stdout)
			}
			if after, _ := os.Stat(f.envFile); !os.SameFile(settled, after) || !after.ModTime().Equal(settled.ModTime()) {
				t.Error("the second check rewrote the env file")
			}
		})
	}
}

// writeStateFile replaces the fleet's state file with s.
func writeStateFile(f *fleet, s state.State) {
	f.t.Helper()
	data, err := state.Encode(s)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(f.stateFile, data, 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func TestE2EStatusShowsTheEnvFile(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	if out := f.run("status").stdout; !strings.Contains(out, "env file:       NAM, generation 0 ("+f.envFile+")") || strings.Contains(out, "MISMATCH") {
		t.Errorf("status of a converged host:\n%s", out)
	}
	writeStateFile(f, state.State{Version: 2, ActiveRegion: "EU", Generation: 1, LastFailoverAt: time.Now()})
	out := f.run("status").stdout
	want := "env file:       NAM, generation 0 (" + f.envFile + "): MISMATCH, it names region NAM, cloud " + f.nam.Cloud() +
		", generation 0; the state says region EU, cloud " + f.eu.Cloud() + ", generation 1; the next check rewrites it and restarts the programs"
	if !strings.Contains(out, want) {
		t.Errorf("status with a mismatch:\n%s\nwant a line %q", out, want)
	}
	if j := f.run("status", "--json").stdout; !strings.Contains(j, `"matches": false`) || !strings.Contains(j, `"region": "NAM"`) {
		t.Errorf("status --json:\n%s", j)
	}
	removeFile(t, f.envFile)
	if out := f.run("status").stdout; !strings.Contains(out, "env file:       missing ("+f.envFile+"): the next check writes it and restarts the programs") {
		t.Errorf("status without an env file:\n%s", out)
	}
}

func TestE2EConvergeDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content string // "" removes the file
		log           string
	}{
		{"missing", "", "dry run: would push generation 0 of NAM"},
		{"hand-edited", "export EXT_CLOUD=elsewhere.example\nexport EXT_REGION=NAM\n", "dry run: would push generation 0 of NAM"},
		{"plain format", "%PLAIN%", "dry run: would rewrite the env file in the shell format (it names the same target: no restart)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFleet(t)
			content := strings.ReplaceAll(tt.content, "%PLAIN%", string(remote.EnvPlain.Render(remote.Target{Region: "NAM", Cloud: f.nam.Cloud()})))
			if content == "" {
				removeFile(t, f.envFile)
			} else {
				writeFile(t, f.envFile, content)
			}
			inv := f.run("check", "--dry-run")
			if inv.code != 0 || !strings.Contains(inv.stdout, tt.log) {
				t.Fatalf("exit %d, log lacks %q:\n%s", inv.code, tt.log, inv.stdout)
			}
			data, err := os.ReadFile(f.envFile)
			if (content == "" && !os.IsNotExist(err)) || (content != "" && string(data) != content) {
				t.Errorf("a dry run changed the env file: %q, %v", data, err)
			}
			if f.starts() != 1 || f.readState().Version != 0 {
				t.Errorf("a dry run restarted (%d starts) or wrote the state (%+v)", f.starts(), f.readState())
			}
		})
	}
}
