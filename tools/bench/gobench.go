// This file holds the Go benchmarks run by make bench and the parsing of
// their output.

package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// goBench is one line of `go test -bench` output.
type goBench struct {
	name     string // without the -GOMAXPROCS suffix
	nsPerOp  float64
	bPerOp   int64
	allocsOp int64
}

// parseGoBench reads the benchmark lines of `go test -bench -benchmem`.
func parseGoBench(out string) map[string]goBench {
	res := map[string]goBench{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		g := goBench{name: f[0]}
		if i := strings.LastIndexByte(g.name, '-'); i > 0 {
			if _, err := strconv.Atoi(g.name[i+1:]); err == nil {
				g.name = g.name[:i]
			}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, unit := f[i], f[i+1]
			switch unit {
			case "ns/op":
				g.nsPerOp, _ = strconv.ParseFloat(v, 64)
			case "B/op":
				g.bPerOp, _ = strconv.ParseInt(v, 10, 64)
			case "allocs/op":
				g.allocsOp, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		res[g.name] = g
	}
	return res
}

func (g goBench) String() string {
	return fmt.Sprintf("%s/op, %d B/op, %d allocs/op", nsString(g.nsPerOp), g.bPerOp, g.allocsOp)
}

func nsString(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.1f ns", ns)
	}
}

// goBenchmarks runs the packages' Go benchmarks with -benchmem; each is
// paired with a baseline benchmark in the same file.
func (b *bench) goBenchmarks(ctx context.Context) error {
	pkgs := []struct{ pkg, regex string }{
		{"./internal/check", "^Benchmark(Decide|SimulateDay)"},
		{"./cmd/cron", "^BenchmarkLoad"},
		{"./internal/remote", "^BenchmarkRender"},
		{"./internal/state", "^Benchmark(FileStore|AtomicWrite|ReadFile)"},
	}
	all := map[string]goBench{}
	for _, p := range pkgs {
		args := []string{"test", "-run", "^$", "-bench", p.regex, "-benchmem", "-benchtime", "300ms", "-count", "1", p.pkg}
		b.logf("go %s", strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, b.o.goCommand, args...)
		cmd.Dir = b.root
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		for k, v := range parseGoBench(string(out)) {
			all[k] = v
		}
	}
	need := func(name string) (goBench, error) {
		g, ok := all[name]
		if !ok {
			return g, fmt.Errorf("benchmark %s did not run", name)
		}
		return g, nil
	}
	sec := "Go benchmarks"
	type pair struct {
		ours, base, what, baseWhat, pkg string
		zeroAllocs                      bool
		maxNs                           float64 // a goal on ns/op; 0 for none
	}
	pairs := []pair{
		{"BenchmarkDecideHealthy", "BenchmarkDecideBaselineCopy", "check.Decide, healthy and nothing to change", "copying the state into a Decision (the least Decide can do)", "./internal/check", true, 0},
		{"BenchmarkDecideOutage", "BenchmarkDecideBaselineCopy", "check.Decide, failing below the threshold", "copying the state into a Decision", "./internal/check", false, 0},
		{"BenchmarkSimulateDay", "BenchmarkSimulateDayBaseline", "check.Simulate of a day of 10 s rows (8640, 20 % random failures per region)", "8640 healthy Decide calls", "./internal/check", false, 0.1e9},
		{"BenchmarkLoad", "BenchmarkLoadBaselineFlags", "the check command line and config.Load: defaults, environment, flags, validation (typical host setup)", "flag.FlagSet with the same flags parsing the same arguments, no validation", "./cmd/cron", false, 0},
		{"BenchmarkRender", "BenchmarkRenderBaselineSprintf", "remote.Render of ext_cloud.env", "fmt.Sprintf of the same three lines", "./internal/remote", false, 0},
		{"BenchmarkFileStoreSwap", "BenchmarkAtomicWriteBaseline", "state.FileStore.Swap", "renameio.WriteFile of the same bytes", "./internal/state", false, 0},
		{"BenchmarkFileStoreLoad", "BenchmarkReadFileBaseline", "state.FileStore.Load", "os.ReadFile of the same bytes", "./internal/state", false, 0},
	}
	for _, p := range pairs {
		o, err := need(p.ours)
		if err != nil {
			return err
		}
		bs, err := need(p.base)
		if err != nil {
			return err
		}
		r := row{section: sec, figure: p.what, ours: o.String(), baseline: p.baseWhat + ": " + bs.String(),
			ratio:   ratio(o.nsPerOp, bs.nsPerOp),
			command: fmt.Sprintf("go test -run '^$' -bench '^(%s|%s)$' -benchmem %s", p.ours, p.base, p.pkg)}
		if p.zeroAllocs {
			r.goal, r.met = "0 allocs/op", o.allocsOp == 0
		}
		if p.maxNs > 0 {
			r.goal, r.met = "under "+nsString(p.maxNs)+" (well under a second)", o.nsPerOp < p.maxNs
		}
		b.report.add(r)
	}
	return nil
}
