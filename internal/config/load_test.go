package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"extcloud-failover/internal/ident"
)

// maxErrorLen bounds any error line, whatever the input.
const maxErrorLen = 512

// checkErrorLine asserts err is a one-line *Error of bounded length whose
// text starts with its Field.
func checkErrorLine(t *testing.T, err error) *Error {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *config.Error", err, err)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r\x00") {
		t.Errorf("error is not one line: %q", msg)
	}
	if len(msg) > maxErrorLen {
		t.Errorf("error is %d bytes, want at most %d: %.200q", len(msg), maxErrorLen, msg)
	}
	if !strings.HasPrefix(msg, ce.Field+": ") || ce.Field == "" {
		t.Errorf("error %q does not start with its field %q", msg, ce.Field)
	}
	return ce
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, tc := range errorCases() {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(tc.lookup(), tc.over)
			if err == nil {
				t.Fatalf("Load succeeded with %+v, want error %q", c, tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error shows a secret: %s", err)
			}
			checkErrorLine(t, err)
		})
	}
}

// TestEveryVariableHasABadCase keeps the golden table complete: each
// variable that can be wrong has at least one case naming it.
func TestEveryVariableHasABadCase(t *testing.T) {
	t.Parallel()
	named := map[string]bool{}
	for _, tc := range errorCases() {
		field, _, _ := strings.Cut(tc.want, ":")
		named[field] = true
	}
	for _, v := range variables {
		if !named[v.env] && !named[dashed(v.flagName())] {
			t.Errorf("no bad-value case pins an error for %s", v.env)
		}
	}
}

