// This file holds the simulate command: the real decision engine replayed
// over a timeline (a CSV or the checker's own log) with the current
// configuration, in virtual time, with no network, state or restarts.

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"extcloud-failover/internal/atomicfile"
	"extcloud-failover/internal/check"
	"extcloud-failover/internal/config"
)

// simulateFlags are simulate's own flags.
type simulateFlags struct {
	timeline string // --timeline FILE: CSV of region conditions
	log      string // --log FILE|-: JSON log lines to replay
	json     bool   // --json: print the summary as one JSON document
	svg      string // --svg FILE: draw the timeline
}

// runSimulate is the simulate command's body: read the timeline, run the
// engine over it and print what it did. Bad input is exit 2 and one line.
func runSimulate(cfg *config.Config, f simulateFlags, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "extcloud-failover: "+format+"\n", args...)
		return exitUsage
	}
	if (f.timeline == "") == (f.log == "") {
		return fail("simulate: give one of --timeline FILE (a CSV) or --log FILE (the checker's JSON lines; - for stdin)")
	}
	names := make([]string, len(cfg.Regions))
	for i, r := range cfg.Regions {
		names[i] = r.Name
	}
	field, path := "--timeline", f.timeline
	if f.log != "" {
		field, path = "--log", f.log
	}
	in := stdin
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return fail("%s: %v", field, err)
		}
		defer file.Close()
		in = file
	} else if f.timeline != "" {
		return fail("--timeline: - is only for --log (give a file)")
	}
	var tl check.Timeline
	var err error
	if f.timeline != "" {
		tl, err = check.ReadTimeline(in, names)
	} else {
		tl, err = check.ReadLog(in, names)
	}
	if err != nil {
		return fail("%s %s: %s", field, path, strings.TrimPrefix(err.Error(), check.ErrTimeline.Error()+": "))
	}

	p := check.PolicyOf(cfg)
	opts := check.SimOptions{Policy: p, Regions: cfg.Regions, ProbeInterval: cfg.ProbeInterval, Guard: cfg.LatencyCheck != config.LatencyOff}
	sum := check.Simulate(tl, opts)
	if f.svg != "" {
		var b bytes.Buffer
		if err := check.WriteSVG(&b, tl, sum, p, cfg.ProbeInterval); err != nil {
			return fail("--svg %s: %v", f.svg, err)
		}
		if err := atomicfile.WriteFile(f.svg, b.Bytes(), 0o644); err != nil {
			fmt.Fprintf(stderr, "extcloud-failover: --svg %s: %v\n", f.svg, err)
			return exitRuntime
		}
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return exitRuntime
		}
		return exitOK
	}
	printSimulation(stdout, cfg, tl, sum)
	return exitOK
}

// printSimulation writes the decisions and the summary for people.
func printSimulation(w io.Writer, cfg *config.Config, tl check.Timeline, sum check.Summary) {
	at := func(secs float64) string {
		s := fmt.Sprintf("%7.0fs", secs)
		if !tl.Origin.IsZero() {
			s += "  " + tl.Origin.Add(time.Duration(secs*float64(time.Second))).UTC().Format(time.RFC3339)
		}
		return s
	}
	budget := "unlimited"
	if cfg.FailoverBudget > 0 {
		budget = fmt.Sprint(cfg.FailoverBudget)
	}
	fmt.Fprintf(w, "simulating %d rows with FAILOVER_THRESHOLD=%s FAILOVER_MIN_INTERVAL=%s RECOVERY_PROBES=%d OUTAGE_MAX_GAP=%s FAILBACK=%s FAILBACK_AFTER=%s FAILOVER_BUDGET=%s\n",
		sum.Rows, cfg.FailoverThreshold, cfg.FailoverMinInterval, cfg.RecoveryProbes, cfg.OutageMaxGap, cfg.Failback, cfg.FailbackAfter, budget)
	for _, d := range sum.Decisions {
		what := string(d.Action)
		if d.To != "" {
			what += " -> " + d.To
		}
		fmt.Fprintf(w, "%s  %-5s %-22s %s\n", at(d.Seconds), d.Region, what, d.Reason)
	}
	fmt.Fprintf(w, "summary: %s, %s, %.0fs in all_down, ends on %s\n", plural(len(sum.Switches), "switch", "switches"), plural(len(sum.Gaps), "gap", "gaps"), sum.AllDownSeconds, sum.FinalRegion)
	for _, s := range sum.Switches {
		down := ""
		if s.Kind == string(check.ActionFailover) {
			down = fmt.Sprintf(" after %.0fs down", s.DownSeconds)
		}
		fmt.Fprintf(w, "  switch %s  %s %s -> %s%s: %s\n", at(s.Seconds), s.Kind, s.From, s.To, down, s.Reason)
	}
	for _, g := range sum.Gaps {
		restarted := ""
		if g.RestartedClock {
			restarted = " (restarted the outage clock: longer than OUTAGE_MAX_GAP)"
		}
		fmt.Fprintf(w, "  gap    %s  %.0fs without a run%s\n", at(g.Seconds), g.LengthSeconds, restarted)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// simulateCommand is simulate's own flags and its body.
func simulateCommand(fs *flag.FlagSet) body {
	var f simulateFlags
	fs.StringVar(&f.timeline, "timeline", "", "a CSV `FILE` of region conditions: seconds,NAM,EU,APAC with up, down or dark")
	fs.StringVar(&f.log, "log", "", "replay the checker's JSON log from `FILE` (- for stdin)")
	fs.BoolVar(&f.json, "json", false, "print the summary as one JSON document")
	fs.StringVar(&f.svg, "svg", "", "also draw the timeline to this SVG `FILE`")
	return func(_ context.Context, a *app) int { return runSimulate(a.cfg, f, os.Stdin, a.stdout, a.stderr) }
}
