package config

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
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

// charset is a set of allowed bytes and how error messages describe it.
type charset struct {
	desc string
	ok   func(byte) bool
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

var (
	idChars      = charset{"A-Z a-z 0-9 _ . : -", func(c byte) bool { return alnum(c) || strings.IndexByte("_.:-", c) >= 0 }}
	pathChars    = charset{"A-Z a-z 0-9 _ . / -", func(c byte) bool { return alnum(c) || strings.IndexByte("_./-", c) >= 0 }}
	cloudChars   = charset{"A-Z a-z 0-9 _ . : / -", func(c byte) bool { return alnum(c) || strings.IndexByte("_.:/-", c) >= 0 }}
	programChars = charset{"A-Z a-z 0-9 _ . - and group:name or group:*", func(c byte) bool { return alnum(c) || strings.IndexByte("_.-:*", c) >= 0 }}
	tagChars     = charset{"A-Z a-z 0-9 _ . : / + @ = -", func(c byte) bool { return alnum(c) || strings.IndexByte("_.:/+@=-", c) >= 0 }}
	ddTagChars   = charset{"A-Z a-z 0-9 _ . : / -", func(c byte) bool { return alnum(c) || strings.IndexByte("_.:/-", c) >= 0 }}
	urlChars     = charset{"printable ASCII, no spaces", func(c byte) bool { return c > ' ' && c < 0x7f }}
)

// badChar describes the first byte of s that cs refuses, or returns "".
func badChar(s string, cs charset) string {
	for i := 0; i < len(s); i++ {
		if cs.ok(s[i]) {
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return fmt.Sprintf("byte 0x%02x (not UTF-8)", s[i])
		}
		return "character " + strconv.QuoteRune(r)
	}
	return ""
}

// checkChars returns an *Error when s holds a byte outside cs.
func checkChars(field, s string, cs charset) error {
	if c := badChar(s, cs); c != "" {
		return errorf(field, "%s: %s not allowed (want %s)", quote(s), c, cs.desc)
	}
	return nil
}

var (
	regionRE  = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,15}$`)
	programRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+(:([A-Za-z0-9_.-]+|\*))?$`)
	// AWS instance IDs: i- with 8 or 17 lower-case hex digits, mi- with 17.
	// Stricter than the SSM pusher's own check, which takes any letter.
	instanceRE = regexp.MustCompile(`^(i-([0-9a-f]{8}|[0-9a-f]{17})|mi-[0-9a-f]{17})$`)
	// tableRE's length (3-255) is checked apart: a {3,255} repeat compiles
	// into 255 states, a millisecond of every run's start.
	tableRE     = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	ssmConcRE   = regexp.MustCompile(`^([1-9][0-9]{0,5}|[1-9][0-9]?%|100%)$`)
	ssmErrorsRE = regexp.MustCompile(`^(0|[1-9][0-9]{0,5}|[0-9]%|[1-9][0-9]%|100%)$`)
	placeRE     = regexp.MustCompile(`\{[^{}]*\}`)
)

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

func parseRegions(field, s string) ([]Region, error) {
	if s == "" {
		return nil, errorf(field, "empty (want REGION=CLOUD,... e.g. NAM=nam.example.com,EU=eu.example.com)")
	}
	items := splitList(s)
	if len(items) > maxRegions {
		return nil, errorf(field, "%d entries (want at most %d)", len(items), maxRegions)
	}
	regions := make([]Region, 0, len(items))
	seen := map[string]bool{}
	for i, it := range items {
		name, cloud, ok := strings.Cut(it, "=")
		if !ok || name == "" || cloud == "" {
			return nil, errorf(field, "entry %d %s: want REGION=CLOUD", i+1, quote(it))
		}
		if !regionRE.MatchString(name) {
			return nil, errorf(field, "entry %d: region %s is not an upper-case name (want A-Z, 0-9 and _, starting with a letter, at most 16, e.g. EU)", i+1, quote(name))
		}
		if seen[name] {
			return nil, errorf(field, "entry %d: duplicate region %s", i+1, quote(name))
		}
		seen[name] = true
		if p := cloudProblem(cloud); p != "" {
			return nil, errorf(field, "entry %d (%s): cloud %s: %s", i+1, name, quote(cloud), p)
		}
		regions = append(regions, Region{Name: name, Cloud: cloud})
	}
	return regions, nil
}

