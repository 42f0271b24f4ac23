// This file holds host names, ports, host[:port] and which hosts are
// loopback.

package ident

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

var (
	errHostname = errors.New("want a host name (letters, digits, . and -; e.g. eu.example.com)")
	errPort     = errors.New("port must be 1-65535")
)

// Hostname checks a DNS name or IPv4 address: letters, digits, . and -,
// starting and ending with a letter or digit, no empty label, at most 253
// bytes. The error does not show s.
func Hostname(h string) error {
	if h == "" || len(h) > 253 || strings.Contains(h, "..") || !alnum(h[0]) || !alnum(h[len(h)-1]) {
		return errHostname
	}
	for i := 0; i < len(h); i++ {
		if !alnum(h[i]) && h[i] != '.' && h[i] != '-' {
			return errHostname
		}
	}
	return nil
}

// Port checks a TCP or UDP port: 1-65535, no leading zero. The error does
// not show p.
func Port(p string) error {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return errPort
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return errPort
	}
	return nil
}

// HostPort checks host[:port] where host is a Hostname or a bracketed IPv6
// address ([::1]:8443). The error does not show hp.
func HostPort(hp string) error {
	host, port, hasPort := hp, "", false
	if rest, ok := strings.CutPrefix(hp, "["); ok {
		addr, after, closed := strings.Cut(rest, "]")
		if !closed || !isIPv6(addr) {
			return errors.New("want an IPv6 address in brackets (e.g. [::1]:8443)")
		}
		if after == "" {
			return nil
		}
		if port, hasPort = strings.CutPrefix(after, ":"); !hasPort {
			return errors.New("want [IPv6]:port (e.g. [::1]:8443)")
		}
		return Port(port)
	}
	host, port, hasPort = strings.Cut(hp, ":")
	if err := Hostname(host); err != nil {
		return err
	}
	if hasPort {
		return Port(port)
	}
	return nil
}

// isIPv6 reports whether s is an IPv6 address without a zone.
func isIPv6(s string) bool {
	ip := net.ParseIP(s)
	return ip != nil && strings.Contains(s, ":")
}

// IsLoopback reports whether host (a host name or an IP address without
// brackets, as url.URL.Hostname returns it) is this machine: localhost,
// 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hostPortIn checks the host[:port] hp of the value shown as shown.
func hostPortIn(shown, hp string) error {
	if err := HostPort(hp); err != nil {
		return fmt.Errorf("%s: %w", shown, err)
	}
	return nil
}