func TestFromEnvErrorsMatchLoad(t *testing.T) {
	t.Parallel()
	for _, tc := range errorCases() {
		if len(tc.over) > 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := FromEnv(tc.lookup())
			if err == nil || err.Error() != tc.want {
				t.Errorf("FromEnv error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(mapEnv(validEnv()), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Regions: []Region{
			{Name: "NAM", Cloud: "nam.example.com"},
			{Name: "EU", Cloud: "eu.example.com"},
			{Name: "APAC", Cloud: "apac.example.com"},
		},
		OrgID:               "org-1",
		TxnID:               "txn-1",
		CloudlookupURL:      "https://{cloud}/cloudlookup?orgId={org_id}&txnId={txn_id}",
		PreflightURL:        "https://{cloud}/cloudlookup?orgId={org_id}&txnId={txn_id}",
		ProbeTimeout:        5 * time.Second,
		ProbeInterval:       10 * time.Second,
		FailoverThreshold:   4 * time.Minute,
		FailoverMinInterval: 10 * time.Minute,
		CheckTimeout:        30 * time.Second,
		RecoveryProbes:      3,
		OutageMaxGap:        90 * time.Second,
		Failback:            "off",
		FailbackAfter:       30 * time.Minute,
		FailoverBudget:      3,
		StateFile:           "/opt/application/tmp/extcloud-failover.state.json",
		StateKey:            "extcloud-failover",
		EnvFile:             "/opt/application/tmp/ext_cloud.env",
		EnvFileFormat:       "shell",
		SupervisorURLs:      []string{"unix:///var/run/supervisor.sock"},
		PushConcurrency:     16,
		SSMMaxConcurrency:   "50",
		SSMMaxErrors:        "100%",
		SSMCommandTimeout:   300 * time.Second,
		LatencyCheck:        "on-failure",
		LatencyTimeout:      3 * time.Second,
		LatencyInterval:     5 * time.Minute,
		DDSite:              "datadoghq.com",
		DDService:           "extcloud-failover",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults\n got: %+v\nwant: %+v", c, want)
	}
	if got := c.Primary(); got != "NAM" {
		t.Errorf("Primary() = %q, want NAM (the first region)", got)
	}
}

// TestEverySetting sets every variable from the environment and checks the
// field it lands in.
func TestEverySetting(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"EXT_CLOUD_FAILOVER_LIST":     "EU=https://eu.example.com/base,NAM=nam.example.com:8443",
		"EXT_CLOUD_REGION":            "NAM",
		"CONNECTION_KEEPALIVE_ORG_ID": "org:1",
		"CONNECTION_KEEPALIVE_TXN_ID": "txn.1",
		"CLOUDLOOKUP_URL":             "https://{cloud}/lookup?o={org_id}&t={txn_id}&r={region}",
		"PREFLIGHT_URL":               "https://{cloud}/pre?o={org_id}",
		"PROBE_HEADERS":               "X-SIG-Sha256: e3b0, Authorization: Bearer abc",
		"PROBE_TIMEOUT":               "2s",
		"PROBE_INTERVAL":              "15s",
		"PROBE_EXPECT":                `"status":"ok"`,
		"PROBE_INSECURE_SKIP_VERIFY":  "false",
		"FAILOVER_THRESHOLD":          "90s",
		"FAILOVER_MIN_INTERVAL":       "0",
		"CHECK_TIMEOUT":               "20s",
		"RECOVERY_PROBES":             "5",
		"OUTAGE_MAX_GAP":              "2m",
		"FAILBACK":                    "primary",
		"FAILBACK_AFTER":              "1h",
		"FAILOVER_BUDGET":             "0",
		"ENV_FILE":                    "/srv/app/ext_cloud.env",
		"ENV_FILE_FORMAT":             "plain",
		"STATE_FILE":                  "/var/lib/extcloud/state.json",
		"STATE_TABLE":                 "failover-state",
		"STATE_KEY":                   "prod:app",
		"SUPERVISOR_URL":              "unix:///run/a.sock, http://127.0.0.1:9001/RPC2",
		"SUPERVISOR_USERNAME":         "admin",
		"SUPERVISOR_PASSWORD":         "s3cret",
		"SUPERVISOR_PROGRAMS":         "app,web:*,worker:w1",
		"PUSH_CONCURRENCY":            "4",
		"SSM_TARGETS":                 "tag:Role=app,i-0123456789abcdef0,mi-0123456789abcdef0",
		"SSM_MAX_CONCURRENCY":         "10%",
		"SSM_MAX_ERRORS":              "0",
		"SSM_COMMAND_TIMEOUT":         "120s",
		"LATENCY_CHECK":               "always",
		"LATENCY_SERVER":              "http://speedtest.example.com:8080/upload.php",
		"LATENCY_TIMEOUT":             "1s",
		"LATENCY_INTERVAL":            "1m",
		"WITNESS_URL":                 "https://witness.example.com/",
		"DD_API_KEY":                  "0123456789abcdef",
		"DD_SITE":                     "datadoghq.eu",
		"DD_SERVICE":                  "failover",
		"DD_LOGS_INTAKE_URL":          "http://127.0.0.1:9999/v1/input",
		"DD_AGENT_HOST":               "127.0.0.1:8125",
		"DD_DOGSTATSD_URL":            "unix:///var/run/datadog/dsd.socket",
		"DD_TAGS":                     "env:prod, team:sre,app:x",
		"DRY_RUN":                     "1",
	}
	for _, v := range variables {
		if _, ok := env[v.env]; !ok {
			t.Fatalf("test does not set %s", v.env)
		}
	}
	c, err := FromEnv(mapEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Regions:                 []Region{{Name: "EU", Cloud: "https://eu.example.com/base"}, {Name: "NAM", Cloud: "nam.example.com:8443"}},
		PrimaryRegion:           "NAM",
		OrgID:                   "org:1",
		TxnID:                   "txn.1",
		CloudlookupURL:          "https://{cloud}/lookup?o={org_id}&t={txn_id}&r={region}",
		PreflightURL:            "https://{cloud}/pre?o={org_id}",
		ProbeHeaders:            []Header{{"X-SIG-Sha256", "e3b0"}, {"Authorization", "Bearer abc"}},
		ProbeTimeout:            2 * time.Second,
		ProbeExpect:             `"status":"ok"`,
		ProbeInterval:           15 * time.Second,
		FailoverThreshold:       90 * time.Second,
		FailoverMinInterval:     0,
		CheckTimeout:            20 * time.Second,
		RecoveryProbes:          5,
		OutageMaxGap:            2 * time.Minute,
		Failback:                "primary",
		FailbackAfter:           time.Hour,
		FailoverBudget:          0,
		StateFile:               "/var/lib/extcloud/state.json",
		StateTable:              "failover-state",
		StateKey:                "prod:app",
		EnvFile:                 "/srv/app/ext_cloud.env",
		EnvFileFormat:           "plain",
		SupervisorURLs:          []string{"unix:///run/a.sock", "http://127.0.0.1:9001/RPC2"},
		SupervisorUsername:      "admin",
		SupervisorPassword:      "s3cret",
		SupervisorPrograms:      []string{"app", "web:*", "worker:w1"},
		PushConcurrency:         4,
		SSMTargets:              []ident.SSMTarget{{TagKey: "Role", TagValue: "app"}, {InstanceID: "i-0123456789abcdef0"}, {InstanceID: "mi-0123456789abcdef0"}},
		SSMMaxConcurrency:       "10%",
		SSMMaxErrors:            "0",
		SSMCommandTimeout:       120 * time.Second,
		LatencyCheck:            "always",
		LatencyServer:           "http://speedtest.example.com:8080/upload.php",
		LatencyTimeout:          time.Second,
		LatencyInterval:         time.Minute,
		WitnessURL:              "https://witness.example.com/",
		DDAPIKey:                "0123456789abcdef",
		DDSite:                  "datadoghq.eu",
		DDService:               "failover",
		DDLogsIntakeURL:         "http://127.0.0.1:9999/v1/input",
		DDAgentHost:             "127.0.0.1:8125",
		DDDogstatsdURL:          "unix:///var/run/datadog/dsd.socket",
		DDTags:                  "env:prod, team:sre,app:x",
		DryRun:                  true,
		ProbeInsecureSkipVerify: false,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("config\n got: %+v\nwant: %+v", c, want)
	}
	if err := c.ValidateHost(); err != nil {
		t.Errorf("ValidateHost: %v", err)
	}
	if err := c.ValidateLambda(); err != nil {
		t.Errorf("ValidateLambda: %v", err)
	}
}

