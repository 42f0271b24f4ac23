package check

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/state"
)

var simRegions = []config.Region{{Name: "NAM", Cloud: "nam.example.com"}, {Name: "EU", Cloud: "eu.example.com"}, {Name: "APAC", Cloud: "apac.example.com"}}

func simOptions(change func(*Policy)) SimOptions {
	p := policy
	if change != nil {
		change(&p)
	}
	return SimOptions{Policy: p, Regions: simRegions, ProbeInterval: 10 * time.Second, Guard: true}
}

// timeline builds a timeline of rows every 10 s from 0 to end seconds (not
// included); cells returns NAM, EU and APAC's marks ('+' up, '-' down, '.'
// dark) at a time, or "" to skip the row (a missed run).
func timeline(end int, cells func(sec int) string) Timeline {
	tl := Timeline{Regions: []string{"NAM", "EU", "APAC"}}
	for sec := 0; sec < end; sec += 10 {
		marks := cells(sec)
		if marks == "" {
			continue
		}
		row := Row{At: time.Duration(sec) * time.Second}
		for _, m := range marks {
			row.Cells = append(row.Cells, map[rune]Cell{'+': CellUp, '-': CellDown, '.': CellDark}[m])
		}
		tl.Rows = append(tl.Rows, row)
	}
	return tl
}

// during returns in if from <= sec < to, else out.
func during(sec, from, to int, in, out string) string {
	if sec >= from && sec < to {
		return in
	}
	return out
}