// cloudProblem says why s is not a host[:port] or an http(s) base URL, or
// returns "".
func cloudProblem(s string) string {
	if len(s) > maxCloud {
		return fmt.Sprintf("%d bytes (want at most %d)", len(s), maxCloud)
	}
	if c := badChar(s, cloudChars); c != "" {
		return fmt.Sprintf("%s not allowed (want %s)", c, cloudChars.desc)
	}
	scheme, rest, isURL := strings.Cut(s, "://")
	if !isURL {
		if strings.Contains(s, "/") {
			return "want host[:port] or http(s)://host[:port][/path]"
		}
		return hostPortProblem(s)
	}
	if scheme != "http" && scheme != "https" {
		return "scheme must be http or https"
	}
	hostport, _, _ := strings.Cut(rest, "/")
	return hostPortProblem(hostport)
}

// hostPortProblem checks host[:port] with a DNS name or IPv4 address.
func hostPortProblem(hp string) string {
	host, port, hasPort := strings.Cut(hp, ":")
	if !validHostname(host) {
		return "want a host name (letters, digits, . and -; e.g. eu.example.com)"
	}
	if hasPort && !validPort(port) {
		return "port must be 1-65535"
	}
	return ""
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 || strings.Contains(h, "..") {
		return false
	}
	if !alnum(h[0]) || !alnum(h[len(h)-1]) {
		return false
	}
	for i := 0; i < len(h); i++ {
		if !alnum(h[i]) && h[i] != '.' && h[i] != '-' {
			return false
		}
	}
	return true
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// httpURLProblem says why s is not an http(s) URL with a host, or returns "".
func httpURLProblem(s string) string {
	if c := badChar(s, urlChars); c != "" {
		return fmt.Sprintf("%s not allowed (want %s)", c, urlChars.desc)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "want an http:// or https:// URL with a host"
	}
	if p := u.Port(); p != "" && !validPort(p) {
		return "port must be 1-65535"
	}
	return ""
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

func supervisorURLProblem(s string) string {
	if sock, ok := strings.CutPrefix(s, "unix://"); ok {
		if c := badChar(sock, pathChars); c != "" {
			return fmt.Sprintf("%s not allowed in a socket path (want %s)", c, pathChars.desc)
		}
		if !strings.HasPrefix(sock, "/") || sock == "/" {
			return "want an absolute socket path (e.g. unix:///var/run/supervisor.sock)"
		}
		return ""
	}
	if c := badChar(s, urlChars); c != "" {
		return fmt.Sprintf("%s not allowed (want %s)", c, urlChars.desc)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Opaque != "" || (u.Scheme != "http" && u.Scheme != "https"):
		return "want unix:///path/to/supervisor.sock or http(s)://host:port[/RPC2]"
	case u.Hostname() == "":
		return "want a host (e.g. http://127.0.0.1:9001/RPC2)"
	case u.Port() != "" && !validPort(u.Port()):
		return "port must be 1-65535"
	case u.Path != "" && u.Path != "/" && u.Path != "/RPC2":
		return "path must be empty or /RPC2"
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "no query or fragment"
	}
	return ""
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
	for _, tag := range strings.Split(s, ",") {
		tag = strings.Trim(tag, " ")
		if strings.Contains(tag, " ") {
			return errorf(field, "tag %s contains a space, which Datadog would rewrite (want comma-separated key:value tags, e.g. env:prod,team:sre)", quote(tag))
		}
		if c := badChar(tag, ddTagChars); c != "" {
			return errorf(field, "tag %s: %s not allowed (want %s)", quote(tag), c, ddTagChars.desc)
		}
		if len(tag) > 200 {
			return errorf(field, "tag %s: %d bytes (want at most 200)", quote(tag), len(tag))
		}
	}
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

// noSpaceOrControl refuses secrets that would break a header or a log line
// without echoing them.
func noSpaceOrControl(field, s string) error {
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) {
			return errorf(field, "has a space, control character or invalid UTF-8 (value not shown)")
		}
	}
	return nil
}
