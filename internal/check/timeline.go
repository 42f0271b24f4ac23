// This file reads the timelines Simulate replays: a CSV of region
// conditions, or the checker's own JSON log lines.
package check

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrTimeline means a timeline could not be read; the message says where
// and what to change.
var ErrTimeline = errors.New("check: bad timeline")

// ReadTimeline reads a CSV timeline: a header `seconds,NAM,EU,APAC` (one
// column per region of regions, in any order) and one row per invocation,
// each cell up, down or dark. Seconds must not go backwards; rows may skip
// times (missed runs). The rows keep regions' order.
func ReadTimeline(r io.Reader, regions []string) (Timeline, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return Timeline{}, fmt.Errorf("%w: header: %w", ErrTimeline, err)
	}
	if len(header) == 0 || strings.TrimSpace(header[0]) != "seconds" {
		return Timeline{}, fmt.Errorf("%w: header must start with \"seconds\" (e.g. seconds,%s)", ErrTimeline, strings.Join(regions, ","))
	}
	col := make([]int, len(regions)) // regions[i] is in column col[i]
	for i, name := range regions {
		col[i] = slices.Index(header[1:], name) + 1
		if col[i] == 0 {
			return Timeline{}, fmt.Errorf("%w: header has no column for region %s (EXT_CLOUD_FAILOVER_LIST names %s)", ErrTimeline, name, strings.Join(regions, ", "))
		}
	}
	for _, h := range header[1:] {
		if !slices.Contains(regions, h) {
			return Timeline{}, fmt.Errorf("%w: header names %q, which is not in EXT_CLOUD_FAILOVER_LIST (%s)", ErrTimeline, h, strings.Join(regions, ", "))
		}
	}
	tl := Timeline{Regions: slices.Clone(regions)}
	var first float64
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return Timeline{}, fmt.Errorf("%w: %w", ErrTimeline, err)
		}
		secs, err := strconv.ParseFloat(strings.TrimSpace(rec[0]), 64)
		if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
			return Timeline{}, fmt.Errorf("%w: line %d: seconds %q is not a number", ErrTimeline, line, rec[0])
		}
		if len(tl.Rows) == 0 {
			first = secs
		}
		at := time.Duration((secs - first) * float64(time.Second))
		if n := len(tl.Rows); n > 0 && at < tl.Rows[n-1].At {
			return Timeline{}, fmt.Errorf("%w: line %d: seconds %s go backwards", ErrTimeline, line, rec[0])
		}
		row := Row{At: at, Cells: make([]Cell, len(regions))}
		for i, c := range col {
			cell, ok := parseCell(rec[c])
			if !ok {
				return Timeline{}, fmt.Errorf("%w: line %d: %s is %q (want up, down or dark)", ErrTimeline, line, regions[i], rec[c])
			}
			row.Cells[i] = cell
		}
		tl.Rows = append(tl.Rows, row)
	}
	if len(tl.Rows) == 0 {
		return Timeline{}, fmt.Errorf("%w: no rows after the header", ErrTimeline)
	}
	return tl, nil
}

func parseCell(s string) (Cell, bool) {
	switch strings.TrimSpace(s) {
	case "up":
		return CellUp, true
	case "down":
		return CellDown, true
	case "dark":
		return CellDark, true
	}
	return 0, false
}

// logLine is what ReadLog needs of a `check complete` line.
type logLine struct {
	Message   string                     `json:"message"`
	Timestamp string                     `json:"timestamp"`
	Action    string                     `json:"action"`
	Region    string                     `json:"region"`
	Healthy   *bool                      `json:"healthy"`
	Regions   map[string]json.RawMessage `json:"regions"`
}

// regionField is one region's entry of the `regions` field.
type regionField struct {
	Healthy *bool `json:"healthy"`
}

// ReadLog reads the checker's JSON log lines and turns each `check
// complete` line with a `regions` field into a row: healthy regions up, the
// others down, all dark when the line was inconclusive. Other lines are
// skipped, so a whole log can be piped in, and so are summary lines that
// probed no active region (no `healthy`: a refused failover, a run that
// stopped before the probes; or an empty `regions`, as older versions
// wrote them). The first such line's region is
// the active region at the start.
func ReadLog(r io.Reader, regions []string) (Timeline, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	tl := Timeline{Regions: slices.Clone(regions)}
	n := 0
	for sc.Scan() {
		n++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 || b[0] != '{' || !bytes.Contains(b, []byte(`"check complete"`)) {
			continue
		}
		var l logLine
		if err := json.Unmarshal(b, &l); err != nil || l.Message != "check complete" || l.Healthy == nil || len(l.Regions) == 0 {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, l.Timestamp)
		if err != nil {
			return Timeline{}, fmt.Errorf("%w: line %d: timestamp %q is not RFC 3339", ErrTimeline, n, l.Timestamp)
		}
		if tl.Origin.IsZero() {
			tl.Origin, tl.Start = at, l.Region
		}
		row := Row{At: at.Sub(tl.Origin), Cells: make([]Cell, len(regions))}
		if k := len(tl.Rows); k > 0 && row.At < tl.Rows[k-1].At {
			return Timeline{}, fmt.Errorf("%w: line %d: timestamp %s is before the line above (sort the log by time)", ErrTimeline, n, l.Timestamp)
		}
		for i, name := range regions {
			var f regionField
			raw, ok := l.Regions[name]
			if ok {
				ok = json.Unmarshal(raw, &f) == nil && f.Healthy != nil
			}
			if !ok {
				return Timeline{}, fmt.Errorf("%w: line %d: regions has no healthy result for %s (EXT_CLOUD_FAILOVER_LIST names %s)", ErrTimeline, n, name, strings.Join(regions, ", "))
			}
			switch {
			case l.Action == string(ActionInconclusive):
				row.Cells[i] = CellDark
			case *f.Healthy:
				row.Cells[i] = CellUp
			default:
				row.Cells[i] = CellDown
			}
		}
		tl.Rows = append(tl.Rows, row)
	}
	if err := sc.Err(); err != nil {
		return Timeline{}, fmt.Errorf("%w: %w", ErrTimeline, err)
	}
	if len(tl.Rows) == 0 {
		return Timeline{}, fmt.Errorf("%w: no \"check complete\" line with a regions field", ErrTimeline)
	}
	if !slices.Contains(regions, tl.Start) {
		tl.Start = ""
	}
	return tl, nil
}
