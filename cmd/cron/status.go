// This file holds the status command: the state as an operator reads it,
// with the pause in force and the audit trail, newest first.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"extcloud-failover/internal/check"
	"extcloud-failover/internal/config"
	"extcloud-failover/internal/state"
)

// readState reads STATE_FILE without the FileStore: status and doctor only
// read, so a corrupt file is reported, not moved aside.
func readState(path string) (state.State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return state.State{}, nil
	}
	if err != nil {
		return state.State{}, err
	}
	return state.Decode(data)
}

// statusFlags is status's own flag, --json, and its body.
func statusFlags(fs *flag.FlagSet) body {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(_ context.Context, a *app) int { return a.status(*asJSON) }
}

func (a *app) status(asJSON bool) int {
	path := a.cfg.StateFile
	if a.cfg.DryRun {
		path += config.DryRunSuffix // the dry run's own state
	}
	s, err := readState(path)
	if err != nil {
		fmt.Fprintln(a.stderr, "extcloud-failover: state "+path+": "+err.Error())
		return exitRuntime
	}
	rep := check.NewStatus(a.cfg, s, time.Now())
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return exitRuntime
		}
		return exitOK
	}
	if err := rep.WriteText(a.stdout); err != nil {
		return exitRuntime
	}
	return exitOK
}
