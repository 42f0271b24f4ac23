package config

import (
	"errors"
	"net/url"
	"reflect"
	"slices"
	"testing"

	"extcloud-failover/internal/ident"
)

func threeRegions() *Config {
	return &Config{Regions: []Region{
		{Name: "NAM", Cloud: "nam.example.com"},
		{Name: "EU", Cloud: "eu.example.com"},
		{Name: "APAC", Cloud: "apac.example.com"},
	}}
}

func names(rs []Region) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestFailoverOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		active string
		want   []string
	}{
		{"NAM", []string{"EU", "APAC"}},
		{"EU", []string{"NAM", "APAC"}},
		{"APAC", []string{"NAM", "EU"}},
		{"GONE", []string{"NAM", "EU", "APAC"}},
		{"", []string{"NAM", "EU", "APAC"}},
	}
	for _, tc := range tests {
		t.Run(tc.active, func(t *testing.T) {
			t.Parallel()
			c := threeRegions()
			got := c.FailoverOrder(tc.active)
			if !reflect.DeepEqual(names(got), tc.want) {
				t.Errorf("FailoverOrder(%q) = %v, want %v", tc.active, names(got), tc.want)
			}
			// The result is a copy: changing it leaves the config alone.
			if len(got) > 0 {
				got[0].Name = "CHANGED"
				if slices.ContainsFunc(c.Regions, func(r Region) bool { return r.Name == "CHANGED" }) {
					t.Error("FailoverOrder returned the config's own slice")
				}
			}
		})
	}
	one := &Config{Regions: []Region{{Name: "NAM", Cloud: "a"}}}
	if got := one.FailoverOrder("NAM"); len(got) != 0 {
		t.Errorf("single region: FailoverOrder = %v, want none", got)
	}
}

func TestPrimaryAndCloud(t *testing.T) {
	t.Parallel()
	c := threeRegions()
	if got := c.Primary(); got != "NAM" {
		t.Errorf("Primary() = %q, want NAM", got)
	}
	c.PrimaryRegion = "EU"
	if got := c.Primary(); got != "EU" {
		t.Errorf("Primary() = %q, want EU", got)
	}
	if cloud, ok := c.Cloud("APAC"); !ok || cloud != "apac.example.com" {
		t.Errorf("Cloud(APAC) = %q, %v", cloud, ok)
	}
	if cloud, ok := c.Cloud("apac"); ok || cloud != "" {
		t.Errorf("Cloud(apac) = %q, %v, want not found (names are case-sensitive)", cloud, ok)
	}
	if got := (&Config{}).Primary(); got != "" {
		t.Errorf("empty config Primary() = %q", got)
	}
}

func TestProbeURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		template string
		cloud    string
		org, txn string
		want     string
	}{
		{"default template", DefaultCloudlookupURL, "eu.example.com", "org-1", "txn-1",
			"https://eu.example.com/cloudlookup?orgId=org-1&txnId=txn-1"},
		{"host and port", "http://{cloud}/cloudlookup?orgId={org_id}&txnId={txn_id}", "127.0.0.1:8080", "o", "t",
			"http://127.0.0.1:8080/cloudlookup?orgId=o&txnId=t"},
		{"ids escaped", DefaultCloudlookupURL, "eu.example.com", "a:b", "c&d=e f",
			"https://eu.example.com/cloudlookup?orgId=a%3Ab&txnId=c%26d%3De+f"},
		{"region placeholder", "https://{cloud}/{region}/health?r={region}", "eu.example.com", "", "",
			"https://eu.example.com/EU/health?r=EU"},
		{"a placeholder inside a value is not filled", DefaultCloudlookupURL + "&r={region}", "eu.example.com", "{txn_id}", "{region}",
			"https://eu.example.com/cloudlookup?orgId=%7Btxn_id%7D&txnId=%7Bregion%7D&r=EU"},
		{"base URL replaces https://{cloud}", DefaultCloudlookupURL, "http://127.0.0.1:8080/eu", "o", "t",
			"http://127.0.0.1:8080/eu/cloudlookup?orgId=o&txnId=t"},
		{"base URL trailing slash", "https://{cloud}/x", "https://eu.example.com/", "", "",
			"https://eu.example.com/x"},
		{"base URL replaces leading {cloud}", "{cloud}/cloudlookup", "http://127.0.0.1:8080", "", "",
			"http://127.0.0.1:8080/cloudlookup"},
		{"base URL elsewhere gives host:port", "https://proxy.example.com/?to={cloud}", "http://eu.example.com:8080/p", "", "",
			"https://proxy.example.com/?to=eu.example.com:8080"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &Config{CloudlookupURL: tc.template, OrgID: tc.org, TxnID: tc.txn}
			got := c.ProbeURL(Region{Name: "EU", Cloud: tc.cloud})
			if got != tc.want {
				t.Errorf("ProbeURL\n got: %s\nwant: %s", got, tc.want)
			}
			if _, err := url.Parse(got); err != nil {
				t.Errorf("ProbeURL gives an unparsable URL: %v", err)
			}
		})
	}

	// The query values survive a round trip through url.ParseQuery.
	c := &Config{CloudlookupURL: DefaultCloudlookupURL, OrgID: "o&x=1", TxnID: "t#frag"}
	u, err := url.Parse(c.ProbeURL(Region{Name: "EU", Cloud: "eu.example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("orgId") != "o&x=1" || q.Get("txnId") != "t#frag" || q.Has("x") {
		t.Errorf("query %v, want orgId=o&x=1 and txnId=t#frag only", q)
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	env := validEnv()
	env["DD_API_KEY"] = "ddkey"
	env["SUPERVISOR_PASSWORD"] = "svpass"
	env["SUPERVISOR_URL"] = "http://admin:p%40ss@127.0.0.1:9001/RPC2,unix:///run/s.sock,http://nopass@127.0.0.1:9002"
	env["CLOUDLOOKUP_URL"] = "https://probe:tmplpw@{cloud}/cloudlookup?orgId={org_id}&txnId={txn_id}"
	env["LATENCY_SERVER"] = "http://u:latpw@speed.example.com:8080"
	env["WITNESS_URL"] = "https://u:witpw@witness.example.com/"
	env["DD_LOGS_INTAKE_URL"] = "https://u:svpass@intake.example.com/"
	c, err := FromEnv(mapEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	got := c.Secrets()
	want := []string{"ddkey", "svpass", "tmplpw", "latpw", "witpw", "p@ss", "p%40ss"}
	slices.Sort(got)
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Secrets() = %q, want %q", got, want)
	}

	c, err = FromEnv(mapEnv(validEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Secrets(); len(got) != 0 {
		t.Errorf("Secrets() with none set = %q, want none", got)
	}
}

func TestValidateHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"ok", kv{"SUPERVISOR_PROGRAMS": "app"}, ""},
		{"no programs", kv{}, "SUPERVISOR_PROGRAMS: required on the host (the supervisord programs to restart, e.g. app or web:*)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := FromEnv(errorCase{env: tc.env}.lookup())
			if err != nil {
				t.Fatal(err)
			}
			checkValidate(t, c.ValidateHost(), tc.want)
		})
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no env file", func(c *Config) { c.EnvFile = "" }, "ENV_FILE: required on the host (e.g. /opt/application/tmp/ext_cloud.env)"},
		{"no state file", func(c *Config) { c.StateFile = "" }, "STATE_FILE: required on the host (e.g. /opt/application/tmp/extcloud-failover.state.json)"},
		{"no supervisor", func(c *Config) { c.SupervisorURLs = nil }, "SUPERVISOR_URL: required on the host (e.g. unix:///var/run/supervisor.sock)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := FromEnv(errorCase{env: kv{"SUPERVISOR_PROGRAMS": "app"}}.lookup())
			if err != nil {
				t.Fatal(err)
			}
			tc.change(c)
			checkValidate(t, c.ValidateHost(), tc.want)
		})
	}
}

func TestValidateLambda(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"ok", kv{"STATE_TABLE": "state", "SSM_TARGETS": "tag:Role=app"}, ""},
		{"no table", kv{"SSM_TARGETS": "tag:Role=app"}, "STATE_TABLE: required for Lambda (the DynamoDB table, e.g. extcloud-failover-state)"},
		{"no targets", kv{"STATE_TABLE": "state"}, "SSM_TARGETS: required for Lambda (tag:Key=Value or instance IDs, e.g. tag:Role=app)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := FromEnv(errorCase{env: tc.env}.lookup())
			if err != nil {
				t.Fatal(err)
			}
			checkValidate(t, c.ValidateLambda(), tc.want)
		})
	}
	c := &Config{StateTable: "state", SSMTargets: []ident.SSMTarget{{InstanceID: "i-01234567"}}, EnvFile: DefaultEnvFile}
	checkValidate(t, c.ValidateLambda(), "STATE_KEY: required for Lambda (e.g. extcloud-failover)")
	c.StateKey, c.EnvFile = "k", ""
	checkValidate(t, c.ValidateLambda(), "ENV_FILE: required for Lambda: the path on the hosts (e.g. /opt/application/tmp/ext_cloud.env)")
}

func checkValidate(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Errorf("unexpected error: %v", err)
		}
		return
	}
	if err == nil || err.Error() != want {
		t.Errorf("error\n got: %v\nwant: %s", err, want)
		return
	}
	checkErrorLine(t, err)
}

func TestCheckRegion(t *testing.T) {
	t.Parallel()
	cfg, err := Load(func(k string) (string, bool) {
		v, ok := map[string]string{"EXT_CLOUD_FAILOVER_LIST": "NAM=nam.example.com,EU=eu.example.com", "CONNECTION_KEEPALIVE_ORG_ID": "o", "CONNECTION_KEEPALIVE_TXN_ID": "t"}[k]
		return v, ok
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cloud, err := cfg.CheckRegion("--to", "EU"); err != nil || cloud != "eu.example.com" {
		t.Errorf("CheckRegion(EU) = %q, %v", cloud, err)
	}
	_, err = cfg.CheckRegion("--to", "MARS")
	var ce *Error
	if !errors.As(err, &ce) || err.Error() != `--to: unknown region "MARS" (want NAM or EU)` {
		t.Errorf("CheckRegion(MARS) = %v", err)
	}
}
