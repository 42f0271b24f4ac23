// This file holds the JSON slog handler of every log line, and the redaction
// of secrets in it.

package telemetry

import (
	"encoding/json"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Redacted replaces a secret in logs.
const Redacted = "[REDACTED]"

// TimeFormat is the layout of the timestamp key: RFC 3339 in UTC with
// milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// HandlerOptions configures NewHandler.
type HandlerOptions struct {
	// Service is the value of the service key.
	Service string
	// Level is the minimum level written; nil means info.
	Level slog.Leveler
	// Secrets are removed from every message and string value.
	Secrets []string
	// Now stamps the records; nil keeps the time the logger set.
	Now func() time.Time
}

// NewHandler returns a handler writing one JSON object a line to w: see the
// package documentation for the keys. It is safe for concurrent use.
func NewHandler(w io.Writer, o HandlerOptions) slog.Handler {
	r := newRedactor(o.Secrets)
	replace := func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 {
			switch a.Key {
			case slog.TimeKey:
				t := a.Value.Time()
				if o.Now != nil {
					t = o.Now()
				}
				return slog.String("timestamp", t.UTC().Format(TimeFormat))
			case slog.LevelKey:
				if l, ok := a.Value.Any().(slog.Level); ok {
					return slog.String(slog.LevelKey, levelName(l))
				}
			case slog.MessageKey:
				return slog.String("message", r.redact(a.Value.String()))
			}
		}
		return r.attr(a)
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: o.Level, ReplaceAttr: replace})
	return h.WithAttrs([]slog.Attr{slog.String("service", o.Service)})
}

// levelName maps a level to the four names Datadog knows as statuses;
// levels between the named ones round down.
func levelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}

// userinfoPassword matches the password of a URL's userinfo: the scheme and
// user are kept in group 1.
var userinfoPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):[^/\s]*@`)

// Redact returns s with every non-empty secret replaced by [REDACTED] and
// the password of any URL userinfo (scheme://user:password@host) too.
func Redact(s string, secrets []string) string {
	return newRedactor(secrets).redact(s)
}

// redactor scrubs strings of a fixed set of secrets.
type redactor struct {
	secrets []string // non-empty, longest first
	escaped []string // their JSON-escaped forms, for marshalled values
}

func newRedactor(secrets []string) *redactor {
	r := &redactor{}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		r.secrets = append(r.secrets, s)
		b, _ := json.Marshal(s)
		if e := string(b[1 : len(b)-1]); e != s {
			r.escaped = append(r.escaped, e)
		}
	}
	// Longest first, so a secret that contains another is removed whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	sort.Slice(r.escaped, func(i, j int) bool { return len(r.escaped[i]) > len(r.escaped[j]) })
	return r
}

func (r *redactor) redact(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, Redacted)
	}
	if strings.Contains(s, "@") {
		s = userinfoPassword.ReplaceAllString(s, "$1:"+Redacted+"@")
	}
	return s
}

// attr scrubs one attribute; groups are visited member by member by the
// JSON handler, so only leaves reach here.
func (r *redactor) attr(a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.redact(a.Value.String()))
	case slog.KindAny:
		return slog.Attr{Key: a.Key, Value: r.any(a.Value.Any())}
	}
	return a
}

// any scrubs a value of kind Any: errors become their redacted text; other
// values are marshalled the way the JSON handler would and scrubbed there.
func (r *redactor) any(v any) slog.Value {
	switch v := v.(type) {
	case nil:
		return slog.AnyValue(nil)
	case error:
		return slog.StringValue(r.redact(v.Error()))
	case json.RawMessage:
		return r.rawJSON(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Let the JSON handler report the marshalling error itself.
		return slog.AnyValue(v)
	}
	return r.rawJSON(b)
}

// rawJSON scrubs marshalled JSON. When a secret was found and the scrubbed
// text is no longer valid JSON, the whole value is withheld.
func (r *redactor) rawJSON(b []byte) slog.Value {
	s := string(b)
	red := r.redact(s)
	for _, e := range r.escaped {
		red = strings.ReplaceAll(red, e, Redacted)
	}
	if red == s {
		return slog.AnyValue(json.RawMessage(b))
	}
	if !json.Valid([]byte(red)) {
		return slog.StringValue(Redacted)
	}
	return slog.AnyValue(json.RawMessage(red))
}
