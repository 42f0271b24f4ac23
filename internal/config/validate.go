// This file holds validation: the checks that span several settings
// (crossCheck), CLOUDLOOKUP_URL's template, and what the host and Lambda
// paths require. What one value may be is internal/ident's.

package config

import (
	"strings"

	"extcloud-failover/internal/ident"
)

// crossCheck validates what depends on more than one setting.
func (l *loader) crossCheck(c *Config) error {
	if c.PrimaryRegion != "" {
		if _, err := c.CheckRegion(l.field("EXT_CLOUD_REGION"), c.PrimaryRegion); err != nil {
			return err
		}
	}
	if c.PreflightURL == "" && strings.Contains(c.CloudlookupURL, "{cloud}") {
		c.PreflightURL = c.CloudlookupURL
	}
	if !l.decisionOnly {
		if err := l.requireProbeSettings(c); err != nil {
			return err
		}
	}
	for _, r := range c.Regions {
		if err := ident.HTTPURL(c.ProbeURL(r)); err != nil {
			return errorf(l.field("CLOUDLOOKUP_URL"), "for %s gives %s", r.Name, err)
		}
		if c.PreflightURL == "" {
			continue // decision only: nothing is pre-flighted
		}
		if err := ident.HTTPURL(c.PreflightProbeURL(r)); err != nil {
			return errorf(l.field("PREFLIGHT_URL"), "for %s gives %s", r.Name, err)
		}
	}
	if c.ProbeInsecureSkipVerify {
		for _, r := range c.Regions {
			if h := probeHost(c.ProbeURL(r)); !ident.IsLoopback(h) {
				return errorf(l.field("PROBE_INSECURE_SKIP_VERIFY"), "allowed only for loopback probe hosts (got %s)", quote(h))
			}
		}
	}
	if c.OutageMaxGap < c.ProbeInterval {
		return errorf(l.field("OUTAGE_MAX_GAP"), "%s must be at least %s (%s): every run would restart the outage clock", c.OutageMaxGap, l.field("PROBE_INTERVAL"), c.ProbeInterval)
	}
	if c.ProbeTimeout >= c.CheckTimeout {
		return errorf(l.field("PROBE_TIMEOUT"), "%s must be less than %s (%s)", c.ProbeTimeout, l.field("CHECK_TIMEOUT"), c.CheckTimeout)
	}
	if c.LatencyTimeout >= c.CheckTimeout {
		return errorf(l.field("LATENCY_TIMEOUT"), "%s must be less than %s (%s)", c.LatencyTimeout, l.field("CHECK_TIMEOUT"), c.CheckTimeout)
	}
	return guard(c, l.field)
}

// checkTemplate validates CLOUDLOOKUP_URL or PREFLIGHT_URL before
// substitution; needCloud requires {cloud}.
func checkTemplate(field, s string, needCloud bool) error {
	if len(s) > maxTemplate {
		return errorf(field, "%d bytes (want at most %d)", len(s), maxTemplate)
	}
	if err := ident.URLChars(s); err != nil {
		return errorf(field, "%s", err)
	}
	for _, p := range placeholders(s) {
		switch p {
		case "{cloud}", "{region}", "{org_id}", "{txn_id}":
		default:
			return errorf(field, "unknown placeholder %s (want {cloud}, {region}, {org_id} or {txn_id})", quote(p))
		}
	}
	if needCloud && !strings.Contains(s, "{cloud}") {
		return errorf(field, "no {cloud} placeholder: a candidate is pre-flighted directly at its cloud (e.g. %s)", examplePreflightURL)
	}
	return nil
}

// examplePreflightURL is PREFLIGHT_URL for the Python handler's layout.
const examplePreflightURL = "https://{cloud}/v2/{org_id}/cloudlookup/{txn_id}"

// placeholders returns the {...} of a template from left to right; a "{"
// inside one starts the next.
func placeholders(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return out
		}
		s = s[i:]
		j := strings.IndexAny(s[1:], "{}")
		switch {
		case j < 0:
			return out
		case s[1+j] == '}':
			out = append(out, s[:j+2])
			s = s[j+2:]
		default:
			s = s[1+j:]
		}
	}
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
	case strings.Contains(c.DDSite, "://") && c.DDAPIKey != "" && c.DDLogsIntakeURL == "":
		return errorf("DD_SITE", "a base URL is for Lambda only (on the host set DD_LOGS_INTAKE_URL, e.g. https://logs-proxy.example.com/api/v2/logs)")
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

// requireProbeSettings checks that the probe URLs can be filled: a
// PREFLIGHT_URL when CLOUDLOOKUP_URL has no {cloud}, and the ids their
// placeholders name. Only what probes needs them (see LoadDecision).
func (l *loader) requireProbeSettings(c *Config) error {
	if c.PreflightURL == "" {
		return errorf("PREFLIGHT_URL", "required when %s has no {cloud}: the candidates cannot be reached through it and are pre-flighted directly (e.g. %s)",
			l.field("CLOUDLOOKUP_URL"), examplePreflightURL)
	}
	templates := []struct{ env, value string }{{"CLOUDLOOKUP_URL", c.CloudlookupURL}, {"PREFLIGHT_URL", c.PreflightURL}}
	for _, id := range []struct{ place, env, value, example string }{
		{"{org_id}", "CONNECTION_KEEPALIVE_ORG_ID", c.OrgID, "1234"},
		{"{txn_id}", "CONNECTION_KEEPALIVE_TXN_ID", c.TxnID, "keepalive-1"},
	} {
		for _, tp := range templates {
			if id.value == "" && strings.Contains(tp.value, id.place) {
				return errorf(id.env, "required by %s in %s (e.g. %s=%s)", id.place, tp.env, id.env, id.example)
			}
		}
	}
	return nil
}