// TestPrecedence covers defaults, the environment and overrides; the flags
// that make the overrides are cmd/cron's (TestFlagPrecedence there).
func TestPrecedence(t *testing.T) {
	t.Parallel()
	env := validEnv()
	env["PROBE_TIMEOUT"] = "7s"
	env["FAILOVER_THRESHOLD"] = "2m"
	env["EXT_CLOUD_REGION"] = "EU"
	env["SUPERVISOR_PROGRAMS"] = "from-env"
	env["PUSH_CONCURRENCY"] = "8"
	o := func(env, field, value string) Override { return Override{Env: env, Field: field, Value: value} }
	tests := []struct {
		name  string
		over  []Override
		check func(*Config) bool
		what  string
	}{
		{"env over default", nil, func(c *Config) bool { return c.ProbeTimeout == 7*time.Second && c.FailoverThreshold == 2*time.Minute }, "PROBE_TIMEOUT 7s, FAILOVER_THRESHOLD 2m"},
		{"override over env", []Override{o("PROBE_TIMEOUT", "--probe-timeout", "3s"), o("FAILOVER_THRESHOLD", "--failover-threshold", "1m")},
			func(c *Config) bool { return c.ProbeTimeout == 3*time.Second && c.FailoverThreshold == time.Minute }, "3s, 1m"},
		{"override over default", []Override{o("LATENCY_CHECK", "--latency-check", "off")}, func(c *Config) bool { return c.LatencyCheck == LatencyOff }, "latency off"},
		{"list override over env", []Override{o("SUPERVISOR_PROGRAMS", "--supervisor-programs", "a,b")}, func(c *Config) bool { return reflect.DeepEqual(c.SupervisorPrograms, []string{"a", "b"}) }, "programs a,b"},
		{"empty override means default", []Override{o("PUSH_CONCURRENCY", "--push-concurrency", "")}, func(c *Config) bool { return c.PushConcurrency == 16 }, "push concurrency 16"},
		{"last override wins", []Override{o("PUSH_CONCURRENCY", "--push-concurrency", "2"), o("PUSH_CONCURRENCY", "--push-concurrency", "3")}, func(c *Config) bool { return c.PushConcurrency == 3 }, "push concurrency 3"},
		{"empty after a value means default", []Override{o("PUSH_CONCURRENCY", "--push-concurrency", "2"), o("PUSH_CONCURRENCY", "--push-concurrency", "")}, func(c *Config) bool { return c.PushConcurrency == 16 }, "push concurrency 16"},
		{"region from env", nil, func(c *Config) bool { return c.PrimaryRegion == "EU" && c.Primary() == "EU" }, "region EU"},
		{"region override over env", []Override{o("EXT_CLOUD_REGION", "-r", "APAC")}, func(c *Config) bool { return c.Primary() == "APAC" }, "region APAC"},
		{"state file follows env file override", []Override{o("ENV_FILE", "--env-file", "/srv/x/app.env")}, func(c *Config) bool { return c.StateFile == "/srv/x/extcloud-failover.state.json" }, "state file next to env file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(mapEnv(env), tc.over)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("Load(%+v): got %+v, want %s", tc.over, c, tc.what)
			}
		})
	}
}

