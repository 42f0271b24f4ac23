// This file holds validation: the allowed characters and shapes of
// values, the checks that span several settings, and what the host and
// Lambda paths require.

package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

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

// crossCheck validates what depends on more than one setting.
func (l *loader) crossCheck(c *Config) error {
	if c.PrimaryRegion != "" {
		if _, err := c.CloudOf(l.field("EXT_CLOUD_REGION"), c.PrimaryRegion); err != nil {
			return err
		}
	}
	for _, id := range []struct{ place, env, value, example string }{
		{"{org_id}", "CONNECTION_KEEPALIVE_ORG_ID", c.OrgID, "1234"},
		{"{txn_id}", "CONNECTION_KEEPALIVE_TXN_ID", c.TxnID, "keepalive-1"},
	} {
		if id.value == "" && strings.Contains(c.CloudlookupURL, id.place) {
			return errorf(id.env, "required by %s in CLOUDLOOKUP_URL (e.g. %s=%s)", id.place, id.env, id.example)
		}
	}
	for _, r := range c.Regions {
		u := c.ProbeURL(r)
		if p := httpURLProblem(u); p != "" {
			return errorf(l.field("CLOUDLOOKUP_URL"), "gives %s for %s: %s", quoteURL(u), r.Name, p)
		}
	}
	if c.ProbeInsecureSkipVerify {
		for _, r := range c.Regions {
			if h := probeHost(c.ProbeURL(r)); !isLoopback(h) {
				return errorf(l.field("PROBE_INSECURE_SKIP_VERIFY"), "allowed only for loopback probe hosts (got %s)", quote(h))
			}
		}
	}
	if c.ProbeTimeout >= c.CheckTimeout {
		return errorf(l.field("PROBE_TIMEOUT"), "%s must be less than %s (%s)", c.ProbeTimeout, l.field("CHECK_TIMEOUT"), c.CheckTimeout)
	}
	if c.LatencyTimeout >= c.CheckTimeout {
		return errorf(l.field("LATENCY_TIMEOUT"), "%s must be less than %s (%s)", c.LatencyTimeout, l.field("CHECK_TIMEOUT"), c.CheckTimeout)
	}
	return nil
}

// checkTemplate validates CLOUDLOOKUP_URL before substitution.
func checkTemplate(field, s string) error {
	if len(s) > maxTemplate {
		return errorf(field, "%d bytes (want at most %d)", len(s), maxTemplate)
	}
	if c := badChar(s, urlChars); c != "" {
		return errorf(field, "%s: %s not allowed (want %s)", quoteURL(s), c, urlChars.desc)
	}
	for _, p := range placeRE.FindAllString(s, -1) {
		switch p {
		case "{cloud}", "{region}", "{org_id}", "{txn_id}":
		default:
			return errorf(field, "unknown placeholder %s (want {cloud}, {region}, {org_id} or {txn_id})", quote(p))
		}
	}
	if !strings.Contains(s, "{cloud}") {
		return errorf(field, "no {cloud} placeholder (e.g. %s)", DefaultCloudlookupURL)
	}
	return nil
}

// ValidateHost checks what the host command needs beyond Load: an env file,
// a state file, at least one supervisord and the programs to restart.
func (c *Config) ValidateHost() error {
	switch {
	case c.EnvFile == "":
		return errorf("ENV_FILE", "required on the host (e.g. %s)", DefaultEnvFile)
	case c.StateFile == "":
		return errorf("STATE_FILE", "required on the host (e.g. /opt/application/tmp/%s)", StateFileName)
	case len(c.SupervisorURLs) == 0:
		return errorf("SUPERVISOR_URL", "required on the host (e.g. %s)", DefaultSupervisorURL)
	case len(c.SupervisorPrograms) == 0:
		return errorf("SUPERVISOR_PROGRAMS", "required on the host (the supervisord programs to restart, e.g. app or web:*)")
	}
	return nil
}

// ValidateLambda checks what the Lambda function needs beyond FromEnv: the
// DynamoDB table and the SSM targets.
func (c *Config) ValidateLambda() error {
	switch {
	case c.StateTable == "":
		return errorf("STATE_TABLE", "required for Lambda (the DynamoDB table, e.g. extcloud-failover-state)")
	case c.StateKey == "":
		return errorf("STATE_KEY", "required for Lambda (e.g. %s)", DefaultStateKey)
	case len(c.SSMTargets) == 0:
		return errorf("SSM_TARGETS", "required for Lambda (tag:Key=Value or instance IDs, e.g. tag:Role=app)")
	case c.EnvFile == "":
		return errorf("ENV_FILE", "required for Lambda: the path on the hosts (e.g. %s)", DefaultEnvFile)
	}
	return nil
}
