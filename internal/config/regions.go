// This file holds regions: parsing EXT_CLOUD_FAILOVER_LIST and its clouds,
// the primary, failover order and each region's probe URL.

package config

import (
	"net/url"
	"strings"

	"extcloud-failover/internal/ident"
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

// Cloud looks region up: its cloud and whether region is in the list. See
// CheckRegion for a name the user gave.
func (c *Config) Cloud(region string) (string, bool) {
	for _, r := range c.Regions {
		if r.Name == region {
			return r.Cloud, true
		}
	}
	return "", false
}

// CheckRegion checks a region name the user gave (in field: a setting,
// flag or event field) and returns its cloud, or an *Error naming field
// and listing the configured regions.
func (c *Config) CheckRegion(field, region string) (string, error) {
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
//
// Without {cloud} (the active region probed through a local tunnel) the URL
// is the same for every region.
func (c *Config) ProbeURL(r Region) string { return c.fill(c.CloudlookupURL, r) }

// PreflightProbeURL fills PREFLIGHT_URL for r, as ProbeURL does
// CLOUDLOOKUP_URL: the URL a failover candidate is probed at, directly.
func (c *Config) PreflightProbeURL(r Region) string { return c.fill(c.PreflightURL, r) }

func (c *Config) fill(t string, r Region) string {
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
		if err := ident.Region(name); err != nil {
			return nil, errorf(field, "entry %d: region %s", i+1, err)
		}
		if seen[name] {
			return nil, errorf(field, "entry %d: duplicate region %s", i+1, quote(name))
		}
		seen[name] = true
		if err := ident.Cloud(cloud); err != nil {
			return nil, errorf(field, "entry %d (%s): cloud %s", i+1, name, err)
		}
		regions = append(regions, Region{Name: name, Cloud: cloud})
	}
	return regions, nil
}
