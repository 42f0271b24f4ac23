// This file holds clouds: what {cloud} of CLOUDLOOKUP_URL is replaced with,
// and what EXT_CLOUD says in the env file.

package ident

import (
	"fmt"
	"strings"
)

// MaxCloud is the longest cloud.
const MaxCloud = 255

// Cloud checks a cloud: host[:port] (nam.example.com, 127.0.0.1:8443,
// [::1]:8443) or an http(s) base URL (https://eu.example.com/base,
// http://[::1]:8080/nam). Besides an IPv6 address in brackets it holds only
// A-Z a-z 0-9 _ . : / -, so it is safe unquoted in a URL, an env file and a
// shell word, and at most MaxCloud bytes.
func Cloud(s string) error {
	shown := Quote(s)
	if err := tooLong(s, MaxCloud); err != nil {
		return fmt.Errorf("%s: %w", shown, err)
	}
	scheme, rest, isURL := strings.Cut(s, "://")
	hostport := s
	if isURL {
		hostport, _, _ = strings.Cut(rest, "/")
	}
	// The brackets of an IPv6 address are the only bytes outside
	// cloudChars; HostPort checks what is inside them.
	if err := checkChars(withoutIPv6(s, hostport), shown, cloudChars); err != nil {
		return err
	}
	switch {
	case !isURL && strings.Contains(s, "/"):
		return fmt.Errorf("%s: want host[:port] or http(s)://host[:port][/path]", shown)
	case isURL && scheme != "http" && scheme != "https":
		return fmt.Errorf("%s: scheme must be http or https", shown)
	}
	return hostPortIn(shown, hostport)
}

// withoutIPv6 returns s with the brackets of a leading [IPv6] in hostport
// (a substring of s) removed, for the character check.
func withoutIPv6(s, hostport string) string {
	if !strings.HasPrefix(hostport, "[") {
		return s
	}
	return strings.Replace(strings.Replace(s, "[", "", 1), "]", "", 1)
}

// CloudHost returns the host[:port] of a valid cloud: the cloud itself, or
// a base URL's authority.
func CloudHost(cloud string) string {
	if _, rest, isURL := strings.Cut(cloud, "://"); isURL {
		hp, _, _ := strings.Cut(rest, "/")
		return hp
	}
	return cloud
}
