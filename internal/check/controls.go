// This file holds the operator's controls on the state: pause and resume,
// each a compare-and-swap that records an audit event.

package check

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/state"
)

// Pause limits: `pause` without --for holds switches for DefaultPause, and
// no pause outlasts MaxPause, so a forgotten pause cannot disable failover
// for good. A reason and an author's name (by) are one line of at most
// MaxReasonBytes and MaxByBytes.
const (
	DefaultPause   = time.Hour
	MaxPause       = 7 * 24 * time.Hour
	MaxReasonBytes = 200
	MaxByBytes     = 128
)

// ErrNotPaused means resume found no pause in force; nothing was written.
var ErrNotPaused = errors.New("check: not paused")

// PauseRequest is one operator's pause.
type PauseRequest struct {
	// For is how long switches are held, from now: more than 0, at most
	// MaxPause.
	For time.Duration
	// Reason says why, for status and the summary line.
	Reason string
	// By names who paused ($USER@hostname on a host).
	By string
}

// PauseDurationProblem says why d, which the user typed as typed, is not a
// pause length, or returns "". The message quotes typed (200h), not d's
// own spelling (200h0m0s). Callers add the name of their field (--for,
// "for").
func PauseDurationProblem(typed string, d time.Duration) string {
	switch {
	case d <= 0:
		return fmt.Sprintf("%.40s must be more than 0 (e.g. 2h)", typed)
	case d > MaxPause:
		return fmt.Sprintf("%.40s is longer than 7 days (want at most 168h)", typed)
	}
	return ""
}

// TextProblem says why s cannot be a pause's reason or author (too long,
// control characters, invalid UTF-8), or returns "". Such text reaches
// log lines and the terminal of whoever runs status.
func TextProblem(s string, limit int) string {
	if len(s) > limit {
		return fmt.Sprintf("%d bytes (want at most %d)", len(s), limit)
	}
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return "has a control character or invalid UTF-8 (want one line of text)"
		}
	}
	return ""
}

// Pause holds automatic switches until now+req.For, with compare-and-swap
// on the stored state, and records a pause event. A pause in force is
// replaced (extended or shortened). It returns the stored state.
func Pause(ctx context.Context, cfg *config.Config, deps Deps, req PauseRequest) (state.State, error) {
	if p := PauseDurationProblem(req.For.String(), req.For); p != "" {
		return state.State{}, fmt.Errorf("pause: %s", p)
	}
	if p := TextProblem(req.Reason, MaxReasonBytes); p != "" {
		return state.State{}, fmt.Errorf("pause: reason: %s", p)
	}
	r, s, now, err := openControl(ctx, cfg, deps, "pause", req.By)
	if err != nil {
		return s, err
	}
	until := now.Add(req.For)
	s, err = r.update(ctx, s, "store pause", func(cur state.State) (state.State, bool) {
		next := cur
		next.Pause = &state.Pause{Until: until, At: now, Reason: req.Reason, By: req.By}
		next = next.Record(state.Event{At: now, Kind: state.EventPause, Reason: pauseReason(req.Reason, until), By: req.By, Generation: cur.Generation})
		return next, true
	})
	if err != nil {
		return s, err
	}
	r.log.Warn("automatic failover paused until "+until.Format(time.RFC3339), "until", until.Format(time.RFC3339),
		"reason", req.Reason, "by", req.By, "region", s.ActiveRegion, "action", "pause")
	return s, nil
}

// openControl is how Pause and Resume start: refuse a "by" that cannot
// reach a log line (the error names cmd), then load the state under the
// invocation's deadline. It returns the runner, the state and now in UTC.
func openControl(ctx context.Context, cfg *config.Config, deps Deps, cmd, by string) (*runner, state.State, time.Time, error) {
	if p := TextProblem(by, MaxByBytes); p != "" {
		return nil, state.State{}, time.Time{}, fmt.Errorf("%s: by: %s", cmd, p)
	}
	r := newRunner(cfg, deps)
	r.setDeadline(ctx)
	s, _, err := r.load(ctx)
	if err != nil {
		return nil, s, time.Time{}, err
	}
	return r, s, r.now().UTC(), nil
}

// Resume lifts a pause in force, with compare-and-swap, and records a
// resume event. Without a pause in force (none, or expired) it writes
// nothing and returns an error wrapping ErrNotPaused.
func Resume(ctx context.Context, cfg *config.Config, deps Deps, by string) (state.State, error) {
	r, s, now, err := openControl(ctx, cfg, deps, "resume", by)
	if err != nil {
		return s, err
	}
	var lifted *state.Pause
	s, err = r.update(ctx, s, "store resume", func(cur state.State) (state.State, bool) {
		lifted = cur.Pause
		if !Paused(cur, now) {
			return cur, false
		}
		next := cur
		next.Pause = nil
		next = next.Record(state.Event{At: now, Kind: state.EventResume, Reason: "resumed by hand", By: by, Generation: cur.Generation})
		return next, true
	})
	if err != nil {
		return s, err
	}
	if !Paused(state.State{Pause: lifted}, now) {
		return s, fmt.Errorf("%w: nothing to resume", ErrNotPaused)
	}
	r.log.Warn("automatic failover resumed", "by", by, "paused_by", lifted.By, "paused_reason", lifted.Reason,
		"region", s.ActiveRegion, "action", "resume")
	return s, nil
}

// Paused reports whether s holds a pause still in force at now.
func Paused(s state.State, now time.Time) bool {
	return s.Pause != nil && now.Before(s.Pause.Until)
}

// pauseReason is the audit event's reason: the operator's words and the
// end of the pause.
func pauseReason(reason string, until time.Time) string {
	if reason == "" {
		return "until " + until.Format(time.RFC3339)
	}
	return reason + " (until " + until.Format(time.RFC3339) + ")"
}