func TestOverrideFieldNames(t *testing.T) {
	t.Parallel()
	env := validEnv()
	env["PROBE_TIMEOUT"] = "bad"
	// The override replaces the bad environment value entirely.
	if _, err := Load(mapEnv(env), []Override{{"PROBE_TIMEOUT", "--probe-timeout", "1s"}}); err != nil {
		t.Fatalf("an override should replace the bad environment value: %v", err)
	}
	_, err := Load(mapEnv(env), nil)
	if ce := checkErrorLine(t, err); ce.Field != "PROBE_TIMEOUT" {
		t.Errorf("Field = %q, want PROBE_TIMEOUT", ce.Field)
	}
	_, err = Load(mapEnv(validEnv()), []Override{{"PROBE_TIMEOUT", "-probe-timeout", "x"}})
	if ce := checkErrorLine(t, err); ce.Field != "-probe-timeout" {
		t.Errorf("Field = %q, want -probe-timeout", ce.Field)
	}
}

// TestVariables checks the table the command line builds its flags from.
func TestVariables(t *testing.T) {
	t.Parallel()
	vars := Variables()
	if len(vars) != len(variables) {
		t.Fatalf("%d variables, want %d", len(vars), len(variables))
	}
	seen := map[string]string{}
	for _, v := range vars {
		if v.Help == "" || len(v.Flags) == 0 {
			t.Fatalf("%s: no help or no flags: %+v", v.Env, v)
		}
		if kebab := "--" + strings.ReplaceAll(strings.ToLower(v.Env), "_", "-"); v.Flags[len(v.Flags)-1] != kebab {
			t.Errorf("%s: last flag %q, want %s", v.Env, v.Flags[len(v.Flags)-1], kebab)
		}
		for _, f := range v.Flags {
			if other, dup := seen[f]; dup {
				t.Errorf("flag %s names both %s and %s", f, other, v.Env)
			}
			seen[f] = v.Env
		}
	}
	want := Variable{Env: "EXT_CLOUD_REGION", Flags: []string{"-r", "--region", "--ext-cloud-region"}, Meta: "REGION",
		Help: "the primary region, active when there is no state yet", DefaultDoc: "the first region of the list"}
	if !reflect.DeepEqual(vars[1], want) {
		t.Errorf("Variables()[1] = %+v, want %+v", vars[1], want)
	}
	if v := vars[len(vars)-1]; v.Env != "DRY_RUN" || !v.IsBool() || v.Default != "false" {
		t.Errorf("last variable %+v, want DRY_RUN, a boolean defaulting to false", v)
	}
}

func TestNilLookupIsEmptyEnvironment(t *testing.T) {
	t.Parallel()
	_, err := FromEnv(nil)
	want := "EXT_CLOUD_FAILOVER_LIST: empty (want REGION=CLOUD,... e.g. NAM=nam.example.com,EU=eu.example.com)"
	if err == nil || err.Error() != want {
		t.Errorf("FromEnv(nil) error = %v, want %q", err, want)
	}
	c, err := Load(nil, []Override{{"EXT_CLOUD_FAILOVER_LIST", "--ext-cloud-failover-list", "NAM=127.0.0.1:1,EU=127.0.0.1:2"}, {"CLOUDLOOKUP_URL", "--cloudlookup-url", "http://{cloud}/"}})
	if err != nil || c.Primary() != "NAM" {
		t.Errorf("Load with overrides only: %v, %+v", err, c)
	}
}

func TestLoopbackInsecure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		list string
		ok   bool
	}{
		{"NAM=127.0.0.1:8443,EU=localhost:9443,APAC=127.1.2.3", true},
		{"NAM=https://127.0.0.1:8443/nam,EU=LOCALHOST", true},
		{"NAM=127.0.0.1:8443,EU=10.0.0.1", false},
		{"NAM=localhost.example.com", false},
		{"NAM=[::1]:8443,EU=https://[::1]:9443/eu", true},
		{"NAM=[::1]:8443,EU=[2001:db8::1]:8443", false},
	}
	for _, tc := range tests {
		t.Run(tc.list, func(t *testing.T) {
			t.Parallel()
			env := validEnv()
			env["EXT_CLOUD_FAILOVER_LIST"] = tc.list
			env["PROBE_INSECURE_SKIP_VERIFY"] = "true"
			c, err := FromEnv(mapEnv(env))
			if (err == nil) != tc.ok {
				t.Fatalf("FromEnv: %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && !c.ProbeInsecureSkipVerify {
				t.Error("ProbeInsecureSkipVerify not set")
			}
		})
	}
}

