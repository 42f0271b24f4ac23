// This file holds Secrets: the values log redaction must hide.

package config

import (
	"net/url"

	"extcloud-failover/internal/ident"
)

// Secrets returns the non-empty secret values, for log redaction:
// DD_API_KEY, SUPERVISOR_PASSWORD, the values of PROBE_HEADERS and the
// passwords in the user info of SUPERVISOR_URL, CLOUDLOOKUP_URL,
// PREFLIGHT_URL, LATENCY_SERVER, WITNESS_URL and DD_LOGS_INTAKE_URL, both
// decoded and as written.
func (c *Config) Secrets() []string {
	var out []string
	add := func(s string) {
		if s != "" && !contains(out, s) {
			out = append(out, s)
		}
	}
	add(c.DDAPIKey)
	add(c.SupervisorPassword)
	for _, h := range c.ProbeHeaders {
		add(h.Value)
	}
	urls := append([]string{c.CloudlookupURL, c.PreflightURL, c.LatencyServer, c.WitnessURL, c.DDLogsIntakeURL}, c.SupervisorURLs...)
	for _, s := range urls {
		add(urlPassword(s, false))
		add(urlPassword(s, true))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// urlPassword returns the password in s's user info, decoded or as written.
func urlPassword(s string, raw bool) string {
	pw := ident.URLPassword(s)
	if raw {
		return pw
	}
	if dec, err := url.PathUnescape(pw); err == nil {
		return dec
	}
	return pw
}
