package main

// The Datadog monitors in deploy/datadog query what the binary really
// emits: the binary runs a healthy check, a failover, an outage of every
// region and an incomplete push, and every monitor's query must match a log
// line it printed or a DogStatsD metric it sent.

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// monitor is the part of a Datadog monitor definition the test reads.
type monitor struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Query   string   `json:"query"`
	Message string   `json:"message"`
	Tags    []string `json:"tags"`
	Options struct {
		Thresholds map[string]float64 `json:"thresholds"`
	} `json:"options"`
}

var (
	// logs("SEARCH").index("*").rollup("count").by("FACET").last("Nm") OP N
	logQueryRE = regexp.MustCompile(`^logs\("((?:[^"\\]|\\.)*)"\)\.index\("\*"\)\.rollup\("count"\)\.by\("([a-z_.]+)"\)\.last\("(\d+)m"\) (>=|>|<) (\d+)$`)
	// AGG(last_Nm):SPACE:METRIC{TAGS} by {FACET}[.as_count()] OP N
	metricQueryRE = regexp.MustCompile(`^(min|max|sum|avg)\(last_(\d+)m\):(sum|max|min|avg):([a-z0-9_.]+)\{([^}]*)\} by \{([a-z_.]+)\}(\.as_count\(\))? (>=|>|<) (\d+)$`)
)

// statsdSink collects DogStatsD lines sent to a UDP port on 127.0.0.1.
type statsdSink struct {
	conn  net.PacketConn
	mu    sync.Mutex
	lines []string
}

func startStatsdSink(t *testing.T) *statsdSink {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &statsdSink{conn: conn}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.lines = append(s.lines, strings.Split(strings.TrimSpace(string(buf[:n])), "\n")...)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return s
}

