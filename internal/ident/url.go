// This file holds URLs: http(s) URLs, the Datadog site, supervisord
// addresses and DogStatsD addresses.

package ident

import (
	"fmt"
	"net/url"
	"strings"
)

// HTTPURL checks an http:// or https:// URL with a host and, when given, a
// valid port, of printable ASCII without spaces. The message hides a
// password in the user info.
func HTTPURL(s string) error {
	shown := QuoteURL(s)
	if err := checkChars(s, shown, urlChars); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return fmt.Errorf("%s: want an http:// or https:// URL with a host", shown)
	}
	if p := u.Port(); p != "" && Port(p) != nil {
		return fmt.Errorf("%s: %w", shown, errPort)
	}
	return nil
}

// DatadogSite checks DD_SITE: a host name (datadoghq.com, datadoghq.eu) or
// the base URL of a proxy or test server (https://proxy.example.com:8443,
// with nothing after the authority but an optional "/", and no user info).
func DatadogSite(s string) error {
	shown := Quote(s)
	if !strings.Contains(s, "://") {
		if Hostname(s) != nil {
			return fmt.Errorf("%s is not a host name (want e.g. datadoghq.com or datadoghq.eu)", shown)
		}
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || badChar(s, urlChars) != "" || (u.Scheme != "http" && u.Scheme != "https") || HostPort(u.Host) != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || u.User != nil {
		return fmt.Errorf("%s is neither a host name nor a base URL (want e.g. datadoghq.com or https://proxy.example.com:8443)", QuoteURL(s))
	}
	return nil
}

// SupervisorURL checks a supervisord XML-RPC address: unix:///path.sock
// (an absolute path of A-Z a-z 0-9 _ . / -) or http(s)://host[:port] with
// an empty path or /RPC2. The message hides a password.
func SupervisorURL(s string) error {
	shown := QuoteURL(s)
	if sock, ok := strings.CutPrefix(s, "unix://"); ok {
		if c := badChar(sock, pathChars); c != "" {
			return fmt.Errorf("%s: %s not allowed in a socket path (want %s)", shown, c, pathChars.desc)
		}
		if !strings.HasPrefix(sock, "/") || sock == "/" {
			return fmt.Errorf("%s: want an absolute socket path (e.g. unix:///var/run/supervisor.sock)", shown)
		}
		return nil
	}
	if err := checkChars(s, shown, urlChars); err != nil {
		return err
	}
	u, err := url.Parse(s)
	var problem string
	switch {
	case err != nil || u.Opaque != "" || (u.Scheme != "http" && u.Scheme != "https"):
		problem = "want unix:///path/to/supervisor.sock or http(s)://host:port[/RPC2]"
	case u.Hostname() == "":
		problem = "want a host (e.g. http://127.0.0.1:9001/RPC2)"
	case u.Port() != "" && Port(u.Port()) != nil:
		problem = errPort.Error()
	case u.Path != "" && u.Path != "/" && u.Path != "/RPC2":
		problem = "path must be empty or /RPC2"
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		problem = "no query or fragment"
	default:
		return nil
	}
	return fmt.Errorf("%s: %s", shown, problem)
}

// DogStatsdURL checks a DogStatsD address: udp://host[:port] or
// unix:///path (also unixgram:// and unixstream://).
func DogStatsdURL(s string) error {
	ok := false
	if badChar(s, urlChars) == "" {
		if u, err := url.Parse(s); err == nil {
			switch u.Scheme {
			case "udp":
				ok = u.Hostname() != "" && (u.Port() == "" || Port(u.Port()) == nil) && (u.Path == "" || u.Path == "/")
			case "unix", "unixgram", "unixstream":
				ok = u.Host == "" && strings.HasPrefix(u.Path, "/") && badChar(u.Path, pathChars) == ""
			}
		}
	}
	if !ok {
		return fmt.Errorf("%s: want udp://host:port or unix:///path/to/dsd.socket", Quote(s))
	}
	return nil
}
