// This file holds the host's checks: files, state, supervisords, and that
// the env file and the state agree.

package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
)

// Inspector is what doctor asks of the supervisords; *remote.Supervisor
// satisfies it.
type Inspector interface {
	Diagnose(ctx context.Context) []remote.Inspection
}

// Host is everything a host's doctor talks to.
type Host struct {
	Config *config.Config
	Probes
	// Supervisors inspects every supervisord of SUPERVISOR_URL.
	Supervisors Inspector
	// ReadState reads STATE_FILE without changing it (a corrupt file is
	// reported, not moved aside); the zero State and no error when there
	// is none.
	ReadState func() (state.State, error)
	// Access asks whether this user may use path in mode (syscall.W_OK...);
	// nil means access(2).
	Access func(path string, mode uint32) error
	// User names this process's user in advice ($USER); empty means the uid.
	User string
}

// access(2) modes.
const (
	modeR = 0x4
	modeW = 0x2
	modeX = 0x1
)

// Run runs every check of the host, in order: regions, guard, env file,
// state, supervisords, agreement.
func (h Host) Run(ctx context.Context) Report {
	var rep Report
	cfg := h.Config
	s, stateErr := h.ReadState()
	env, envErr := remote.ReadEnvFile(cfg.EnvFile)
	active := s.ActiveRegion
	if active == "" && envErr == nil {
		active = env.Region
	}
	if active == "" {
		active = cfg.Primary()
	}
	h.checkRegions(ctx, &rep, cfg, active)
	h.checkGuard(ctx, &rep, cfg)
	h.checkEnvFile(&rep, env, envErr)
	h.checkState(&rep, s, stateErr)
	h.checkSupervisors(ctx, &rep)
	checkAgreement(&rep, cfg, s, stateErr, env, envErr)
	return rep
}

func (h Host) access(path string, mode uint32) error {
	if h.Access != nil {
		return h.Access(path, mode)
	}
	return syscall.Access(path, mode)
}

// checkFolder reports whether dir exists and this user may create and
// rename files in it; field names the setting that chose it.
func (h Host) checkFolder(rep *Report, part, field, dir string) bool {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		rep.add(Fail, part, "folder "+dir+" does not exist", "create it (mkdir -p "+dir+") or set "+field+" to a path in an existing folder")
		return false
	case err != nil:
		rep.add(Fail, part, "folder "+dir+": "+err.Error(), "give this user access to "+dir+" or set "+field)
		return false
	case !fi.IsDir():
		rep.add(Fail, part, dir+" is not a folder", "set "+field+" to a path in a folder")
		return false
	}
	if err := h.access(dir, modeW|modeX); err != nil {
		rep.add(Fail, part, "folder "+dir+" is not writable by "+h.who()+": "+err.Error(),
			"give "+h.who()+" write access to "+dir+", or set "+field+" to a path it owns")
		return false
	}
	return true
}

// fileCheck names the check of the file at path (kind "env file", field
// ENV_FILE) and checks its folder first; ok is false when that failed.
func (h Host) fileCheck(rep *Report, kind, field, path string) (part string, ok bool) {
	part = kind + " " + path
	return part, h.checkFolder(rep, part, field, filepath.Dir(path))
}

func (h Host) checkEnvFile(rep *Report, env remote.EnvFile, envErr error) {
	path := h.Config.EnvFile
	part, ok := h.fileCheck(rep, "env file", "ENV_FILE", path)
	if !ok {
		return
	}
	switch {
	case errors.Is(envErr, fs.ErrNotExist):
		rep.ok(part, "folder writable; no env file yet (the next check writes it)")
	case envErr != nil:
		rep.add(Fail, part, envErr.Error(), "fix or remove the file; the next check replaces it and restarts the programs")
	default:
		if err := h.access(path, modeR); err != nil {
			rep.add(Fail, part, "not readable by "+h.who()+": "+err.Error(), "give "+h.who()+" read access to "+path)
			return
		}
		rep.ok(part, "folder writable; names %s (%s), generation %d", env.Region, env.Cloud, env.Generation)
	}
}

func (h Host) checkState(rep *Report, s state.State, stateErr error) {
	path := h.Config.StateFile
	part, ok := h.fileCheck(rep, "state file", "STATE_FILE", path)
	if !ok {
		return
	}
	switch {
	case errors.Is(stateErr, state.ErrCorrupt):
		rep.add(Fail, part, stateErr.Error(), "the next check moves it aside and continues from the env file; look at it first if it was edited by hand")
		return
	case stateErr != nil:
		rep.add(Fail, part, stateErr.Error(), "give "+h.who()+" read and write access to "+path)
		return
	case s.Version == 0:
		rep.ok(part, "folder writable; no state yet (the first check that has something to keep writes it)")
		return
	}
	if err := h.access(path, modeR|modeW); err != nil {
		rep.add(Fail, part, "not readable and writable by "+h.who()+": "+err.Error(), "give "+h.who()+" read and write access to "+path)
		return
	}
	lock := path + ".lock"
	if err := h.access(lock, modeR|modeW); err != nil && !errors.Is(err, fs.ErrNotExist) {
		rep.add(Fail, part, "lock file "+lock+" is not writable by "+h.who()+": "+err.Error(), "give "+h.who()+" write access to "+lock)
		return
	}
	rep.ok(part, "readable and writable; version %d, %s active, generation %d", s.Version, s.ActiveRegion, s.Generation)
}

