// This file holds the report: rows with their goals and baselines, written
// as docs/BENCHMARKS.md.

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// row is one figure of the table.
type row struct {
	section  string
	figure   string
	ours     string
	baseline string
	ratio    string
	goal     string // empty: no goal, reported only
	met      bool
	command  string
}

// report collects the figures of one run.
type report struct {
	rows     []row
	sections []string
	notes    map[string][]string
	texts    map[string]string // free text after a section's table
	machineL []string
	elapsed  time.Duration
	when     time.Time
}

func newReport() *report {
	return &report{notes: map[string][]string{}, texts: map[string]string{}, when: time.Now()}
}

func (r *report) touch(section string) {
	if !slices.Contains(r.sections, section) {
		r.sections = append(r.sections, section)
	}
}

func (r *report) add(x row) {
	r.touch(x.section)
	r.rows = append(r.rows, x)
}

func (r *report) note(section, text string) {
	r.touch(section)
	r.notes[section] = append(r.notes[section], text)
}

// misses lists the figures whose goal was not met.
func (r *report) misses() []string {
	var out []string
	for _, x := range r.rows {
		if x.goal != "" && !x.met {
			out = append(out, x.figure+": "+x.ours+" (goal "+x.goal+")")
		}
	}
	return out
}

// machine records where the figures come from.
func (r *report) machine(ctx context.Context, goCmd string) error {
	cpu := "unknown"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	gov, err := exec.CommandContext(ctx, goCmd, "version").Output()
	if err != nil {
		return fmt.Errorf("go version: %w", err)
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	r.machineL = []string{
		"CPU: " + cpu + fmt.Sprintf(" (%d cores visible, shared with other work)", runtime.NumCPU()),
		"Go: " + strings.TrimSpace(string(gov)),
		"Kernel: Linux " + strings.TrimSpace(string(kernel)),
		"Date: " + r.when.UTC().Format("2006-01-02 15:04 MST"),
		fmt.Sprintf("Whole run: %s", r.elapsed.Round(time.Second)),
	}
	return nil
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// markdown renders docs/BENCHMARKS.md.
func (r *report) markdown() []byte {
	var w bytes.Buffer
	fmt.Fprintf(&w, "# Benchmarks\n\n")
	fmt.Fprintf(&w, "Written by `make bench` (tools/bench) from one run; do not edit by hand. ")
	fmt.Fprintf(&w, "Every timing is a median over repeated runs and is compared with a baseline measured in the same run, ")
	fmt.Fprintf(&w, "interleaved with it, since absolute times on a shared machine drift: read the ratios, not the milliseconds. ")
	fmt.Fprintf(&w, "Everything runs on 127.0.0.1; the binaries are built as `make build` builds them (`-trimpath -ldflags='-s -w'`, CGO off).\n\n")
	for _, l := range r.machineL {
		fmt.Fprintf(&w, "- %s\n", l)
	}
	if m := r.misses(); len(m) > 0 {
		fmt.Fprintf(&w, "\n**Goals missed in this run:** %s\n", strings.Join(m, "; "))
	} else {
		fmt.Fprintf(&w, "\nEvery goal was met in this run.\n")
	}
	for _, sec := range r.sections {
		fmt.Fprintf(&w, "\n## %s\n\n", sec)
		var rows []row
		for _, x := range r.rows {
			if x.section == sec {
				rows = append(rows, x)
			}
		}
		if len(rows) > 0 {
			fmt.Fprintf(&w, "| figure | this project | baseline | ratio | goal | reproduce |\n|---|---|---|---|---|---|\n")
			for _, x := range rows {
				goal := "—"
				if x.goal != "" {
					mark := "met"
					if !x.met {
						mark = "**missed**"
					}
					goal = x.goal + " (" + mark + ")"
				}
				base := x.baseline
				if base == "" {
					base = "—"
				}
				rt := x.ratio
				if rt == "" {
					rt = "—"
				}
				fmt.Fprintf(&w, "| %s | %s | %s | %s | %s | %s |\n", cell(x.figure), cell(x.ours), cell(base), cell(rt), cell(goal), cell(x.command))
			}
			fmt.Fprintln(&w)
		}
		for _, n := range r.notes[sec] {
			fmt.Fprintf(&w, "- %s\n", n)
		}
		if t := r.texts[sec]; t != "" {
			fmt.Fprintf(&w, "\n%s\n", strings.TrimSpace(t))
		}
	}
	return w.Bytes()
}
