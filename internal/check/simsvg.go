// This file draws a simulation as plain SVG for a postmortem: one band per
// region, the active region over time, each switch with its reason, and the
// threshold and failback windows shaded.
package check

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// SVG layout, in pixels.
const (
	svgWidth   = 1200
	svgLeft    = 70 // room for the band labels
	svgRight   = 20
	svgTop     = 40 // room for the time axis
	svgBand    = 20
	svgBandGap = 8
)

var cellColor = [...]string{CellUp: "#43a047", CellDown: "#e53935", CellDark: "#616161"}

// activeColors tell the active regions apart in the active band.
var activeColors = []string{"#1e88e5", "#8e24aa", "#fb8c00", "#00897b", "#6d4c41"}

// WriteSVG draws tl and its simulation s (made with p) to w as one
// self-contained SVG document. Every switch is a <g class="switch"> with
// data-seconds, data-from, data-to and data-kind attributes, and its reason
// as a <title>.
func WriteSVG(w io.Writer, tl Timeline, s Summary, p Policy, probeInterval time.Duration) error {
	bw := bufio.NewWriter(w)
	var end time.Duration
	if n := len(tl.Rows); n > 0 {
		end = tl.Rows[n-1].At + probeInterval
	}
	end = max(end, time.Second)
	plot := float64(svgWidth - svgLeft - svgRight)
	x := func(d time.Duration) float64 { return svgLeft + plot*float64(min(max(d, 0), end))/float64(end) }
	activeY := svgTop + len(tl.Regions)*(svgBand+svgBandGap)
	height := activeY + svgBand + 60

	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		svgWidth, height, svgWidth, height)
	fmt.Fprintf(bw, `<title>extcloud-failover simulate: %d rows, %d switches</title>`+"\n", s.Rows, len(s.Switches))
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", svgWidth, height)
	writeAxis(bw, x, end, activeY+svgBand)

	// Threshold windows (an outage on its way to FAILOVER_THRESHOLD) and
	// failback windows (the primary healthy, waiting for FAILBACK_AFTER).
	for _, win := range windows(s.Trace, func(r SimRow) time.Duration { return r.OutageSince }) {
		fmt.Fprintf(bw, `<rect class="threshold-window" x="%.1f" y="%d" width="%.1f" height="%d" fill="#ffb300" fill-opacity="0.25"><title>outage since %s, FAILOVER_THRESHOLD %s</title></rect>`+"\n",
			x(win.from), svgTop-6, max(x(min(win.from+p.Threshold, win.to))-x(win.from), 1), activeY+svgBand-svgTop+12, fmtSeconds(win.from), p.Threshold)
	}
	for _, win := range windows(s.Trace, func(r SimRow) time.Duration { return r.FailbackDue }) {
		start := win.first
		fmt.Fprintf(bw, `<rect class="failback-window" x="%.1f" y="%d" width="%.1f" height="%d" fill="#1e88e5" fill-opacity="0.15"><title>failback due at %s</title></rect>`+"\n",
			x(start), svgTop-6, max(x(min(win.from, win.to))-x(start), 1), activeY+svgBand-svgTop+12, fmtSeconds(win.from))
	}

	for i, name := range tl.Regions {
		y := svgTop + i*(svgBand+svgBandGap)
		fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text>`+"\n", 8, y+14, esc(name))
		for j := 0; j < len(tl.Rows); {
			k := j
			for k+1 < len(tl.Rows) && tl.Rows[k+1].Cells[i] == tl.Rows[j].Cells[i] && tl.Rows[k+1].At-tl.Rows[k].At <= probeInterval*3/2 {
				k++
			}
			c := tl.Rows[j].Cells[i]
			from, to := tl.Rows[j].At, tl.Rows[k].At+probeInterval
			fmt.Fprintf(bw, `<rect class="cell %s" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s %s from %s to %s</title></rect>`+"\n",
				c, x(from), y, max(x(to)-x(from), 0.5), svgBand, cellColor[c], esc(name), c, fmtSeconds(from), fmtSeconds(to))
			j = k + 1
		}
	}

	fmt.Fprintf(bw, `<text x="%d" y="%d">active</text>`+"\n", 8, activeY+14)
	color := map[string]string{}
	for i, name := range tl.Regions {
		color[name] = activeColors[i%len(activeColors)]
	}
	for j := 0; j < len(s.Trace); {
		k := j
		for k+1 < len(s.Trace) && s.Trace[k+1].Active == s.Trace[j].Active {
			k++
		}
		name := s.Trace[j].Active
		from, to := s.Trace[j].At, s.Trace[k].At+probeInterval
		if k+1 < len(s.Trace) {
			to = s.Trace[k+1].At
		}
		fmt.Fprintf(bw, `<rect class="active" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>active: %s</title></rect>`+"\n",
			x(from), activeY, max(x(to)-x(from), 0.5), svgBand, fallback(color[name], "#9e9e9e"), esc(name))
		fmt.Fprintf(bw, `<text x="%.1f" y="%d" fill="#ffffff">%s</text>`+"\n", x(from)+3, activeY+14, esc(name))
		j = k + 1
	}

	for i, sw := range s.Switches {
		at := time.Duration(sw.Seconds * float64(time.Second))
		label := fmt.Sprintf("%s %s→%s", sw.Kind, sw.From, sw.To)
		fmt.Fprintf(bw, `<g class="switch" data-seconds="%g" data-from="%s" data-to="%s" data-kind="%s"><title>%s at %s: %s</title>`,
			sw.Seconds, esc(sw.From), esc(sw.To), esc(sw.Kind), esc(label), fmtSeconds(at), esc(sw.Reason))
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000000" stroke-width="2"/>`, x(at), svgTop-10, x(at), activeY+svgBand+4)
		fmt.Fprintf(bw, `<text x="%.1f" y="%d">%s: %s</text></g>`+"\n", x(at)+3, activeY+svgBand+18+14*(i%3), esc(label), esc(sw.Reason))
	}
	fmt.Fprintln(bw, `</svg>`)
	return bw.Flush()
}

// window is a run of trace rows that share one time (an outage start, a
// failback due time).
type window struct {
	first, from, to time.Duration // first row, the shared time, end of the run
}

func windows(trace []SimRow, key func(SimRow) time.Duration) []window {
	var out []window
	for j := 0; j < len(trace); {
		v := key(trace[j])
		k := j
		for k+1 < len(trace) && key(trace[k+1]) == v {
			k++
		}
		if v >= 0 {
			out = append(out, window{first: trace[j].At, from: v, to: trace[k].At})
		}
		j = k + 1
	}
	return out
}

// writeAxis draws a time axis with about ten ticks.
func writeAxis(w io.Writer, x func(time.Duration) float64, end time.Duration, bottom int) {
	step := time.Minute
	for _, s := range []time.Duration{time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour} {
		step = s
		if end/s <= 12 {
			break
		}
	}
	for t := time.Duration(0); t <= end; t += step {
		fmt.Fprintf(w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e0e0e0"/><text x="%.1f" y="%d" fill="#616161">%s</text>`+"\n",
			x(t), svgTop-12, x(t), bottom, x(t)+2, svgTop-16, fmtSeconds(t))
	}
}

func fmtSeconds(d time.Duration) string { return fmt.Sprintf("%.0fs", d.Seconds()) }

func fallback(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