// startable are the states from which supervisord's startProcess works.
var startable = map[string]bool{"RUNNING": true, "STARTING": true, "STOPPED": true, "EXITED": true}

func (h Host) checkSupervisors(ctx context.Context, rep *Report) {
	for _, in := range h.Supervisors.Diagnose(ctx) {
		part := "supervisord " + in.Host
		if in.Err != nil {
			rep.add(Fail, part, in.Err.Error(), supervisorFix(in.Err))
			continue
		}
		if in.State != "RUNNING" {
			rep.add(Fail, part, "supervisord is "+in.State+" (want RUNNING)", "wait for supervisord to finish starting, or restart it")
			continue
		}
		rep.ok(part, "RUNNING, reachable with the credentials given")
		for _, p := range in.Programs {
			ppart := "program " + p.Program + " on " + in.Host
			if p.Err != nil {
				rep.add(Fail, ppart, p.Err.Error(), "compare SUPERVISOR_PROGRAMS with `supervisorctl status`")
				continue
			}
			var states, bad []string
			for _, pr := range p.Processes {
				states = append(states, pr.Name+" "+pr.State)
				if !startable[pr.State] {
					bad = append(bad, pr.Name)
				}
			}
			if len(bad) > 0 {
				rep.add(Fail, ppart, strings.Join(states, ", ")+": a restart would not bring it up",
					"see `supervisorctl tail "+bad[0]+"` and fix the program before a failover needs it")
				continue
			}
			rep.ok(ppart, "%s", strings.Join(states, ", "))
		}
	}
}

// supervisorFix is the advice for a supervisord that could not be asked.
func supervisorFix(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unauthorized"):
		return "set SUPERVISOR_USERNAME and SUPERVISOR_PASSWORD to the [inet_http_server] or [unix_http_server] credentials"
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOENT):
		return "start supervisord, or point SUPERVISOR_URL at the one that runs the application"
	case errors.Is(err, fs.ErrPermission):
		return "give this user access to the socket (chmod/chown in [unix_http_server])"
	}
	return "check SUPERVISOR_URL and that supervisord answers there"
}

// checkAgreement compares the state with the env file the hosts read.
func checkAgreement(rep *Report, cfg *config.Config, s state.State, stateErr error, env remote.EnvFile, envErr error) {
	const part = "env file and state"
	if stateErr != nil || (envErr != nil && !errors.Is(envErr, fs.ErrNotExist)) {
		rep.add(Fail, part, "not compared: see above", "fix the state or env file first")
		return
	}
	noEnv := errors.Is(envErr, fs.ErrNotExist)
	switch {
	case s.Version == 0 && noEnv:
		rep.ok(part, "nothing written yet: the first check starts from the primary %s", cfg.Primary())
	case s.Version == 0:
		rep.ok(part, "no state yet: the first check starts from the env file's %s, generation %d", env.Region, env.Generation)
	case noEnv && s.Generation == 0:
		rep.ok(part, "no env file yet and no failover so far: %s active", orPrimary(s.ActiveRegion, cfg))
	case noEnv:
		rep.add(Fail, part, fmt.Sprintf("the state says %s, generation %d, but there is no env file", s.ActiveRegion, s.Generation),
			"run `extcloud-failover check` to write it, or failover --to the region the application should use")
	case env.Means(stateTarget(cfg, s)):
		rep.ok(part, "agree: %s, generation %d", s.ActiveRegion, s.Generation)
	case s.Pending != nil && s.Pending.Generation == s.Generation:
		rep.add(Warn, part, fmt.Sprintf("push of generation %d to %s pending; the env file still says %s, generation %d", s.Generation, s.ActiveRegion, env.Region, env.Generation),
			"the next checks re-push it; `status` lists the hosts")
	case env.Region == s.ActiveRegion && env.Generation == s.Generation:
		rep.add(Fail, part, fmt.Sprintf("the state says %s, generation %d, cloud %s; the env file names %s", s.ActiveRegion, s.Generation, stateTarget(cfg, s).Cloud, env.Describe()),
			"run `extcloud-failover check` to converge (EXT_CLOUD_FAILOVER_LIST may have changed)")
	default:
		rep.add(Fail, part, fmt.Sprintf("the state says %s, generation %d; the env file says %s, generation %d", s.ActiveRegion, s.Generation, env.Region, env.Generation),
			"run `extcloud-failover check` to converge, or failover --to the region the application should use")
	}
}

// stateTarget is what the state points the hosts at.
func stateTarget(cfg *config.Config, s state.State) remote.Target {
	cloud, _ := cfg.Cloud(s.ActiveRegion)
	return remote.Target{Region: s.ActiveRegion, Cloud: cloud, Generation: s.Generation}
}

func orPrimary(region string, cfg *config.Config) string {
	if region == "" {
		return cfg.Primary()
	}
	return region
}

// who names this process's user for advice: Host.User, else the uid.
func (h Host) who() string {
	if h.User != "" {
		return h.User
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}
