// This file holds the status report: what `status` prints on a host and
// what a {"command": "status"} event returns on Lambda.

package check

import (
	"fmt"
	"io"
	"slices"
	"time"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/state"
)

// Status is the stored state as an operator reads it.
type Status struct {
	Region          string         `json:"region"`
	Cloud           string         `json:"cloud"`
	Generation      int64          `json:"generation"`
	OutageStartedAt time.Time      `json:"outage_started_at,omitzero"`
	OutageSeconds   float64        `json:"outage_seconds"`
	LastFailoverAt  time.Time      `json:"last_failover_at,omitzero"`
	PreviousRegion  string         `json:"previous_region,omitempty"`
	Pending         *state.Pending `json:"pending,omitempty"`
	// Pause is the pause in force; nil when not paused (an expired pause
	// is not shown).
	Pause *state.Pause `json:"pause,omitempty"`
	// History is the audit trail, newest first.
	History      []state.Event `json:"history"`
	StateVersion int64         `json:"state_version"`
	// EnvFile is what the hosts' env file says, next to the state; nil on
	// Lambda, where the files are on the hosts.
	EnvFile *EnvFileStatus `json:"env_file,omitempty"`
	// StateProblem says what is wrong with the state file (corrupt, its
	// folder missing) and what the next check does about it; empty when
	// nothing is.
	StateProblem string `json:"state_problem,omitempty"`
	// FailbackDueAt is when FAILBACK=primary returns to the primary; zero
	// when no failback is on the way.
	FailbackDueAt time.Time `json:"failback_due_at,omitzero"`

	failback bool   // FAILBACK=primary
	primary  string // the primary region
	now      time.Time
}

// EnvFileStatus is what the hosts' env file says, next to the state.
type EnvFileStatus struct {
	Path       string `json:"path"`
	Region     string `json:"region,omitempty"`
	Cloud      string `json:"cloud,omitempty"`
	Generation int64  `json:"generation"`
	// Matches is true when the file says what the state says; otherwise
	// Problem says how it differs, and the next check rewrites it.
	Matches bool   `json:"matches"`
	Problem string `json:"problem,omitempty"`
	// Fix, when set, says what to do first: the next check cannot write
	// the file (its folder is missing) and exits 1.
	Fix string `json:"fix,omitempty"`
}

// NewStatus reports s as of now. With no state yet the active region is the
// primary.
func NewStatus(cfg *config.Config, s state.State, now time.Time) Status {
	if s.ActiveRegion == "" {
		s.ActiveRegion = cfg.Primary()
	}
	cloud, _ := cfg.Cloud(s.ActiveRegion)
	st := Status{Region: s.ActiveRegion, Cloud: cloud, Generation: s.Generation, OutageStartedAt: s.OutageStartedAt,
		LastFailoverAt: s.LastFailoverAt, PreviousRegion: s.PreviousRegion, Pending: s.Pending, StateVersion: s.Version,
		History: make([]state.Event, 0, len(s.History)), failback: cfg.Failback == config.FailbackPrimary, primary: cfg.Primary(), now: now}
	if !s.OutageStartedAt.IsZero() {
		st.OutageSeconds = now.Sub(s.OutageStartedAt).Seconds()
	}
	if due, ok := FailbackDue(s, PolicyOf(cfg)); ok {
		st.FailbackDueAt = due
	}
	if Paused(s, now) {
		p := *s.Pause
		st.Pause = &p
	}
	st.History = append(st.History, s.History...)
	slices.Reverse(st.History)
	return st
}

// WriteText prints st for a person, one fact a line, the audit trail last.
func (st Status) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("active region:  %s (%s)\n", st.Region, st.Cloud)
	ew.printf("generation:     %d\n", st.Generation)
	if st.StateProblem != "" {
		ew.printf("state file:     %s\n", st.StateProblem)
	}
	switch env := st.EnvFile; {
	case env == nil:
	case env.Matches:
		ew.printf("env file:       %s, generation %d (%s)\n", env.Region, env.Generation, env.Path)
	case env.Region != "":
		ew.printf("env file:       %s, generation %d (%s): MISMATCH, it %s; the next check rewrites it and restarts the programs\n",
			env.Region, env.Generation, env.Path, env.Problem)
	case env.Fix != "":
		ew.printf("env file:       %s (%s): the next check cannot write it and exits 1; %s\n", env.Problem, env.Path, env.Fix)
	default:
		ew.printf("env file:       %s (%s): the next check writes it and restarts the programs\n", env.Problem, env.Path)
	}
	if st.OutageStartedAt.IsZero() {
		ew.printf("outage:         none\n")
	} else {
		ew.printf("outage:         since %s (%.0fs)\n", st.OutageStartedAt.UTC().Format(time.RFC3339), st.OutageSeconds)
	}
	if st.LastFailoverAt.IsZero() {
		ew.printf("last failover:  never\n")
	} else {
		ew.printf("last failover:  %s from %s\n", st.LastFailoverAt.UTC().Format(time.RFC3339), st.PreviousRegion)
	}
	switch {
	case !st.failback:
		ew.printf("failback:       off (FAILBACK=off)\n")
	case st.FailbackDueAt.IsZero():
		ew.printf("failback:       none due\n")
	case !st.FailbackDueAt.After(st.now):
		ew.printf("failback:       due now, to %s (next check)\n", st.primary)
	default:
		ew.printf("failback:       due at %s, to %s, if it stays healthy\n", st.FailbackDueAt.UTC().Format(time.RFC3339), st.primary)
	}
	if p := st.Pending; p == nil {
		ew.printf("pending push:   none\n")
	} else {
		hosts := "all hosts"
		if len(p.Hosts) > 0 {
			hosts = fmt.Sprint(p.Hosts)
		}
		ew.printf("pending push:   generation %d to %s, %s, %d attempts, last error: %s\n", p.Generation, p.Region, hosts, p.Attempts, p.LastError)
	}
	if p := st.Pause; p == nil {
		ew.printf("paused:         no\n")
	} else {
		ew.printf("paused:         until %s by %s: %s\n", p.Until.UTC().Format(time.RFC3339), orDash(p.By), orDash(p.Reason))
	}
	if len(st.History) == 0 {
		ew.printf("history:        none\n")
	} else {
		ew.printf("history (newest first):\n")
	}
	for _, e := range st.History {
		ew.printf("  %s  %-8s", e.At.UTC().Format(time.RFC3339), e.Kind)
		if e.From != "" || e.To != "" {
			ew.printf("  %s -> %s", orDash(e.From), orDash(e.To))
		}
		if e.Generation > 0 {
			ew.printf("  generation %d", e.Generation)
		}
		if e.By != "" {
			ew.printf("  by %s", e.By)
		}
		if e.Reason != "" {
			ew.printf(": %s", e.Reason)
		}
		ew.printf("\n")
	}
	return ew.err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errWriter keeps the first write error, so a report is written without an
// error check per line.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
