// This file holds the fast-path figures: start-up cost from inittrace, and
// the check that no code path waits with a sleep.

package main

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// fastPaths checks what the host binary links and initialises, and that no
// decision code sleeps.
func (b *bench) fastPaths(ctx context.Context) error {
	sec := "Fast paths"
	out, err := b.goOutput(ctx, "list", "-deps", "./cmd/cron")
	if err != nil {
		return err
	}
	var aws, ddLambda, dd []string
	for p := range strings.FieldsSeq(out) {
		switch {
		case strings.HasPrefix(p, "github.com/aws/"):
			aws = append(aws, p)
		case strings.Contains(p, "datadog-lambda-go"):
			ddLambda = append(ddLambda, p)
		case strings.Contains(p, "DataDog/"):
			dd = append(dd, p)
		}
	}
	b.report.add(row{section: sec, figure: "packages under github.com/aws/ or datadog-lambda-go linked into the host binary (`go list -deps ./cmd/cron`; pinned by cmd/cron/deps_test.go)",
		ours: fmt.Sprintf("%d", len(aws)+len(ddLambda)), baseline: "0", goal: "0", met: len(aws)+len(ddLambda) == 0,
		command: "go list -deps ./cmd/cron | grep -E 'github.com/aws/|datadog-lambda-go'"})
	b.report.note(sec, fmt.Sprintf("Datadog packages the host links: %s. The DogStatsD client is created only when DD_AGENT_HOST or DD_DOGSTATSD_URL is set, and the logs intake only when DD_API_KEY is set (cmd/cron/run.go).", strings.Join(dd, ", ")))

	mods, err := b.goOutput(ctx, "version", "-m", b.host)
	if err != nil {
		return err
	}
	var deps []string
	for l := range strings.Lines(mods) {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "dep" {
			deps = append(deps, f[1])
		}
	}
	b.report.note(sec, fmt.Sprintf("Modules in the host binary (`go version -m`): %s.", strings.Join(deps, ", ")))

	sleeps, err := b.grepSleep()
	if err != nil {
		return err
	}
	b.report.add(row{section: sec, figure: "`time.Sleep` calls in non-test code of cmd/, internal/check, internal/state, internal/remote, internal/config",
		ours: fmt.Sprintf("%d", len(sleeps)), baseline: "0", goal: "0", met: len(sleeps) == 0,
		command: "grep -rn 'time.Sleep' --include='*.go' --exclude='*_test.go' cmd internal"})
	if len(sleeps) > 0 {
		b.report.note(sec, "time.Sleep found at: "+strings.Join(sleeps, ", "))
	}

	// Package initialisation of the host binary, the cost every run pays
	// before main.
	var totals []float64
	var top map[string]float64
	for range 9 {
		cmd := exec.CommandContext(ctx, b.host, "validate")
		cmd.Env = []string{"GODEBUG=inittrace=1", "EXT_CLOUD_FAILOVER_LIST=NAM=nam.example.net,EU=eu.example.net", "CONNECTION_KEEPALIVE_ORG_ID=o", "CONNECTION_KEEPALIVE_TXN_ID=t", "SUPERVISOR_PROGRAMS=app"}
		errOut, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s validate: %w\n%s", b.host, err, errOut)
		}
		total, per := parseInittrace(string(errOut))
		totals = append(totals, total)
		if top == nil {
			top = per
		} else {
			for k, v := range per {
				top[k] += v
			}
		}
	}
	slices.Sort(totals)
	names := make([]string, 0, len(top))
	for k := range top {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return top[names[i]] > top[names[j]] })
	var heavy []string
	for _, n := range names[:min(4, len(names))] {
		heavy = append(heavy, fmt.Sprintf("%s %.2f ms", n, top[n]/9))
	}
	b.report.add(row{section: sec, figure: "host binary: package initialisation before main (GODEBUG=inittrace=1, sum of init clock, median of 9)",
		ours: fmt.Sprintf("%.2f ms", totals[len(totals)/2]), command: "GODEBUG=inittrace=1 bin/extcloud-failover validate"})
	b.report.note(sec, "Heaviest package inits (mean): "+strings.Join(heavy, ", ")+".")
	return nil
}

// parseInittrace sums the "ms clock" of GODEBUG=inittrace=1 lines, and
// returns them by package too.
func parseInittrace(out string) (float64, map[string]float64) {
	per := map[string]float64{}
	total := 0.0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// init <pkg> @<t> ms, <clock> ms clock, <n> bytes, <n> allocs
		if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
			continue
		}
		v, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			continue
		}
		per[f[1]] += v
		total += v
	}
	return total, per
}

func (b *bench) goOutput(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.o.goCommand, args...)
	cmd.Dir = b.root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// grepSleep lists time.Sleep calls outside tests on the decision path.
func (b *bench) grepSleep() ([]string, error) {
	var hits []string
	for _, dir := range []string{"cmd", "internal/check", "internal/state", "internal/remote", "internal/config"} {
		err := filepath.WalkDir(filepath.Join(b.root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for i, l := range strings.Split(string(data), "\n") {
				if strings.Contains(l, "time.Sleep(") {
					rel, _ := filepath.Rel(b.root, p)
					hits = append(hits, fmt.Sprintf("%s:%d", rel, i+1))
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return hits, nil
}
