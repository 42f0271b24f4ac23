// This file holds the guards against configurations that parse but would
// do harm or mislead on the first real run: two files the tool writes that
// collide, a failover list with nowhere to fail over to, a threshold the
// probe cadence cannot measure.

package config

import (
	"strings"
)

// The names the tool gives its own files next to ENV_FILE and STATE_FILE.
// The FileStore keeps "<STATE_FILE>.lock" and moves a damaged file to
// "<STATE_FILE>.corrupt-<time>"; the dry run keeps its state at
// "<STATE_FILE>.dry-run"; the env file is written through "<ENV_FILE>.tmp*".
const (
	// DryRunSuffix is added to STATE_FILE for the dry run's own state.
	DryRunSuffix    = ".dry-run"
	envTempSuffix   = ".tmp"
	stateDerived    = ".corrupt-"
	stateLockSuffix = ".lock"
)

// guard refuses what parses but would do harm; field gives the name the
// user set a variable under (its flag or the variable itself).
func guard(c *Config, field func(env string) string) error {
	if err := guardFiles(c, field); err != nil {
		return err
	}
	if len(c.Regions) == 1 {
		return errorf(field("EXT_CLOUD_FAILOVER_LIST"), "only one region (%s): there is nowhere to fail over to (want at least two, e.g. NAM=nam.example.com,EU=eu.example.com)", c.Regions[0].Name)
	}
	if c.FailoverThreshold < c.ProbeInterval {
		return errorf(field("FAILOVER_THRESHOLD"), "%s is shorter than %s (%s): the outage clock cannot measure it (want at least %s)",
			c.FailoverThreshold, field("PROBE_INTERVAL"), c.ProbeInterval, c.ProbeInterval)
	}
	return nil
}

// guardFiles refuses a STATE_FILE and an ENV_FILE that are one file, or
// where one is a name the tool derives from the other: writing one would
// destroy the other.
func guardFiles(c *Config, field func(env string) string) error {
	env, st := c.EnvFile, c.StateFile
	switch {
	case env == st:
		return errorf(field("STATE_FILE"), "%s is ENV_FILE too: the state would overwrite the application's env file (want a file of its own, e.g. %s)",
			quote(st), defaultStatePath(env))
	case strings.HasPrefix(st, env+envTempSuffix):
		return errorf(field("STATE_FILE"), "%s is a temporary name of ENV_FILE (%s.tmp*), which each env file write replaces (want e.g. %s)",
			quote(st), env, defaultStatePath(env))
	case strings.HasPrefix(env, st+stateDerived), strings.HasPrefix(env, st+DryRunSuffix), env == st+stateLockSuffix:
		return errorf(field("ENV_FILE"), "%s is a name the checker derives from STATE_FILE (%s.lock, .corrupt-*, .dry-run) and writes itself (want the application's own env file, e.g. %s)",
			quote(env), st, DefaultEnvFile)
	}
	return nil
}

func defaultStatePath(envFile string) string {
	dir := envFile[:strings.LastIndexByte(envFile, '/')+1]
	return dir + StateFileName
}
