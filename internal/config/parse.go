// This file holds parsing: the Error type and the parsers that turn one
// setting's text into its value, naming the field; the rules for the
// values themselves are internal/ident's.

package config

import (
	"fmt"
	"net/textproto"
	"strings"
	"time"

	"extcloud-failover/internal/ident"
)

// Error is a bad configuration value. Field is the name the user wrote: the
// environment variable, or the flag (--probe-timeout, -r) when a flag set it.
// Msg is one line and shows user input only quoted and truncated.
type Error struct {
	Field string
	Msg   string
}

// Error returns "FIELD: msg".
func (e *Error) Error() string { return e.Field + ": " + e.Msg }

func errorf(field, format string, args ...any) *Error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Limits that keep values, and the errors quoting them, small.
const (
	maxValue     = 64 << 10 // bytes of any one value
	maxRegions   = 32
	maxTemplate  = 2048
	maxExpect    = 1024
	maxServiceDD = 100
)

// quote shows user input in a message: quoted and cut (see ident.Quote).
func quote(s string) string { return ident.Quote(s) }

// splitList splits a comma-separated value; spaces around items are dropped
// (they never reach a file), anything else is kept for validation.
func splitList(s string) []string {
	items := strings.Split(s, ",")
	for i, it := range items {
		items[i] = strings.Trim(it, " ")
	}
	return items
}

// wantList renders names as "A", "A or B", "A, B or C"; more than
// maxWant names are cut to keep the line short.
func wantList(names []string) string {
	const maxWant = 8
	switch {
	case len(names) == 0:
		return "none configured"
	case len(names) == 1:
		return names[0]
	case len(names) > maxWant:
		return fmt.Sprintf("one of %s, … %d in all", strings.Join(names[:maxWant], ", "), len(names))
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func parseHTTPURL(field, s, example string) error {
	if err := ident.URLChars(s); err != nil {
		return errorf(field, "%s", err)
	}
	if err := ident.HTTPURL(s); err != nil {
		return errorf(field, "%s (e.g. %s)", err, example)
	}
	return nil
}

func parseID(field, s string) (string, error) {
	if err := ident.ID(s); err != nil {
		return "", errorf(field, "%s", err)
	}
	return s, nil
}

func parsePath(field, s, example string) (string, error) {
	if err := ident.FilePath(s, example); err != nil {
		return "", errorf(field, "%s", err)
	}
	return s, nil
}

func parseDuration(field, s, example string, zeroOK bool) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errorf(field, "%s is not a duration (want e.g. %s)", quote(s), example)
	}
	switch {
	case zeroOK && d < 0:
		return 0, errorf(field, "%s must not be negative (0 means no wait; e.g. %s)", quote(s), example)
	case !zeroOK && d <= 0:
		return 0, errorf(field, "%s must be more than 0 (e.g. %s)", quote(s), example)
	}
	return d, nil
}

func parseBool(field, s string) (bool, error) {
	switch s {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, errorf(field, "%s is not a boolean (want true or false)", quote(s))
}

// parseList splits a comma-separated value, checks each entry with check
// and refuses duplicates; errors name the entry by its position.
func parseList[T any](field, s string, shown func(string) string, check func(string) (T, error)) ([]T, error) {
	var out []T
	seen := map[string]bool{}
	for i, it := range splitList(s) {
		v, err := check(it)
		if err != nil {
			return nil, errorf(field, "entry %d %s", i+1, err)
		}
		if seen[it] {
			return nil, errorf(field, "entry %d %s: duplicate", i+1, shown(it))
		}
		seen[it] = true
		out = append(out, v)
	}
	return out, nil
}

// same turns a validator into a check for parseList that keeps the entry.
func same(valid func(string) error) func(string) (string, error) {
	return func(s string) (string, error) { return s, valid(s) }
}

func parseSupervisorURLs(field, s string) ([]string, error) {
	return parseList(field, s, ident.QuoteURL, same(ident.SupervisorURL))
}

func parsePrograms(field, s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	return parseList(field, s, quote, same(ident.Program))
}

func parseSSMTargets(field, s string) ([]ident.SSMTarget, error) {
	if s == "" {
		return nil, nil
	}
	return parseList(field, s, quote, ident.ParseSSMTarget)
}

func parseDDTags(field, s string) error {
	// Spaces around an entry are dropped; a space inside one is refused,
	// since Datadog would rewrite the tag. Any other whitespace or control
	// byte stays inside a tag and ident refuses it.
	for _, tag := range strings.Split(s, ",") {
		tag = strings.Trim(tag, " ")
		if strings.Contains(tag, " ") {
			return errorf(field, "tag %s contains a space, which Datadog would rewrite (want comma-separated key:value tags, e.g. env:prod,team:sre)", quote(tag))
		}
		if tag == "" {
			continue
		}
		if err := ident.DDTag(tag); err != nil {
			return errorf(field, "tag %s", err)
		}
	}
	return nil
}

// maxHeaders bounds PROBE_HEADERS.
const maxHeaders = 32

// parseHeaders reads PROBE_HEADERS: comma-separated "Name: value" entries
// (ident.Header). A value is never shown; a name may be given once, and
// Host, which the URL decides, not at all.
func parseHeaders(field, s string) ([]Header, error) {
	if s == "" {
		return nil, nil
	}
	items := splitList(s)
	if len(items) > maxHeaders {
		return nil, errorf(field, "%d entries (want at most %d)", len(items), maxHeaders)
	}
	var out []Header
	seen := map[string]bool{}
	for i, it := range items {
		name, value, err := ident.Header(it)
		if err != nil {
			return nil, errorf(field, "entry %d: %s", i+1, err)
		}
		canon := textproto.CanonicalMIMEHeaderKey(name)
		switch {
		case canon == "Host":
			return nil, errorf(field, "entry %d: header Host is set from the probe URL (remove it)", i+1)
		case seen[canon]:
			return nil, errorf(field, "entry %d: header %s given twice", i+1, name)
		}
		seen[canon] = true
		out = append(out, Header{Name: name, Value: value})
	}
	return out, nil
}