// TestHostileInputsRefused sends each hostile value to each variable that
// ends up in a file or a shell.
func TestHostileInputsRefused(t *testing.T) {
	t.Parallel()
	hostile := map[string]string{
		"newline": "a\nb", "command substitution": "$(id)", "variable": "$HOME", "backtick": "`id`",
		"single quote": "a'b", "double quote": `a"b`, "space": "a b", "semicolon": "a;b",
		"pipe": "a|b", "ampersand": "a&b", "NUL": "a\x00b", "non-UTF-8": "a\xffb", "tab": "a\tb",
		"1 MB": strings.Repeat("a$", 1<<19),
	}
	wrap := map[string]func(string) string{
		"EXT_CLOUD_FAILOVER_LIST":     func(s string) string { return "NAM=" + s },
		"EXT_CLOUD_FAILOVER_LIST ":    func(s string) string { return "N" + s + "=nam.example.com" },
		"EXT_CLOUD_REGION":            func(s string) string { return "NAM" + s },
		"CONNECTION_KEEPALIVE_ORG_ID": func(s string) string { return s },
		"CONNECTION_KEEPALIVE_TXN_ID": func(s string) string { return s },
		"SUPERVISOR_PROGRAMS":         func(s string) string { return "app" + s },
		"ENV_FILE":                    func(s string) string { return "/opt/" + s },
		"STATE_FILE":                  func(s string) string { return "/opt/" + s },
		"STATE_KEY":                   func(s string) string { return s },
		"SSM_TARGETS":                 func(s string) string { return "tag:Role=" + s },
	}
	for env, w := range wrap {
		for hname, h := range hostile {
			t.Run(strings.TrimSpace(env)+"/"+hname, func(t *testing.T) {
				t.Parallel()
				vars := validEnv()
				vars[strings.TrimSpace(env)] = w(h)
				c, err := Load(mapEnv(vars), nil)
				if err == nil {
					t.Fatalf("accepted: %+v", c)
				}
				ce := checkErrorLine(t, err)
				if ce.Field != strings.TrimSpace(env) {
					t.Errorf("Field = %q, want %s", ce.Field, strings.TrimSpace(env))
				}
			})
		}
	}
}

// TestSecretValuesNeverShown sets each secret to bad values and checks the
// error does not echo them.
func TestSecretValuesNeverShown(t *testing.T) {
	t.Parallel()
	secrets := 0
	for _, v := range variables {
		if !v.secret {
			continue
		}
		secrets++
		for _, bad := range []string{"hunter2 x", "hunter2\n", "hunter2\xff", strings.Repeat("hunter2", 20000)} {
			env := validEnv()
			env[v.env] = bad
			_, err := FromEnv(mapEnv(env))
			if err == nil {
				t.Errorf("%s=%.20q accepted", v.env, bad)
				continue
			}
			checkErrorLine(t, err)
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("%s: error shows the secret: %s", v.env, err)
			}
		}
	}
	if secrets != 3 {
		t.Errorf("%d secret variables, want 3 (DD_API_KEY, SUPERVISOR_PASSWORD, PROBE_HEADERS)", secrets)
	}
}

