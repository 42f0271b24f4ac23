package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	ddlambda "github.com/DataDog/datadog-lambda-go"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"extcloud-failover/internal/check"
	"extcloud-failover/internal/config"
	"extcloud-failover/internal/doctor"
	"extcloud-failover/internal/state"
)

// Event is what the function accepts: the state machine's {"offset": 10},
// the Scheduler's {}, an EventBridge scheduled event, or from a person
// {"failover_to": "EU"} or a command ({"command": "pause", "for": "2h",
// "reason": "..."}, resume, status, doctor). Unknown fields are ignored.
type Event struct {
	// Offset is the second of the minute the state machine scheduled this
	// check for; nil when another trigger sent the event.
	Offset *int `json:"offset,omitempty"`
	// Source and DetailType identify an EventBridge event (aws.events,
	// Scheduled Event); ID is its id.
	Source     string `json:"source,omitempty"`
	DetailType string `json:"detail-type,omitempty"`
	ID         string `json:"id,omitempty"`
	// FailoverTo forces a failover to this region, as the host CLI's
	// failover --to does.
	FailoverTo string `json:"failover_to,omitempty"`
	// Force makes failover_to switch even when the region fails its
	// pre-flight, as failover --to R --force does.
	Force bool `json:"force,omitempty"`
	// Command is an operator's command: pause, resume, status or doctor.
	Command string `json:"command,omitempty"`
	// For and Reason are pause's duration (default 1h, at most 7 days)
	// and why.
	For    string `json:"for,omitempty"`
	Reason string `json:"reason,omitempty"`
	// By names who sent a command, for the audit trail; default the
	// request ID.
	By string `json:"by,omitempty"`
}

// trigger names what sent the event, for the logs.
func (e Event) trigger() string {
	switch {
	case e.Command != "":
		return "command"
	case e.FailoverTo != "":
		return "failover"
	case e.Source != "" || e.DetailType != "":
		return "eventbridge"
	case e.Offset != nil:
		return "stepfunctions"
	default:
		return "direct"
	}
}

// decodeEvent reads a payload; an empty payload or null is the empty event.
func decodeEvent(payload []byte) (Event, error) {
	var ev Event
	p := bytes.TrimSpace(payload)
	if len(p) == 0 || bytes.Equal(p, []byte("null")) {
		return ev, nil
	}
	if p[0] != '{' {
		return ev, fmt.Errorf("event: want a JSON object such as {\"offset\": 10}, got %.40s", p)
	}
	if err := json.Unmarshal(p, &ev); err != nil {
		return ev, fmt.Errorf("event: %w", err)
	}
	return ev, nil
}

// The errors the function returns. aws-lambda-go reports the Go type name of
// a returned error as the invoke response's errorType, so these names are
// what a Step Functions Catch or an alarm matches.
type (
	// ConfigError means the function's configuration is invalid; every
	// invocation returns it until the configuration is fixed.
	ConfigError struct{ Err error }
	// EventError means the event could not be read or asks for something
	// impossible (an unknown failover_to region).
	EventError struct{ Err error }
	// StateError means the state item could not be read or written.
	StateError struct{ Err error }
	// PreflightError means a failover_to target failed its pre-flight and
	// nothing was switched; send "force": true to switch anyway.
	PreflightError struct{ Err error }
	// PushIncompleteError means a failover was decided but some hosts did not
	// converge; they are pending and re-pushed by the next checks.
	PushIncompleteError struct{ Err error }
	// CheckError is any other failure of a check.
	CheckError struct{ Err error }
)

func (e *ConfigError) Error() string { return "configuration: " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }
func (e *EventError) Error() string  { return e.Err.Error() }
func (e *EventError) Unwrap() error  { return e.Err }
func (e *StateError) Error() string  { return e.Err.Error() }
func (e *StateError) Unwrap() error  { return e.Err }
func (e *PreflightError) Error() string {
	return e.Err.Error() + " (send \"force\": true with failover_to to switch anyway)"
}
func (e *PreflightError) Unwrap() error      { return e.Err }
func (e *PushIncompleteError) Error() string { return e.Err.Error() }
func (e *PushIncompleteError) Unwrap() error { return e.Err }
func (e *CheckError) Error() string          { return e.Err.Error() }
func (e *CheckError) Unwrap() error          { return e.Err }

