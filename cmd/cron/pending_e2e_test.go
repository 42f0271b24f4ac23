package main

// A push pending on a supervisord that has since left SUPERVISOR_URL, on
// the built binary.

import (
	"testing"
	"time"

	"extcloud-failover/internal/state"
)

// TestE2EPendingPushFollowsAChangedSupervisorURL: a failover's push is
// pending on a supervisord that SUPERVISOR_URL no longer lists (the
// configuration moved to another one). The old host is dropped, and the
// supervisord now configured, which never got the push, gets it: its app
// restarts on the new env file before the push counts as converged.
func TestE2EPendingPushFollowsAChangedSupervisorURL(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	old := "unix://" + f.dir + "/old-supervisord.sock"
	writeStateFile(f, state.State{Version: 2, ActiveRegion: "EU", Generation: 1, PreviousRegion: "NAM", LastFailoverAt: time.Now().Add(-time.Minute),
		Pending: &state.Pending{Generation: 1, Region: "EU", Cloud: f.eu.Cloud(), Hosts: []string{old}, Attempts: 1, LastError: old + ": connection refused"}})
	inv := f.run()
	if inv.code != 0 {
		t.Fatalf("exit %d:\n%s%s", inv.code, inv.stdout, inv.stderr)
	}
	if f.envRegion() != "EU" {
		t.Errorf("env file names %q, want EU", f.envRegion())
	}
	waitFor(t, "the app's restart on the configured supervisord", func() bool { return f.starts() >= 2 })
	if got := f.starts(); got != 2 {
		t.Errorf("app started %d times, want 2 (one restart)", got)
	}
	if s := f.readState(); s.Pending != nil || s.ActiveRegion != "EU" || s.Generation != 1 {
		t.Errorf("state %+v, want EU generation 1, nothing pending", s)
	}
	// Converged: the next check restarts nothing.
	if next := f.run(); next.code != 0 || f.starts() != 2 {
		t.Errorf("next check: exit %d, starts %d:\n%s", next.code, f.starts(), next.stdout)
	}
}
