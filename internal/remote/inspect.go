// This file holds Supervisor.Diagnose: a read-only look at every supervisord
// a push would restart programs on, for `doctor`.

package remote

import (
	"context"
	"fmt"
)

// ProcessState is one process as supervisord reports it.
type ProcessState struct {
	// Name is the namespec (name, or group:name).
	Name string
	// State is supervisord's state name: RUNNING, STOPPED, FATAL, ...
	State string
}

// ProgramInspection is what one supervisord knows of one entry of
// SUPERVISOR_PROGRAMS.
type ProgramInspection struct {
	// Program is the entry as configured: name, group:name or group:*.
	Program string
	// Processes are the processes it names; empty when Err is set.
	Processes []ProcessState
	// Err says why the program could not be looked up (unknown name or
	// group, a fault).
	Err error
}

// Inspection is one supervisord as a push would find it.
type Inspection struct {
	// Host is the host ID (the URL without credentials).
	Host string
	// State is supervisord's own state (RUNNING when healthy); empty when
	// Err is set.
	State string
	// Err says why supervisord could not be asked (unreachable, wrong
	// credentials); Programs is then empty.
	Err error
	// Programs are the configured programs, in order.
	Programs []ProgramInspection
}

// Diagnose asks every configured supervisord for its state and for each
// configured program, changing nothing, at most Concurrency hosts at once.
// Results are in the order of SUPERVISOR_URL.
func (s *Supervisor) Diagnose(ctx context.Context) []Inspection {
	out := make([]Inspection, len(s.hosts))
	fanOut(ctx, len(s.hosts), s.concurrency, func(ctx context.Context, i int) error {
		out[i] = s.inspectHost(ctx, s.hosts[i])
		return nil
	})
	for i, h := range s.hosts {
		if out[i].Host == "" {
			// fanOut did not start this host: ctx ended first.
			out[i] = Inspection{Host: h.id, Err: fmt.Errorf("not contacted: %w", context.Cause(ctx))}
		}
	}
	return out
}

func (s *Supervisor) inspectHost(ctx context.Context, h *svHost) Inspection {
	in := Inspection{Host: h.id}
	var st struct {
		Name string `xmlrpc:"statename"`
	}
	if err := s.call(ctx, h, svCallTimeout, "getState", &st); err != nil {
		in.Err = err
		return in
	}
	in.State = st.Name
	for _, p := range s.programs {
		pi := ProgramInspection{Program: p}
		infos, err := s.processInfo(ctx, h, p)
		if err != nil {
			pi.Err = err
		}
		for _, info := range infos {
			pi.Processes = append(pi.Processes, ProcessState{Name: info.namespec(), State: info.StateName})
		}
		in.Programs = append(in.Programs, pi)
	}
	return in
}
