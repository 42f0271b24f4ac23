package config

import (
	"flag"
	"io"
	"testing"
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

var benchArgs = []string{"--region", "NAM", "--probe-timeout", "3s", "check"}

func BenchmarkLoad(b *testing.B) {
	lookup := mapEnv(benchEnv)
	b.ReportAllocs()
	for b.Loop() {
		c, rest, err := Load(benchArgs, lookup, nil)
		if err != nil || len(rest) != 1 || len(c.Regions) != 3 {
			b.Fatalf("Load = %+v, %v, %v", c, rest, err)
		}
	}
}

// BenchmarkLoadBaselineFlags is the flag package alone: a FlagSet with as
// many string flags as Load registers, parsing the same arguments, and the
// same environment lookups, with no defaults or validation.
func BenchmarkLoadBaselineFlags(b *testing.B) {
	var names []string
	for i := range variables {
		names = append(names, variables[i].flagName())
		names = append(names, variables[i].aliases...)
	}
	lookup := mapEnv(benchEnv)
	b.ReportAllocs()
	for b.Loop() {
		fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		for _, n := range names {
			fs.String(n, "", "")
		}
		for i := range variables {
			lookup(variables[i].env)
		}
		if err := fs.Parse(benchArgs); err != nil || fs.NArg() != 1 {
			b.Fatalf("parse: %v", err)
		}
	}
}
