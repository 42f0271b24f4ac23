package main

import (
	"flag"
	"io"
	"strings"
	"testing"

	"extcloud-failover/internal/config"
)

// benchEnv is a typical host setup: three regions, the keepalive ids, a
// supervisord and its program.
var benchEnv = map[string]string{
	"EXT_CLOUD_FAILOVER_LIST":     "NAM=nam.cloud.example.com,EU=eu.cloud.example.com,APAC=apac.cloud.example.com",
	"CONNECTION_KEEPALIVE_ORG_ID": "org-1234",
	"CONNECTION_KEEPALIVE_TXN_ID": "txn-5678",
	"SUPERVISOR_URL":              "unix:///var/run/supervisor.sock",
	"SUPERVISOR_PROGRAMS":         "app,worker:*",
	"ENV_FILE":                    "/opt/application/tmp/ext_cloud.env",
	"DD_TAGS":                     "env:prod,team:platform",
}

var benchArgs = []string{"check", "--region", "NAM", "--probe-timeout", "3s"}

// BenchmarkLoad is the command line and config.Load together: the check
// subcommand's FlagSet, defaults, environment, flags and validation.
func BenchmarkLoad(b *testing.B) {
	lookup := mapLookup(benchEnv)
	b.ReportAllocs()
	for b.Loop() {
		cmd, _, c, err := parseArgs(benchArgs, lookup)
		if err != nil || cmd.name != "check" || len(c.Regions) != 3 {
			b.Fatalf("parseArgs = %+v, %v", c, err)
		}
	}
}

// BenchmarkLoadBaselineFlags is the flag package alone: a FlagSet with as
// many string flags as the check subcommand registers, parsing the same
// arguments, and the same environment lookups, with no defaults or
// validation.
func BenchmarkLoadBaselineFlags(b *testing.B) {
	var names, envs []string
	for _, v := range config.Variables() {
		envs = append(envs, v.Env)
		for _, f := range v.Flags {
			names = append(names, strings.TrimLeft(f, "-"))
		}
	}
	lookup := mapLookup(benchEnv)
	b.ReportAllocs()
	for b.Loop() {
		fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		for _, n := range names {
			fs.String(n, "", "")
		}
		for _, e := range envs {
			lookup(e)
		}
		if err := fs.Parse(benchArgs[1:]); err != nil || fs.NArg() != 0 {
			b.Fatalf("parse: %v", err)
		}
	}
}

func mapLookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}
