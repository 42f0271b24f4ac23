package config

import (
	"net/url"
	"strings"
)

// Primary returns the region active when there is no state yet:
// EXT_CLOUD_REGION, else the first region of the list.
func (c *Config) Primary() string {
	if c.PrimaryRegion != "" {
		return c.PrimaryRegion
	}
	if len(c.Regions) > 0 {
		return c.Regions[0].Name
	}
	return ""
}

// Cloud returns region's cloud and whether region is in the list.
func (c *Config) Cloud(region string) (string, bool) {
	for _, r := range c.Regions {
		if r.Name == region {
			return r.Cloud, true
		}
	}
	return "", false
}

// CloudOf returns region's cloud, or an *Error for field (the setting or
// flag the name came from) listing the configured regions.
func (c *Config) CloudOf(field, region string) (string, error) {
	if cloud, ok := c.Cloud(region); ok {
		return cloud, nil
	}
	names := make([]string, len(c.Regions))
	for i, r := range c.Regions {
		names[i] = r.Name
	}
	return "", errorf(field, "unknown region %s (want %s)", quote(region), wantList(names))
}

// FailoverOrder returns the failover candidates when active is down: the
// list in preference order without active, as the Python handler chose
// (NAM,EU,APAC with EU active: NAM, then APAC). An active region that is not
// in the list gives the whole list.
func (c *Config) FailoverOrder(active string) []Region {
	out := make([]Region, 0, len(c.Regions))
	for _, r := range c.Regions {
		if r.Name != active {
			out = append(out, r)
		}
	}
	return out
}

// ProbeURL fills CLOUDLOOKUP_URL for r. {region}, {org_id} and {txn_id} are
// query-escaped. {cloud} is r.Cloud as given when the cloud is host[:port].
// When the cloud is a base URL (http://127.0.0.1:8080/nam), it replaces a
// leading "{cloud}", "http://{cloud}" or "https://{cloud}" of the template
// whole, keeping its own scheme and path; elsewhere {cloud} is its
// host[:port]. Clouds are validated by Load, so they need no escaping.
//
// No filled-in value can hold a "{" (clouds and regions refuse it, the ids
// are escaped), so replacing the placeholders one after the other is the
// same as replacing them at once, without building a strings.Replacer on
// every call.
func (c *Config) ProbeURL(r Region) string {
	t := c.CloudlookupURL
	cloud, prefix := r.Cloud, ""
	if _, rest, isURL := strings.Cut(r.Cloud, "://"); isURL {
		for _, lead := range []string{"{cloud}", "http://{cloud}", "https://{cloud}"} {
			if after, ok := strings.CutPrefix(t, lead); ok {
				prefix, t = strings.TrimSuffix(r.Cloud, "/"), after
				break
			}
		}
		cloud, _, _ = strings.Cut(rest, "/")
	}
	t = strings.ReplaceAll(t, "{cloud}", cloud)
	t = strings.ReplaceAll(t, "{region}", url.QueryEscape(r.Name))
	t = strings.ReplaceAll(t, "{org_id}", url.QueryEscape(c.OrgID))
	t = strings.ReplaceAll(t, "{txn_id}", url.QueryEscape(c.TxnID))
	return prefix + t
}

// probeHost returns the host name a probe URL connects to, or "" when it
// does not parse.
func probeHost(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Hostname()
}

// Secrets returns the non-empty secret values, for log redaction:
// DD_API_KEY, SUPERVISOR_PASSWORD and passwords in the user info of
// SUPERVISOR_URL, CLOUDLOOKUP_URL, LATENCY_SERVER, WITNESS_URL and
// DD_LOGS_INTAKE_URL, both decoded and as written.
func (c *Config) Secrets() []string {
	var out []string
	add := func(s string) {
		if s != "" && !contains(out, s) {
			out = append(out, s)
		}
	}
	add(c.DDAPIKey)
	add(c.SupervisorPassword)
	urls := append([]string{c.CloudlookupURL, c.LatencyServer, c.WitnessURL, c.DDLogsIntakeURL}, c.SupervisorURLs...)
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
	_, _, pw, _ := userinfo(s)
	if raw {
		return pw
	}
	if dec, err := url.PathUnescape(pw); err == nil {
		return dec
	}
	return pw
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