// TestIPv6LoopbackCloud: a cloud may be [::1]:port (issue 11), it fills
// the template with its brackets and counts as loopback.
func TestIPv6LoopbackCloud(t *testing.T) {
	t.Parallel()
	env := validEnv()
	env["EXT_CLOUD_FAILOVER_LIST"] = "NAM=[::1]:8443,EU=http://[::1]:8080/eu"
	env["PROBE_INSECURE_SKIP_VERIFY"] = "true"
	c, err := FromEnv(mapEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	for r, want := range map[Region]string{
		c.Regions[0]: "https://[::1]:8443/cloudlookup?orgId=org-1&txnId=txn-1",
		c.Regions[1]: "http://[::1]:8080/eu/cloudlookup?orgId=org-1&txnId=txn-1",
	} {
		if got := c.ProbeURL(r); got != want {
			t.Errorf("ProbeURL(%v) = %q, want %q", r, got, want)
		}
	}
}

// TestDatadogSite: DD_SITE is a host name or, for a proxy or a test server,
// a base URL, which datadog-lambda-go posts to as <url>/api/v1.
func TestDatadogSite(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ site, want string }{
		{"datadoghq.eu", "datadoghq.eu"},
		{"https://proxy.example.com:8443/", "https://proxy.example.com:8443"},
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"http://[::1]:9000", "http://[::1]:9000"},
	} {
		env := validEnv()
		env["DD_SITE"] = tt.site
		c, err := FromEnv(mapEnv(env))
		if err != nil || c.DDSite != tt.want {
			t.Errorf("DD_SITE=%s: %v, DDSite %q; want %q", tt.site, err, c.DDSite, tt.want)
		}
	}
	// On the host the logs intake is derived from a site name, so a base
	// URL needs DD_LOGS_INTAKE_URL when logs are sent.
	env := validEnv()
	env["DD_SITE"] = "https://proxy.example.com:8443"
	env["DD_API_KEY"] = "0123456789abcdef"
	env["SUPERVISOR_PROGRAMS"] = "app"
	c, err := FromEnv(mapEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	want := "DD_SITE: a base URL is for Lambda only (on the host set DD_LOGS_INTAKE_URL, e.g. https://logs-proxy.example.com/api/v2/logs)"
	if err := c.ValidateHost(); err == nil || err.Error() != want {
		t.Errorf("ValidateHost = %v, want %q", err, want)
	}
	c.DDLogsIntakeURL = "https://logs-proxy.example.com/api/v2/logs"
	if err := c.ValidateHost(); err != nil {
		t.Errorf("ValidateHost with an intake URL = %v", err)
	}
	if err := c.ValidateLambda(); err == nil || !strings.HasPrefix(err.Error(), "STATE_TABLE: ") {
		t.Errorf("ValidateLambda = %v, want only STATE_TABLE missing", err)
	}
}

// TestLoadDecision: what only decides needs neither the probe ids nor
// PREFLIGHT_URL, which Load requires; every value given is still checked.
func TestLoadDecision(t *testing.T) {
	t.Parallel()
	list := "NAM=nam.example.com,EU=eu.example.com"
	tunnel := "https://localhost:8443/v2/{org_id}/cloudlookup/{txn_id}"
	tests := []struct {
		name     string
		env      map[string]string
		loadErr  string // Load's error
		decision string // LoadDecision's error, "" for none
	}{
		{"only the list", map[string]string{"EXT_CLOUD_FAILOVER_LIST": list},
			"CONNECTION_KEEPALIVE_ORG_ID: required by {org_id} in CLOUDLOOKUP_URL (e.g. CONNECTION_KEEPALIVE_ORG_ID=1234)", ""},
		{"a tunnel without PREFLIGHT_URL", map[string]string{"EXT_CLOUD_FAILOVER_LIST": list, "CLOUDLOOKUP_URL": tunnel},
			"PREFLIGHT_URL: required when CLOUDLOOKUP_URL has no {cloud}: the candidates cannot be reached through it and are pre-flighted directly (e.g. https://{cloud}/v2/{org_id}/cloudlookup/{txn_id})", ""},
		{"a bad threshold", map[string]string{"EXT_CLOUD_FAILOVER_LIST": list, "FAILOVER_THRESHOLD": "4"},
			`FAILOVER_THRESHOLD: "4" is not a duration (want e.g. 4m)`, `FAILOVER_THRESHOLD: "4" is not a duration (want e.g. 4m)`},
		{"a bad template", map[string]string{"EXT_CLOUD_FAILOVER_LIST": list, "CLOUDLOOKUP_URL": "https://{clod}/"},
			`CLOUDLOOKUP_URL: unknown placeholder "{clod}" (want {cloud}, {region}, {org_id} or {txn_id})`, `CLOUDLOOKUP_URL: unknown placeholder "{clod}" (want {cloud}, {region}, {org_id} or {txn_id})`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Load(mapEnv(tt.env), nil); err == nil || err.Error() != tt.loadErr {
				t.Errorf("Load: %v, want %s", err, tt.loadErr)
			}
			c, err := LoadDecision(mapEnv(tt.env), nil)
			switch {
			case tt.decision == "" && err != nil:
				t.Fatalf("LoadDecision: %v, want none", err)
			case tt.decision != "" && (err == nil || err.Error() != tt.decision):
				t.Fatalf("LoadDecision: %v, want %s", err, tt.decision)
			case err == nil && (len(c.Regions) != 2 || c.FailoverThreshold != 4*time.Minute):
				t.Errorf("LoadDecision = %+v, want the list and the default threshold", c)
			}
		})
	}
}
