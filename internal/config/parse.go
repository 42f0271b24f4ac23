// This file holds parsing: the Error type, how errors quote user input,
// and the parsers that turn one setting's text into its value.

package config

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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
	maxShown     = 40       // bytes of user input an error quotes
	maxValue     = 64 << 10 // bytes of any one value
	maxRegions   = 32
	maxCloud     = 255
	maxID        = 128
	maxTemplate  = 2048
	maxExpect    = 1024
	maxServiceDD = 100
)

// quote returns s quoted with %q, cut to its first maxShown bytes (on a
// character boundary when s is UTF-8) and followed by "…" when cut.
func quote(s string) string {
	if len(s) <= maxShown {
		return strconv.Quote(s)
	}
	n := maxShown
	for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); i++ {
		n--
	}
	return strconv.Quote(s[:n]) + "…"
}

// quoteURL is quote for a URL that may hold a password in its user info:
// the password is shown as "xxxxx".
func quoteURL(s string) string {
	if start, user, pw, ok := userinfo(s); ok && pw != "" {
		i := start + len(user) + 1
		s = s[:i] + "xxxxx" + s[i+len(pw):]
	}
	return quote(s)
}

// userinfo finds the user info of a URL by hand, since templates and bad
// values need not parse: it returns the authority's start, the user, the
// password as written and whether there is user info at all.
func userinfo(s string) (start int, user, pw string, ok bool) {
	i := strings.Index(s, "://")
	if i < 0 {
		return 0, "", "", false
	}
	start = i + 3
	auth := s[start:]
	if j := strings.IndexAny(auth, "/?#"); j >= 0 {
		auth = auth[:j]
	}
	at := strings.LastIndex(auth, "@")
	if at < 0 {
		return 0, "", "", false
	}
	user, pw, _ = strings.Cut(auth[:at], ":")
	return start, user, pw, true
}

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
	if c := badChar(s, urlChars); c != "" {
		return errorf(field, "%s: %s not allowed (want %s)", quoteURL(s), c, urlChars.desc)
	}
	if p := httpURLProblem(s); p != "" {
		return errorf(field, "%s: %s (e.g. %s)", quoteURL(s), p, example)
	}
	return nil
}

func parseID(field, s string) (string, error) {
	if len(s) > maxID {
		return "", errorf(field, "%d bytes (want at most %d)", len(s), maxID)
	}
	if err := checkChars(field, s, idChars); err != nil {
		return "", err
	}
	return s, nil
}

func parsePath(field, s, example string) (string, error) {
	if err := checkChars(field, s, pathChars); err != nil {
		return "", err
	}
	if !strings.HasPrefix(s, "/") {
		return "", errorf(field, "%s is not an absolute path (e.g. %s)", quote(s), example)
	}
	if c := path.Clean(s); c != s {
		return "", errorf(field, "%s is not a clean path (want %s)", quote(s), quote(c))
	}
	if s == "/" {
		return "", errorf(field, "\"/\" names no file (e.g. %s)", example)
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

func parseSupervisorURLs(field, s string) ([]string, error) {
	var urls []string
	seen := map[string]bool{}
	for i, it := range splitList(s) {
		if p := supervisorURLProblem(it); p != "" {
			return nil, errorf(field, "entry %d %s: %s", i+1, quoteURL(it), p)
		}
		if seen[it] {
			return nil, errorf(field, "entry %d %s: duplicate", i+1, quoteURL(it))
		}
		seen[it] = true
		urls = append(urls, it)
	}
	return urls, nil
}

func parsePrograms(field, s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var progs []string
	seen := map[string]bool{}
	for i, it := range splitList(s) {
		if c := badChar(it, programChars); c != "" {
			return nil, errorf(field, "entry %d %s: %s not allowed (want %s)", i+1, quote(it), c, programChars.desc)
		}
		if !programRE.MatchString(it) {
			return nil, errorf(field, "entry %d %s: want name, group:name or group:* (e.g. app or web:*)", i+1, quote(it))
		}
		if seen[it] {
			return nil, errorf(field, "entry %d %s: duplicate", i+1, quote(it))
		}
		seen[it] = true
		progs = append(progs, it)
	}
	return progs, nil
}

func parseSSMTargets(field, s string) ([]SSMTarget, error) {
	if s == "" {
		return nil, nil
	}
	var targets []SSMTarget
	seen := map[string]bool{}
	for i, it := range splitList(s) {
		var t SSMTarget
		if tag, ok := strings.CutPrefix(it, "tag:"); ok {
			if c := badChar(tag, tagChars); c != "" {
				return nil, errorf(field, "entry %d %s: %s not allowed (want %s)", i+1, quote(it), c, tagChars.desc)
			}
			k, v, ok := strings.Cut(tag, "=")
			if !ok || k == "" || v == "" || len(k) > 128 || len(v) > 256 {
				return nil, errorf(field, "entry %d %s: want tag:Key=Value (e.g. tag:Role=app)", i+1, quote(it))
			}
			t = SSMTarget{TagKey: k, TagValue: v}
		} else {
			if !instanceRE.MatchString(it) {
				return nil, errorf(field, "entry %d %s: want tag:Key=Value or an instance ID (e.g. tag:Role=app or i-0123456789abcdef0)", i+1, quote(it))
			}
			t = SSMTarget{InstanceID: it}
		}
		if seen[it] {
			return nil, errorf(field, "entry %d %s: duplicate", i+1, quote(it))
		}
		seen[it] = true
		targets = append(targets, t)
	}
	return targets, nil
}

func parseDDTags(field, s string) error {
	for _, tag := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if c := badChar(tag, ddTagChars); c != "" {
			return errorf(field, "tag %s: %s not allowed (want %s)", quote(tag), c, ddTagChars.desc)
		}
		if len(tag) > 200 {
			return errorf(field, "tag %s: %d bytes (want at most 200)", quote(tag), len(tag))
		}
	}
	// FieldsFunc dropped separators; any other whitespace or control byte
	// is refused above because it stays inside a tag.
	return nil
}

func parseDogstatsdURL(field, s string) error {
	ok := false
	if c := badChar(s, urlChars); c == "" {
		if u, err := url.Parse(s); err == nil {
			switch u.Scheme {
			case "udp":
				ok = u.Hostname() != "" && (u.Port() == "" || validPort(u.Port())) && (u.Path == "" || u.Path == "/")
			case "unix", "unixgram", "unixstream":
				ok = u.Host == "" && strings.HasPrefix(u.Path, "/") && badChar(u.Path, pathChars) == ""
			}
		}
	}
	if !ok {
		return errorf(field, "%s: want udp://host:port or unix:///path/to/dsd.socket", quote(s))
	}
	return nil
}
