// This file holds the checklist: one Result per check, and how it prints.

package doctor

import (
	"fmt"
	"io"
)

// Mark is the outcome of one check.
type Mark string

// The marks of the checklist. Warn is reported, not failed: a region that is
// down but not active, a guard that is not configured.
const (
	OK   Mark = "ok"
	Warn Mark = "warn"
	Fail Mark = "FAIL"
)

// Result is one line of the checklist.
type Result struct {
	Mark Mark `json:"mark"`
	// Part names what was checked: "region EU", "supervisord unix:///...".
	Part string `json:"part"`
	// Detail says what was found.
	Detail string `json:"detail"`
	// Fix says what to do about a warning or failure.
	Fix string `json:"fix,omitempty"`
}

// Report is the whole checklist, in the order the checks ran.
type Report struct {
	Results []Result `json:"results"`
}

// Failed reports whether any check failed; warnings do not count.
func (r Report) Failed() bool {
	for _, res := range r.Results {
		if res.Mark == Fail {
			return true
		}
	}
	return false
}

// Failures counts the failed checks.
func (r Report) Failures() int {
	n := 0
	for _, res := range r.Results {
		if res.Mark == Fail {
			n++
		}
	}
	return n
}

func (r *Report) add(m Mark, part, detail, fix string) {
	r.Results = append(r.Results, Result{Mark: m, Part: part, Detail: detail, Fix: fix})
}

func (r *Report) ok(part, format string, args ...any) {
	r.add(OK, part, fmt.Sprintf(format, args...), "")
}

// WriteText prints the checklist, one line a check ("ok   part: detail",
// "FAIL part: detail; fix: ..."), and a last line with the verdict.
func (r Report) WriteText(w io.Writer) error {
	for _, res := range r.Results {
		line := fmt.Sprintf("%-4s  %s: %s", res.Mark, res.Part, res.Detail)
		if res.Fix != "" {
			line += "; fix: " + res.Fix
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	verdict := fmt.Sprintf("doctor: all %d checks passed", len(r.Results))
	if n := r.Failures(); n > 0 {
		verdict = fmt.Sprintf("doctor: %d of %d checks failed", n, len(r.Results))
	}
	_, err := fmt.Fprintln(w, verdict)
	return err
}