// classify gives a check's error its edge type. The whole chain is kept as
// the message and for errors.Is.
func classify(err error) error {
	var se *StateError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, check.ErrPushIncomplete):
		return &PushIncompleteError{Err: err}
	case errors.Is(err, check.ErrPreflightFailed):
		return &PreflightError{Err: err}
	case errors.As(err, &se):
		return &StateError{Err: err}
	default:
		return &CheckError{Err: err}
	}
}

// markedStore marks every error of its store, except the lost
// compare-and-swap the checker handles itself, as a StateError, so classify
// knows a DynamoDB failure from a probe's or a push's.
type markedStore struct{ s state.Store }

func (m markedStore) Load(ctx context.Context) (state.State, error) {
	s, err := m.s.Load(ctx)
	return s, markState(err)
}

func (m markedStore) Swap(ctx context.Context, old, next state.State) (state.State, error) {
	s, err := m.s.Swap(ctx, old, next)
	return s, markState(err)
}

func markState(err error) error {
	if err == nil || errors.Is(err, state.ErrConflict) {
		return err
	}
	return &StateError{Err: err}
}

// app is the function: built once per execution environment, then called for
// every invocation.
type app struct {
	cfg     *config.Config
	deps    check.Deps
	initErr error // a *ConfigError: every invocation returns it
	log     *slog.Logger
	// margin is kept back from the invocation's deadline for what follows
	// the check: the metrics flush and the response.
	margin time.Duration
	// dd configures datadog-lambda-go; nil sends no metrics and leaves the
	// handler unwrapped.
	dd    *ddlambda.Config
	run   func(context.Context, *config.Config, check.Deps) (check.Result, error)
	force func(context.Context, *config.Config, check.Deps, check.FailoverRequest) (check.Result, error)
	// doctor runs the function's readiness checks; nil when not wired.
	doctor func(context.Context, check.Deps) doctor.Report
}

// Response is what Handle returns: a check.Result for a check or a forced
// failover, a CommandResponse for a command.
type Response interface{}

// Handle runs one invocation: one check, a forced failover or a command,
// as the event asks. It returns the decision record (a CommandResponse for
// a command), or an error of one of the types above.
func (a *app) Handle(ctx context.Context, payload json.RawMessage) (Response, error) {
	if a.initErr != nil {
		return nil, a.initErr
	}
	ev, err := decodeEvent(payload)
	var pauseFor time.Duration
	if err == nil && ev.Command != "" {
		pauseFor, err = a.checkCommand(ev)
	} else if err == nil {
		err = checkFailoverEvent(ev)
	}
	if err != nil {
		a.log.Error("event refused", "error", err.Error())
		return nil, &EventError{Err: err}
	}

	attrs := []any{"trigger", ev.trigger()}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		attrs = append(attrs, "request_id", lc.AwsRequestID)
	}
	if ev.Offset != nil {
		attrs = append(attrs, "offset", *ev.Offset)
	}
	deps := a.deps
	deps.Log = a.log.With(attrs...)

	ctx, cancel := a.budget(ctx)
	defer cancel()

	if ev.Command != "" {
		return a.command(ctx, ev, pauseFor, deps)
	}
	if ev.FailoverTo != "" {
		if _, err := a.cfg.CheckRegion("failover_to", ev.FailoverTo); err != nil {
			deps.Log.Error("event refused", "error", err.Error())
			return nil, &EventError{Err: err}
		}
		res, err := a.force(ctx, a.cfg, deps, check.FailoverRequest{To: ev.FailoverTo, Force: ev.Force, By: a.caller(ctx, ev)})
		return res, classify(err)
	}
	res, err := a.run(ctx, a.cfg, deps)
	return res, classify(err)
}

// budget derives the check's deadline from the invocation's, keeping margin
// (at most half of what is left) for the metrics flush and the response.
// Without a deadline (a direct call) CHECK_TIMEOUT bounds the check.
func (a *app) budget(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithTimeout(ctx, a.cfg.CheckTimeout)
	}
	m := min(a.margin, time.Until(dl)/2)
	return context.WithDeadline(ctx, dl.Add(-m))
}