func (s *statsdSink) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// metricSeen reports whether a line for metric carries every tag of
// filter, and whether one of those lines satisfied "value OP n".
func metricSeen(lines []string, metric string, filter []string, op string, n float64) (seen, satisfied bool) {
	for _, l := range lines {
		name, rest, ok := strings.Cut(l, ":")
		if !ok || name != metric {
			continue
		}
		fields := strings.Split(rest, "|")
		var tags []string
		for _, f := range fields[1:] {
			if t, ok := strings.CutPrefix(f, "#"); ok {
				tags = strings.Split(t, ",")
			}
		}
		all := true
		for _, want := range filter {
			if !contains(tags, want) {
				all = false
			}
		}
		if !all {
			continue
		}
		seen = true
		v, err := strconv.ParseFloat(fields[0], 64)
		if err == nil && compare(v, op, n) {
			satisfied = true
		}
	}
	return seen, satisfied
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func compare(v float64, op string, n float64) bool {
	switch op {
	case ">=":
		return v >= n
	case ">":
		return v > n
	case "<":
		return v < n
	}
	return false
}

// searchTerms splits a log search into key:value terms and quoted phrases.
func searchTerms(search string) (attrs map[string]string, phrases []string) {
	attrs = map[string]string{}
	search = strings.ReplaceAll(search, `\"`, `"`)
	for search = strings.TrimSpace(search); search != ""; search = strings.TrimSpace(search) {
		if rest, ok := strings.CutPrefix(search, `"`); ok {
			phrase, after, _ := strings.Cut(rest, `"`)
			phrases = append(phrases, phrase)
			search = after
			continue
		}
		term, after, _ := strings.Cut(search, " ")
		k, v, _ := strings.Cut(term, ":")
		attrs[strings.TrimPrefix(k, "@")] = v
		search = after
	}
	return attrs, phrases
}

// logMatches reports whether a JSON log line matches every term.
func logMatches(line map[string]any, attrs map[string]string, phrases []string) bool {
	for k, v := range attrs {
		got, ok := line[k]
		if !ok {
			return false
		}
		if s, isString := got.(string); (isString && s != v) || (!isString && strings.TrimSpace(toJSON(got)) != v) {
			return false
		}
	}
	msg, _ := line["message"].(string)
	for _, p := range phrases {
		if !strings.Contains(msg, p) {
			return false
		}
	}
	return true
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestMonitorQueries(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../deploy/datadog/*.json")
	if err != nil || len(files) < 5 {
		t.Fatalf("monitor definitions: %v (found %d, want the 5 of deploy/datadog)", err, len(files))
	}

	// What the binary emits, in four situations.
	sink := startStatsdSink(t)
	statsd := "DD_DOGSTATSD_URL=udp://" + sink.conn.LocalAddr().String()
	var logs []map[string]any
	collect := func(inv invocation) { logs = append(logs, inv.lines...) }

	healthy := newFleet(t, statsd)
	collect(healthy.run())
	healthy.nam.Down.Store(true)
	healthy.plantOutage(time.Minute)
	collect(healthy.run()) // failover to EU

	allDown := newFleet(t, statsd)
	for _, r := range []*region{allDown.nam, allDown.eu, allDown.apac} {
		r.Down.Store(true)
	}
	allDown.plantOutage(time.Minute)
	collect(allDown.run())

	incomplete := newFleet(t, statsd)
	incomplete.nam.Down.Store(true)
	incomplete.plantOutage(time.Minute)
	incomplete.env = append(incomplete.env, "SUPERVISOR_URL=unix://"+filepath.Join(incomplete.dir, "absent.sock"))
	if inv := incomplete.run(); inv.code != 1 || !strings.Contains(inv.stdout, "push incomplete") {
		t.Fatalf("incomplete push: exit %d\n%s", inv.code, inv.stdout)
	} else {
		collect(inv)
	}

	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var m monitor
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatalf("not the monitor API's JSON: %v", err)
			}
			if m.Name == "" || !strings.Contains(m.Message, "Checklist:") || !contains(m.Tags, "service:extcloud-failover") {
				t.Errorf("monitor %q: want a name, a checklist message and the service tag", m.Name)
			}
			switch m.Type {
			case "log alert":
				q := logQueryRE.FindStringSubmatch(m.Query)
				if q == nil {
					t.Fatalf("log query %q is not logs(...).index(\"*\").rollup(\"count\").by(...).last(...) OP N", m.Query)
				}
				checkThreshold(t, m, q[5])
				attrs, phrases := searchTerms(q[1])
				if attrs["service"] != "extcloud-failover" {
					t.Errorf("query %q does not select service:extcloud-failover", m.Query)
				}
				matched := false
				for _, l := range logs {
					if logMatches(l, attrs, phrases) {
						matched = true
						break
					}
				}
				if !matched {
					t.Errorf("no log line the binary printed matches %q (attributes %v, text %q)", q[1], attrs, phrases)
				}
			case "query alert":
				q := metricQueryRE.FindStringSubmatch(m.Query)
				if q == nil {
					t.Fatalf("metric query %q is not AGG(last_Nm):AGG:METRIC{TAGS} by {FACET} OP N", m.Query)
				}
				checkThreshold(t, m, q[9])
				n, _ := strconv.ParseFloat(q[9], 64)
				filter := strings.Split(q[5], ",")
				var seen, satisfied bool
				waitFor(t, "metric "+q[4], func() bool {
					seen, satisfied = metricSeen(sink.received(), q[4], filter, q[8], n)
					return seen && (q[8] == "<" || satisfied)
				})
				if !seen {
					t.Errorf("the binary sent no %s with tags %v; got %q", q[4], filter, sink.received())
				}
			default:
				t.Errorf("type %q, want log alert or query alert", m.Type)
			}
		})
	}
}

// checkThreshold: Datadog refuses a monitor whose critical threshold is not
// the query's.
func checkThreshold(t *testing.T, m monitor, n string) {
	t.Helper()
	want, _ := strconv.ParseFloat(n, 64)
	if got, ok := m.Options.Thresholds["critical"]; !ok || got != want {
		t.Errorf("options.thresholds.critical = %v, want the query's %v", got, want)
	}
}

// TestMonitorQueriesParse keeps the query grammar the test reads honest.
func TestMonitorQueriesParse(t *testing.T) {
	attrs, phrases := searchTerms(`service:extcloud-failover @action:failover \"failover from\"`)
	if attrs["service"] != "extcloud-failover" || attrs["action"] != "failover" || len(phrases) != 1 || phrases[0] != "failover from" {
		t.Errorf("searchTerms = %v %q", attrs, phrases)
	}
	line := map[string]any{"service": "extcloud-failover", "action": "failover", "message": "failover from NAM to EU"}
	if !logMatches(line, attrs, phrases) {
		t.Error("the failover line does not match its own query")
	}
	line["action"] = "none"
	if logMatches(line, attrs, phrases) {
		t.Error("a line with another action matches")
	}
	lines := []string{"extcloud.push.pending:2|g|#service:extcloud-failover,region:EU", "extcloud.check.complete:1|c|#service:x"}
	if seen, ok := metricSeen(lines, "extcloud.push.pending", []string{"service:extcloud-failover"}, ">", 0); !seen || !ok {
		t.Error("pending gauge of 2 not seen above 0")
	}
	if seen, _ := metricSeen(lines, "extcloud.check.complete", []string{"service:extcloud-failover"}, "<", 1); seen {
		t.Error("a heartbeat of another service matched")
	}
}