func TestSimulate(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 1))
	random := func(failRate float64) func(int) string {
		marks := map[int]string{}
		for sec := 300; sec < 300+12*60; sec += 10 {
			marks[sec] = "+++"
			if rng.Float64() < failRate {
				marks[sec] = "-++"
			}
		}
		return func(sec int) string {
			if m, ok := marks[sec]; ok {
				return m
			}
			return "+++"
		}
	}
	type sw struct {
		at       float64
		from, to string
		kind     string
	}
	tests := []struct {
		name   string
		tl     Timeline
		policy func(*Policy)
		want   []sw
		check  func(t *testing.T, s Summary)
	}{
		{
			name: "a blip of 60 s", tl: timeline(1200, func(s int) string { return during(s, 300, 360, "-++", "+++") }),
		},
		{
			name: "down for 3 min 30 s", tl: timeline(1200, func(s int) string { return during(s, 300, 510, "-++", "+++") }),
		},
		{
			name: "down for 10 min fails over once, at 4 min",
			tl:   timeline(1800, func(s int) string { return during(s, 300, 900, "-++", "+++") }),
			want: []sw{{540, "NAM", "EU", "failover"}},
			check: func(t *testing.T, s Summary) {
				if s.Switches[0].DownSeconds != 240 || s.Switches[0].Reason != "NAM down for 4m0s (FAILOVER_THRESHOLD 4m0s)" {
					t.Errorf("switch = %+v", s.Switches[0])
				}
			},
		},
		{
			name: "primary and first candidate down: to the second",
			tl:   timeline(1800, func(s int) string { return during(s, 300, 900, "--+", "+++") }),
			want: []sw{{540, "NAM", "APAC", "failover"}},
		},
		{
			name: "all down: no switch, time in all_down counted",
			tl:   timeline(1800, func(s int) string { return during(s, 300, 900, "---", "+++") }),
			check: func(t *testing.T, s Summary) {
				if s.AllDownSeconds != 360 {
					t.Errorf("all_down_seconds = %v, want 360 (from 540 to 900)", s.AllDownSeconds)
				}
			},
		},
		{
			name: "dark network for 8 min, then a real outage: one switch, 4 min after the network came back",
			tl: timeline(2400, func(s int) string {
				switch {
				case s >= 300 && s < 780:
					return "..."
				case s >= 780:
					return "-++"
				}
				return "+++"
			}),
			want: []sw{{1020, "NAM", "EU", "failover"}},
		},
		{
			name: "down 50 s, up 10 s, for 12 min: one switch",
			tl: timeline(1800, func(s int) string {
				if s >= 300 && s < 300+720 && (s-300)%60 < 50 {
					return "-++"
				}
				return "+++"
			}),
			want: []sw{{540, "NAM", "EU", "failover"}},
		},
		{
			name: "90 % random failures for 12 min: one switch",
			tl:   timeline(1800, random(0.9)),
			check: func(t *testing.T, s Summary) {
				if len(s.Switches) != 1 || s.Switches[0].To != "EU" || s.Switches[0].DownSeconds < 240 {
					t.Errorf("switches %+v, want one to EU after at least 240 s", s.Switches)
				}
			},
		},
		{
			name: "30 % random failures for 12 min: no switch",
			tl:   timeline(1800, random(0.3)),
		},
		{
			name: "a two-hour gap, then an outage: the clock starts after the gap",
			tl: timeline(9000, func(s int) string {
				switch {
				case s >= 600 && s < 7800:
					return "" // the checker did not run
				case s >= 450 && s < 600, s >= 7800 && s < 8400:
					return "-++"
				}
				return "+++"
			}),
			want: []sw{{8040, "NAM", "EU", "failover"}},
			check: func(t *testing.T, s Summary) {
				want := []SimGap{{Seconds: 590, LengthSeconds: 7210, RestartedClock: true}}
				if !reflect.DeepEqual(s.Gaps, want) {
					t.Errorf("gaps = %+v, want %+v", s.Gaps, want)
				}
			},
		},
		{
			name:   "FAILBACK=primary with the primary back for 35 min: one failover, one failback at 30 min",
			tl:     timeline(900+35*60, func(s int) string { return during(s, 300, 900, "-++", "+++") }),
			policy: func(p *Policy) { p.FailbackPrimary = true },
			want:   []sw{{540, "NAM", "EU", "failover"}, {900 + 1800, "EU", "NAM", "failback"}},
		},
		{
			name: "ping-pong every 15 min with FAILOVER_BUDGET=2: two switches, then budget_exhausted",
			tl: timeline(300+4*900, func(s int) string {
				if s < 300 {
					return "++-"
				}
				if (s-300)/900%2 == 0 {
					return "-+-"
				}
				return "+--"
			}),
			policy: func(p *Policy) { p.Budget = 2 },
			want:   []sw{{540, "NAM", "EU", "failover"}, {1440, "EU", "NAM", "failover"}},
			check: func(t *testing.T, s Summary) {
				var held []SimDecision
				for _, d := range s.Decisions {
					if d.Action == ActionBudgetExhausted {
						held = append(held, d)
					}
				}
				if len(held) != 1 || held[0].Seconds != 2340 || held[0].Region != "NAM" {
					t.Errorf("budget_exhausted decisions %+v, want one at 2340 s", held)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Simulate(tt.tl, simOptions(tt.policy))
			var got []sw
			for _, x := range s.Switches {
				got = append(got, sw{x.Seconds, x.From, x.To, x.Kind})
			}
			if tt.check == nil || tt.want != nil {
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("switches = %+v, want %+v\ndecisions: %+v", got, tt.want, s.Decisions)
				}
			}
			if s.Rows != len(tt.tl.Rows) || len(s.Trace) != s.Rows {
				t.Errorf("rows %d trace %d, want %d", s.Rows, len(s.Trace), len(tt.tl.Rows))
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

func TestSimulateDarkWithoutGuardIsDown(t *testing.T) {
	tl := timeline(1200, func(s int) string { return during(s, 300, 900, "...", "+++") })
	o := simOptions(nil)
	if s := Simulate(tl, o); s.AllDownSeconds != 0 {
		t.Errorf("with a guard, a dark network counted %vs in all_down", s.AllDownSeconds)
	}
	o.Guard = false
	if s := Simulate(tl, o); s.AllDownSeconds != 360 {
		t.Errorf("without a guard, all_down_seconds = %v, want 360", s.AllDownSeconds)
	}
}

func TestReadTimeline(t *testing.T) {
	regions := []string{"NAM", "EU", "APAC"}
	tl, err := ReadTimeline(strings.NewReader("seconds,EU,NAM,APAC\n# a comment\n100,up,down,dark\n110, down ,up,up\n130,up,up,up\n"), regions)
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{At: 0, Cells: []Cell{CellDown, CellUp, CellDark}},
		{At: 10 * time.Second, Cells: []Cell{CellUp, CellDown, CellUp}},
		{At: 30 * time.Second, Cells: []Cell{CellUp, CellUp, CellUp}},
	}
	if !reflect.DeepEqual(tl.Rows, want) || !reflect.DeepEqual(tl.Regions, regions) {
		t.Errorf("rows = %+v", tl.Rows)
	}
	bad := []struct{ name, in, want string }{
		{"no header", "", "check: bad timeline: header: EOF"},
		{"first column", "time,NAM,EU,APAC\n", `check: bad timeline: header must start with "seconds" (e.g. seconds,NAM,EU,APAC)`},
		{"missing region", "seconds,NAM,EU\n0,up,up\n", "check: bad timeline: header has no column for region APAC (EXT_CLOUD_FAILOVER_LIST names NAM, EU, APAC)"},
		{"unknown region", "seconds,NAM,EU,APAC,SA\n", `check: bad timeline: header names "SA", which is not in EXT_CLOUD_FAILOVER_LIST (NAM, EU, APAC)`},
		{"bad cell", "seconds,NAM,EU,APAC\n0,up,up,up\n10,up,upp,up\n", `check: bad timeline: line 3: EU is "upp" (want up, down or dark)`},
		{"bad seconds", "seconds,NAM,EU,APAC\nten,up,up,up\n", `check: bad timeline: line 2: seconds "ten" is not a number`},
		{"backwards", "seconds,NAM,EU,APAC\n10,up,up,up\n5,up,up,up\n", "check: bad timeline: line 3: seconds 5 go backwards"},
		{"short row", "seconds,NAM,EU,APAC\n10,up,up\n", "check: bad timeline: record on line 2: wrong number of fields"},
		{"no rows", "seconds,NAM,EU,APAC\n", "check: bad timeline: no rows after the header"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadTimeline(strings.NewReader(tt.in), regions)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

// checkLine is a `check complete` line as Run writes it.
func checkLine(at time.Time, action, region string, healthy map[string]bool) string {
	var parts []string
	for _, r := range []string{"NAM", "EU", "APAC"} {
		parts = append(parts, fmt.Sprintf(`%q:{"healthy":%v,"status":200,"ms":3}`, r, healthy[r]))
	}
	return fmt.Sprintf(`{"timestamp":%q,"level":"info","message":"check complete","service":"extcloud-failover","region":%q,"healthy":%v,"action":%q,"regions":{%s}}`,
		at.UTC().Format("2006-01-02T15:04:05.000Z07:00"), region, healthy[region], action, strings.Join(parts, ","))
}

func TestReadLogReplaysCheckLines(t *testing.T) {
	var b strings.Builder
	start := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for i := range 90 {
		at := start.Add(time.Duration(i) * 10 * time.Second)
		nam := i < 30 || i >= 60
		action := "none"
		if i >= 20 && i < 25 {
			action = "inconclusive"
		}
		fmt.Fprintln(&b, `{"timestamp":"x","message":"probe"}`)
		fmt.Fprintln(&b, checkLine(at, action, "EU", map[string]bool{"NAM": nam, "EU": i < 40, "APAC": true}))
		if i == 45 {
			// Lines that probed no active region are not rows: a refused
			// failover (its target's pre-flight only), a run stopped before
			// the probes, and the same as older versions wrote them.
			fmt.Fprintln(&b, `{"timestamp":"`+at.Add(time.Second).UTC().Format(time.RFC3339Nano)+`","message":"check complete","region":"EU","action":"none","reason":"refused: NAM failed its pre-flight","regions":{"NAM":{"healthy":false,"status":503,"ms":2}}}`)
			fmt.Fprintln(&b, `{"timestamp":"`+at.Add(2*time.Second).UTC().Format(time.RFC3339Nano)+`","message":"check complete","region":"EU","action":"none","regions":{},"error":"check: no time left to probe"}`)
			fmt.Fprintln(&b, `{"timestamp":"`+at.Add(3*time.Second).UTC().Format(time.RFC3339Nano)+`","message":"check complete","region":"EU","healthy":false,"action":"none","regions":{},"error":"load state: permission denied"}`)
		}
	}
	tl, err := ReadLog(strings.NewReader(b.String()), []string{"NAM", "EU", "APAC"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Rows) != 90 || tl.Start != "EU" || !tl.Origin.Equal(start) || tl.Rows[89].At != 890*time.Second {
		t.Fatalf("rows %d start %q origin %v", len(tl.Rows), tl.Start, tl.Origin)
	}
	if tl.Rows[21].Cells[0] != CellDark || tl.Rows[35].Cells[0] != CellDown || tl.Rows[35].Cells[1] != CellUp {
		t.Errorf("cells %v %v", tl.Rows[21].Cells, tl.Rows[35].Cells)
	}
	// EU, active, goes down at 400 s: what would a 2-minute threshold have done?
	s := Simulate(tl, simOptions(func(p *Policy) { p.Threshold = 2 * time.Minute }))
	if len(s.Switches) != 1 || s.Switches[0].Seconds != 520 || s.Switches[0].From != "EU" || s.Switches[0].To != "APAC" {
		t.Errorf("switches %+v, want EU to APAC at 520 s (NAM is down then)", s.Switches)
	}

	for _, tt := range []struct{ name, in, want string }{
		{"nothing to replay", `{"message":"probe"}` + "\n", `check: bad timeline: no "check complete" line with a regions field`},
		{"missing region", `{"timestamp":"2026-11-24T09:00:00.000Z","message":"check complete","healthy":true,"regions":{"NAM":{"healthy":true}}}` + "\n",
			"check: bad timeline: line 1: regions has no healthy result for EU (EXT_CLOUD_FAILOVER_LIST names NAM, EU, APAC)"},
		{"bad time", `{"timestamp":"yesterday","message":"check complete","healthy":true,"regions":{"NAM":{"healthy":true}}}` + "\n", `check: bad timeline: line 1: timestamp "yesterday" is not RFC 3339`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadLog(strings.NewReader(tt.in), []string{"NAM", "EU", "APAC"}); err == nil || err.Error() != tt.want {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestExampleTimelines runs the timelines of docs/timelines with the
// defaults and checks what their comments promise.
func TestExampleTimelines(t *testing.T) {
	tests := []struct {
		file string
		want []string // "seconds from->to kind"
	}{
		{"flapping.csv", []string{"540 NAM->EU failover"}},
		{"cascade.csv", []string{"540 NAM->EU failover", "1440 EU->APAC failover"}},
		{"dark-network.csv", []string{"1020 NAM->EU failover"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("..", "..", "docs", "timelines", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tl, err := ReadTimeline(f, []string{"NAM", "EU", "APAC"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range Simulate(tl, simOptions(nil)).Switches {
				got = append(got, fmt.Sprintf("%.0f %s->%s %s", s.Seconds, s.From, s.To, s.Kind))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("switches = %q, want %q", got, tt.want)
			}
		})
	}
}

func BenchmarkSimulateDay(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	tl := timeline(86400, func(int) string {
		marks := []byte("+++")
		for i := range marks {
			if rng.Float64() < 0.2 {
				marks[i] = '-'
			}
		}
		return string(marks)
	})
	o := simOptions(nil)
	b.ReportAllocs()
	for b.Loop() {
		if s := Simulate(tl, o); s.Rows != 8640 {
			b.Fatalf("rows %d", s.Rows)
		}
	}
}

// TestWriteSVGDrawsEverySwitch parses the drawing and finds each switch of
// the summary, a band per region, the active band and the shaded windows.
func TestWriteSVGDrawsEverySwitch(t *testing.T) {
	tl := timeline(900+35*60, func(s int) string { return during(s, 300, 900, "-+.", "+++") })
	o := simOptions(func(p *Policy) { p.FailbackPrimary = true })
	s := Simulate(tl, o)
	if len(s.Switches) != 2 {
		t.Fatalf("switches %+v, want a failover and a failback", s.Switches)
	}
	var b bytes.Buffer
	if err := WriteSVG(&b, tl, s, o.Policy, o.ProbeInterval); err != nil {
		t.Fatal(err)
	}
	type node struct {
		XMLName xml.Name
		Attrs   []xml.Attr `xml:",any,attr"`
		Nodes   []node     `xml:",any"`
		Text    string     `xml:",chardata"`
	}
	var root node
	if err := xml.Unmarshal(b.Bytes(), &root); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	if root.XMLName.Local != "svg" || root.XMLName.Space != "http://www.w3.org/2000/svg" {
		t.Fatalf("root %v", root.XMLName)
	}
	attr := func(n node, name string) string {
		for _, a := range n.Attrs {
			if a.Name.Local == name {
				return a.Value
			}
		}
		return ""
	}
	var switches []string
	classes := map[string]int{}
	var walk func(n node)
	walk = func(n node) {
		for _, c := range strings.Fields(attr(n, "class")) {
			classes[c]++
		}
		if attr(n, "class") == "switch" {
			title := ""
			for _, c := range n.Nodes {
				if c.XMLName.Local == "title" {
					title = c.Text
				}
			}
			switches = append(switches, fmt.Sprintf("%s %s %s %s | %s", attr(n, "data-seconds"), attr(n, "data-from"), attr(n, "data-to"), attr(n, "data-kind"), title))
		}
		if strings.Contains(attr(n, "href"), "http") {
			t.Errorf("external asset %q", attr(n, "href"))
		}
		for _, c := range n.Nodes {
			walk(c)
		}
	}
	walk(root)
	var want []string
	for _, sw := range s.Switches {
		want = append(want, fmt.Sprintf("%g %s %s %s | %s %s→%s at %.0fs: %s", sw.Seconds, sw.From, sw.To, sw.Kind, sw.Kind, sw.From, sw.To, sw.Seconds, sw.Reason))
	}
	if !reflect.DeepEqual(switches, want) {
		t.Errorf("switches drawn:\n%q\nwant\n%q", switches, want)
	}
	for _, c := range []string{"up", "down", "dark", "active", "threshold-window", "failback-window"} {
		if classes[c] == 0 {
			t.Errorf("nothing of class %q drawn (classes %v)", c, classes)
		}
	}
}

// BenchmarkSimulateDayBaseline is the least a day's simulation must do:
// 8640 Decide calls on the healthy path, with nothing to record.
func BenchmarkSimulateDayBaseline(b *testing.B) {
	s := state.State{ActiveRegion: "NAM"}
	obs := see("+++")
	o := simOptions(nil)
	b.ReportAllocs()
	for b.Loop() {
		for i := range 8640 {
			sinkDecision = Decide(s, obs, t0.Add(time.Duration(i)*10*time.Second), o.Policy)
		}
	}
}
