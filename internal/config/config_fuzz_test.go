package config

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var (
	// Independent oracles for internal/ident's rules.
	fuzzRegionRE  = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,15}$`)
	fuzzProgramRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+(:([A-Za-z0-9_.-]+|\*))?$`)
	fuzzCloudRE   = regexp.MustCompile(`^[A-Za-z0-9_.:/\[\]-]{1,255}$`)
	fuzzIDRE      = regexp.MustCompile(`^[A-Za-z0-9_.:-]{0,128}$`)
	fuzzPathRE    = regexp.MustCompile(`^/[A-Za-z0-9_./-]+$`)
)

// FuzzLoad feeds arbitrary values to the variables that reach a file, a
// shell or the probe URL. Load must not panic; when it succeeds every value
// is inside its strict character set, and when it fails the error is a
// short one-line *Error.
func FuzzLoad(f *testing.F) {
	f.Add("NAM=nam.example.com,EU=eu.example.com", "EU", "app,web:*", "org-1", "txn-1", DefaultCloudlookupURL, "/opt/app/ext_cloud.env", "tag:Role=app")
	f.Add("NAM=http://127.0.0.1:8080/nam", "", "app", "o", "t", "{cloud}/x?r={region}", "", "i-0123456789abcdef0")
	f.Add("NAM=$(id)", "NAM\n", "`id`", "o'1", "t\"", "https://{cloud}/{x}", "/a b", "tag:a=b;c")
	f.Fuzz(func(t *testing.T, list, region, programs, orgID, txnID, template, envFile, targets string) {
		env := map[string]string{
			"EXT_CLOUD_FAILOVER_LIST":     list,
			"EXT_CLOUD_REGION":            region,
			"SUPERVISOR_PROGRAMS":         programs,
			"CONNECTION_KEEPALIVE_ORG_ID": orgID,
			"CONNECTION_KEEPALIVE_TXN_ID": txnID,
			"CLOUDLOOKUP_URL":             template,
			"ENV_FILE":                    envFile,
			"SSM_TARGETS":                 targets,
		}
		c, err := Load(mapEnv(env), nil)
		if err != nil {
			checkErrorLine(t, err)
			return
		}
		if len(c.Regions) == 0 {
			t.Fatal("Load succeeded without regions")
		}
		for _, r := range c.Regions {
			if !fuzzRegionRE.MatchString(r.Name) {
				t.Errorf("region %q outside [A-Z][A-Z0-9_]{0,15}", r.Name)
			}
			if !fuzzCloudRE.MatchString(r.Cloud) {
				t.Errorf("cloud %q outside the strict set", r.Cloud)
			}
			u, perr := url.Parse(c.ProbeURL(r))
			if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				t.Errorf("ProbeURL(%v) = %q is not an http(s) URL", r, c.ProbeURL(r))
			}
		}
		if _, ok := c.Cloud(c.Primary()); !ok {
			t.Errorf("primary %q is not in the list", c.Primary())
		}
		for _, p := range c.SupervisorPrograms {
			if !fuzzProgramRE.MatchString(p) {
				t.Errorf("program %q outside the strict set", p)
			}
		}
		for _, s := range []string{c.OrgID, c.TxnID, c.StateKey} {
			if !fuzzIDRE.MatchString(s) {
				t.Errorf("id %q outside the strict set", s)
			}
		}
		for _, p := range []string{c.EnvFile, c.StateFile} {
			if !fuzzPathRE.MatchString(p) || strings.Contains(p, "..") {
				t.Errorf("path %q outside the strict set", p)
			}
		}
		for _, tg := range c.SSMTargets {
			if strings.ContainsAny(tg.TagKey+tg.TagValue+tg.InstanceID, " \t\n\x00'\"`$;|&") {
				t.Errorf("SSM target %+v holds a shell character", tg)
			}
		}
	})
}
