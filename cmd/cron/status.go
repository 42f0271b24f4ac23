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
	"path/filepath"
	"strings"
	"time"

	"extcloud-failover/internal/check"
	"extcloud-failover/internal/config"
	"extcloud-failover/internal/remote"
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

// readEnvFile reads the env file for status, opening nothing but a regular
// file.
func readEnvFile(path string) (remote.EnvFile, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return remote.EnvFile{}, err
	}
	if !fi.Mode().IsRegular() {
		return remote.EnvFile{}, errors.New("not a regular file")
	}
	return remote.ReadEnvFile(path)
}

// readEnvStatus reads the env file, without writing, and compares it with t.
func readEnvStatus(path string, t remote.Target) check.EnvFileStatus {
	st := check.EnvFileStatus{Path: path}
	e, err := readEnvFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		st.Problem = "missing"
		if problem, fix := folderProblem(path, "ENV_FILE"); problem != "" {
			st.Problem, st.Fix = problem, fix
		}
		return st
	case err != nil:
		st.Problem = err.Error()
		return st
	}
	st.Region, st.Cloud, st.Generation = e.Region, e.Cloud, e.Generation
	st.Matches = e.Means(t)
	if !st.Matches {
		st.Problem = fmt.Sprintf("names %s; the state says region %s, cloud %s, generation %d", e.Describe(), t.Region, t.Cloud, t.Generation)
	}
	return st
}

// folderProblem says what is wrong with the folder of path, a file that
// does not exist, and the fix naming field (ENV_FILE, STATE_FILE), as
// doctor does; "" when the folder is there.
func folderProblem(path, field string) (problem, fix string) {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "folder " + dir + " does not exist", "create it (mkdir -p " + dir + ") or set " + field + " to a path in an existing folder"
	case err != nil:
		return "folder " + dir + ": " + err.Error(), "give this user access to " + dir + " or set " + field
	case !fi.IsDir():
		return dir + " is not a folder", "set " + field + " to a path in a folder"
	}
	return "", ""
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
	code := exitOK
	var stateProblem string
	switch {
	case errors.Is(err, state.ErrCorrupt):
		// Reported, not moved: the next check moves it aside and starts
		// from the env file, as status does below.
		detail := strings.TrimPrefix(err.Error(), state.ErrCorrupt.Error()+": ")
		stateProblem = "corrupt (" + path + ": " + detail + "): the next check moves it aside as " + path +
			".corrupt-<time> and continues from the env file's region (without one, the primary), as shown above"
		s, code = state.State{}, exitRuntime
	case err != nil:
		fmt.Fprintln(a.stderr, "extcloud-failover: state "+path+": "+err.Error())
		return exitRuntime
	case s.Version == 0:
		if problem, fix := folderProblem(path, "STATE_FILE"); problem != "" {
			stateProblem = problem + " (" + path + "): no check can store its state: the first with something to keep (an outage, a failover) exits 1; " + fix
		}
	}
	if s.Version == 0 && s.ActiveRegion == "" {
		// No state yet: a check starts from the region the env file names
		// (when it names a listed one), else the primary.
		if e, err := readEnvFile(a.cfg.EnvFile); err == nil {
			if _, known := a.cfg.Cloud(e.Region); known {
				s.ActiveRegion, s.Generation = e.Region, e.Generation
			}
		}
	}
	rep := check.NewStatus(a.cfg, s, time.Now())
	env := readEnvStatus(a.cfg.EnvFile, remote.Target{Region: rep.Region, Cloud: rep.Cloud, Generation: rep.Generation})
	if stateProblem != "" && env.Problem == "missing" {
		env.Fix = "fix STATE_FILE first (see state file)"
	}
	rep.EnvFile = &env
	rep.StateProblem = stateProblem
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return exitRuntime
		}
		return code
	}
	if err := rep.WriteText(a.stdout); err != nil {
		return exitRuntime
	}
	return code
}
