package main

// status on the built binary when the next check cannot do what it
// normally does: a missing folder, a corrupt state file.

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestE2EStatusNamesAMissingFolder: with ENV_FILE's or STATE_FILE's folder
// missing, the next check exits 1, so status must not promise that it
// writes the file: it names the folder and the fix, as doctor does.
func TestE2EStatusNamesAMissingFolder(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	gone := filepath.Join(f.dir, "gone")
	tests := []struct {
		name, variable, file string
		want                 []string
	}{
		{"env file", "ENV_FILE", "ext_cloud.env", []string{
			"env file:       folder " + gone + " does not exist (" + filepath.Join(gone, "ext_cloud.env") + "): the next check cannot write it and exits 1; create it (mkdir -p " + gone + ") or set ENV_FILE to a path in an existing folder",
		}},
		{"state file", "STATE_FILE", "state.json", []string{
			"state file:     folder " + gone + " does not exist (" + filepath.Join(gone, "state.json") + "): no check can store its state: the first with something to keep (an outage, a failover) exits 1; create it (mkdir -p " + gone + ") or set STATE_FILE to a path in an existing folder",
		}},
		{"both", "", "", []string{
			"state file:     folder " + gone + " does not exist",
			"env file:       folder " + gone + " does not exist",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := *f
			g.t = t
			g.env = append([]string(nil), f.env...)
			if tt.variable != "" {
				g.env = append(g.env, tt.variable+"="+filepath.Join(gone, tt.file))
			} else {
				g.env = append(g.env, "ENV_FILE="+filepath.Join(gone, "ext_cloud.env"), "STATE_FILE="+filepath.Join(gone, "state.json"))
			}
			st := g.run("status")
			for _, w := range tt.want {
				if !strings.Contains(st.stdout, w) {
					t.Errorf("status lacks %q:\n%s%s", w, st.stdout, st.stderr)
				}
			}
			if strings.Contains(st.stdout, "the next check writes it") {
				t.Errorf("status promises a write the next check cannot do:\n%s", st.stdout)
			}
			if j := g.run("status", "--json").stdout; !strings.Contains(j, "does not exist") {
				t.Errorf("status --json does not name the folder:\n%s", j)
			}
			// What status says of the next check is true (an outage is
			// something to keep).
			f.nam.Down.Store(true)
			defer f.nam.Down.Store(false)
			if inv := g.run(); inv.code != 1 {
				t.Errorf("check with the folder missing: exit %d, want 1:\n%s%s", inv.code, inv.stdout, inv.stderr)
			}
		})
	}
}

// TestE2EStatusReportsACorruptState: a corrupt state file is reported in
// one line of the status, which says what the next check does with it
// (moves it aside, continues from the env file), and exits 1; the check
// then does just that.
func TestE2EStatusReportsACorruptState(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	writeFile(t, f.stateFile, "{not json")
	st := f.run("status")
	want := "state file:     corrupt (" + f.stateFile + ": "
	tail := "): the next check moves it aside as " + f.stateFile + ".corrupt-<time> and continues from the env file's region (without one, the primary), as shown above\n"
	if st.code != 1 || !strings.Contains(st.stdout, want) || !strings.Contains(st.stdout, tail) || st.stderr != "" {
		t.Errorf("status = exit %d, stdout:\n%s\nstderr %q; want 1, a line %q...%q, no stderr", st.code, st.stdout, st.stderr, want, tail)
	}
	if strings.Contains(st.stdout+st.stderr, "state: corrupt") || !strings.Contains(st.stdout, "active region:  NAM") {
		t.Errorf("status repeats the word state, or not from the env file:\n%s", st.stdout)
	}
	if j := f.run("status", "--json"); j.code != 1 || !strings.Contains(j.stdout, `"state_problem": "corrupt (`) {
		t.Errorf("status --json = exit %d:\n%s", j.code, j.stdout)
	}
	if inv := f.run(); inv.code != 0 || f.envRegion() != "NAM" {
		t.Errorf("check over a corrupt state: exit %d, env %q:\n%s", inv.code, f.envRegion(), inv.stdout)
	}
	if aside, _ := filepath.Glob(f.stateFile + ".corrupt-*"); len(aside) != 1 {
		t.Errorf("the check kept %d copies aside, want 1", len(aside))
	}
}
