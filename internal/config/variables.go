// This file holds the variable table: every setting's environment variable,
// flags, default, help text and parser, and the defaults other packages use.

package config

import (
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Defaults that other packages and the docs refer to.
const (
	DefaultCloudlookupURL = "https://{cloud}/cloudlookup?orgId={org_id}&txnId={txn_id}"
	DefaultEnvFile        = "/opt/application/tmp/ext_cloud.env"
	DefaultSupervisorURL  = "unix:///var/run/supervisor.sock"
	DefaultStateKey       = "extcloud-failover"
	// StateFileName is STATE_FILE's name when it is not set: the file sits
	// next to ENV_FILE.
	StateFileName = "extcloud-failover.state.json"
)

// variable is one setting: an environment variable and its flags.
type variable struct {
	env     string
	aliases []string // more flag names besides the kebab-case one
	def     string   // default applied when unset or empty
	docDef  string   // default as documented, when def does not say it
	meta    string   // placeholder in Usage; "" for booleans
	help    string
	secret  bool // never shown in errors
	parse   func(c *Config, s, field string) error
}

// flagName is the kebab-case flag of an environment variable.
func (v *variable) flagName() string {
	return strings.ReplaceAll(strings.ToLower(v.env), "_", "-")
}

func (v *variable) isBool() bool { return v.meta == "" }

func durationVar(env, def, help string, zeroOK bool, dst func(*Config) *time.Duration) variable {
	return variable{env: env, def: def, meta: "DURATION", help: help, parse: func(c *Config, s, field string) error {
		d, err := parseDuration(field, s, def, zeroOK)
		*dst(c) = d
		return err
	}}
}

func httpURLVar(env, help, example string, dst func(*Config) *string) variable {
	return variable{env: env, meta: "URL", help: help, parse: func(c *Config, s, field string) error {
		if s == "" {
			return nil
		}
		*dst(c) = s
		return parseHTTPURL(field, s, example)
	}}
}

func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// variables lists every setting in the order they are validated and
// documented.
var variables = []variable{
	{env: "EXT_CLOUD_FAILOVER_LIST", meta: "LIST", docDef: "required",
		help: "regions and their clouds in preference order: REGION=CLOUD,... where CLOUD is host[:port] or an http(s) base URL",
		parse: func(c *Config, s, field string) (err error) {
			c.Regions, err = parseRegions(field, s)
			return err
		}},
	{env: "EXT_CLOUD_REGION", aliases: []string{"r", "region"}, meta: "REGION", docDef: "the first region of the list",
		help: "the primary region, active when there is no state yet",
		parse: func(c *Config, s, _ string) error {
			c.PrimaryRegion = s // checked against the list once it is known
			return nil
		}},
	{env: "CONNECTION_KEEPALIVE_ORG_ID", meta: "ID", docDef: "required when CLOUDLOOKUP_URL uses {org_id}",
		help: "organisation id for {org_id} (A-Z a-z 0-9 _ . : -, at most 128)",
		parse: func(c *Config, s, field string) (err error) {
			c.OrgID, err = parseID(field, s)
			return err
		}},
	{env: "CONNECTION_KEEPALIVE_TXN_ID", meta: "ID", docDef: "required when CLOUDLOOKUP_URL uses {txn_id}",
		help: "transaction id for {txn_id} (A-Z a-z 0-9 _ . : -, at most 128)",
		parse: func(c *Config, s, field string) (err error) {
			c.TxnID, err = parseID(field, s)
			return err
		}},
	{env: "CLOUDLOOKUP_URL", def: DefaultCloudlookupURL, meta: "TEMPLATE",
		help: "probe URL template with {cloud} (required), {region}, {org_id} and {txn_id}; a cloud that is a base URL replaces a leading http(s)://{cloud} or {cloud}",
		parse: func(c *Config, s, field string) error {
			c.CloudlookupURL = s
			return checkTemplate(field, s)
		}},
	durationVar("PROBE_TIMEOUT", "5s", "deadline of one probe; less than CHECK_TIMEOUT", false, func(c *Config) *time.Duration { return &c.ProbeTimeout }),
	durationVar("PROBE_INTERVAL", "10s", "how often the checker runs, which the outage clock assumes", false, func(c *Config) *time.Duration { return &c.ProbeInterval }),
	{env: "PROBE_EXPECT", meta: "TEXT", docDef: "empty (any 2xx is healthy)",
		help: "text a healthy answer's body contains within its first 64 KiB",
		parse: func(c *Config, s, field string) error {
			if len(s) > maxExpect {
				return errorf(field, "%d bytes (want at most %d)", len(s), maxExpect)
			}
			c.ProbeExpect = s
			return nil
		}},
	{env: "PROBE_INSECURE_SKIP_VERIFY", def: "false",
		help: "skip TLS verification of the probe; allowed only when every probe host is loopback",
		parse: func(c *Config, s, field string) (err error) {
			c.ProbeInsecureSkipVerify, err = parseBool(field, s)
			return err
		}},
	durationVar("FAILOVER_THRESHOLD", "4m", "how long an outage lasts before failing over", false, func(c *Config) *time.Duration { return &c.FailoverThreshold }),
	durationVar("FAILOVER_MIN_INTERVAL", "10m", "least time between two failovers; 0 means no wait", true, func(c *Config) *time.Duration { return &c.FailoverMinInterval }),
	durationVar("CHECK_TIMEOUT", "30s", "deadline of one host invocation", false, func(c *Config) *time.Duration { return &c.CheckTimeout }),
	{env: "ENV_FILE", def: DefaultEnvFile, meta: "PATH",
		help: "the env file the application reads (absolute; A-Z a-z 0-9 _ . / -)",
		parse: func(c *Config, s, field string) (err error) {
			c.EnvFile, err = parsePath(field, s, DefaultEnvFile)
			return err
		}},
	{env: "STATE_FILE", meta: "PATH", docDef: "`" + StateFileName + "` next to ENV_FILE",
		help: "host state file (absolute; A-Z a-z 0-9 _ . / -)",
		parse: func(c *Config, s, field string) (err error) {
			if s == "" {
				c.StateFile = filepath.Join(filepath.Dir(c.EnvFile), StateFileName)
				return nil
			}
			c.StateFile, err = parsePath(field, s, "/opt/application/tmp/"+StateFileName)
			return err
		}},
	{env: "STATE_TABLE", meta: "TABLE", docDef: "required for Lambda",
		help: "DynamoDB table holding the state (Lambda)",
		parse: func(c *Config, s, field string) error {
			if s != "" && (len(s) < 3 || len(s) > 255 || !tableRE.MatchString(s)) {
				return errorf(field, "%s is not a DynamoDB table name (want 3-255 of A-Z a-z 0-9 _ . -)", quote(s))
			}
			c.StateTable = s
			return nil
		}},
	{env: "STATE_KEY", def: DefaultStateKey, meta: "KEY",
		help: "key of the state item in STATE_TABLE (A-Z a-z 0-9 _ . : -, at most 128)",
		parse: func(c *Config, s, field string) (err error) {
			c.StateKey, err = parseID(field, s)
			return err
		}},
	{env: "SUPERVISOR_URL", def: DefaultSupervisorURL, meta: "URLS",
		help: "supervisord XML-RPC addresses, comma-separated: unix:///path.sock or http(s)://host:port[/RPC2]",
		parse: func(c *Config, s, field string) (err error) {
			c.SupervisorURLs, err = parseSupervisorURLs(field, s)
			return err
		}},
	{env: "SUPERVISOR_USERNAME", meta: "NAME",
		help: "supervisord HTTP user",
		parse: func(c *Config, s, field string) error {
			if strings.Contains(s, ":") {
				return errorf(field, "must not contain \":\" (value not shown)")
			}
			c.SupervisorUsername = s
			return noSpaceOrControl(field, s)
		}},
	{env: "SUPERVISOR_PASSWORD", meta: "PASSWORD", secret: true,
		help: "supervisord HTTP password (secret; prefer the environment to the flag)",
		parse: func(c *Config, s, field string) error {
			c.SupervisorPassword = s
			return noSpaceOrControl(field, s)
		}},
	{env: "SUPERVISOR_PROGRAMS", meta: "NAMES", docDef: "required on the host",
		help: "supervisord programs to restart, comma-separated: name, group:name or group:* (on Lambda: empty restarts all)",
		parse: func(c *Config, s, field string) (err error) {
			c.SupervisorPrograms, err = parsePrograms(field, s)
			return err
		}},
	{env: "PUSH_CONCURRENCY", def: "16", meta: "N",
		help: "supervisords restarted at once, 1-1000",
		parse: func(c *Config, s, field string) error {
			n, err := strconv.Atoi(s)
			if err != nil {
				return errorf(field, "%s is not a whole number (want 1-1000, e.g. 16)", quote(s))
			}
			if n < 1 || n > 1000 {
				return errorf(field, "%d is out of range (want 1-1000)", n)
			}
			c.PushConcurrency = n
			return nil
		}},
	{env: "SSM_TARGETS", meta: "TARGETS", docDef: "required for Lambda",
		help: "hosts to push to with SSM Run Command, comma-separated: tag:Key=Value or instance IDs (i-..., mi-...)",
		parse: func(c *Config, s, field string) (err error) {
			c.SSMTargets, err = parseSSMTargets(field, s)
			return err
		}},
	{env: "SSM_MAX_CONCURRENCY", def: "50", meta: "N|N%",
		help: "SSM MaxConcurrency: hosts at once, a count or a percentage",
		parse: func(c *Config, s, field string) error {
			if !ssmConcRE.MatchString(s) {
				return errorf(field, "%s is not a count or percentage (want e.g. 50 or 10%%)", quote(s))
			}
			c.SSMMaxConcurrency = s
			return nil
		}},
	{env: "SSM_MAX_ERRORS", def: "100%", meta: "N|N%",
		help: "SSM MaxErrors: failures before SSM stops sending, a count or a percentage",
		parse: func(c *Config, s, field string) error {
			if !ssmErrorsRE.MatchString(s) {
				return errorf(field, "%s is not a count or percentage (want e.g. 0, 5 or 100%%)", quote(s))
			}
			c.SSMMaxErrors = s
			return nil
		}},
	{env: "SSM_COMMAND_TIMEOUT", def: "300s", meta: "DURATION",
		help: "how long a pushed command may run on a host (SSM executionTimeout), whole seconds from 1s to 48h; polled across checks, so it may outlast one",
		parse: func(c *Config, s, field string) error {
			d, err := parseDuration(field, s, "300s", false)
			if err != nil {
				return err
			}
			if d < time.Second || d > 48*time.Hour || d%time.Second != 0 {
				return errorf(field, "%s is out of range (want whole seconds from 1s to 48h, e.g. 300s)", d)
			}
			c.SSMCommandTimeout = d
			return nil
		}},
	{env: "LATENCY_CHECK", def: LatencyOnFailure, meta: "MODE",
		help: "local-network guard: off, on-failure (when a probe fails) or always",
		parse: func(c *Config, s, field string) error {
			switch s {
			case LatencyOff, LatencyOnFailure, LatencyAlways:
				c.LatencyCheck = s
				return nil
			}
			return errorf(field, "%s is not a mode (want off, on-failure or always)", quote(s))
		}},
	httpURLVar("LATENCY_SERVER", "speedtest server URL for the local-network guard", "http://speedtest.example.com:8080", func(c *Config) *string { return &c.LatencyServer }),
	durationVar("LATENCY_TIMEOUT", "3s", "deadline of the local-network guard; less than CHECK_TIMEOUT", false, func(c *Config) *time.Duration { return &c.LatencyTimeout }),
	durationVar("LATENCY_INTERVAL", "5m", "least time between two guard runs in always mode", false, func(c *Config) *time.Duration { return &c.LatencyInterval }),
	httpURLVar("WITNESS_URL", "a neutral URL that should always answer, for the local-network guard", "https://www.example.com/", func(c *Config) *string { return &c.WitnessURL }),
	{env: "DD_API_KEY", meta: "KEY", secret: true, docDef: "empty (no Datadog)",
		help: "Datadog API key (secret; prefer the environment to the flag)",
		parse: func(c *Config, s, field string) error {
			c.DDAPIKey = s
			return noSpaceOrControl(field, s)
		}},
	{env: "DD_SITE", def: "datadoghq.com", meta: "HOST",
		help: "Datadog site",
		parse: func(c *Config, s, field string) error {
			if !validHostname(s) {
				return errorf(field, "%s is not a host name (want e.g. datadoghq.com or datadoghq.eu)", quote(s))
			}
			c.DDSite = s
			return nil
		}},
	{env: "DD_SERVICE", def: "extcloud-failover", meta: "NAME",
		help: "service name on logs and metrics",
		parse: func(c *Config, s, field string) error {
			if len(s) > maxServiceDD {
				return errorf(field, "%d bytes (want at most %d)", len(s), maxServiceDD)
			}
			c.DDService = s
			return checkChars(field, s, ddTagChars)
		}},
	httpURLVar("DD_LOGS_INTAKE_URL", "Datadog logs intake URL, instead of the one derived from DD_SITE", "https://logs-proxy.example.com/api/v2/logs", func(c *Config) *string { return &c.DDLogsIntakeURL }),
	{env: "DD_AGENT_HOST", meta: "HOST",
		help: "DogStatsD agent host[:port] (port 8125 by default)",
		parse: func(c *Config, s, field string) error {
			if s != "" && hostPortProblem(s) != "" {
				return errorf(field, "%s is not a host[:port] (want e.g. 127.0.0.1 or dd-agent:8125)", quote(s))
			}
			c.DDAgentHost = s
			return nil
		}},
	{env: "DD_DOGSTATSD_URL", meta: "URL",
		help: "DogStatsD address: udp://host:port or unix:///path (before DD_AGENT_HOST)",
		parse: func(c *Config, s, field string) error {
			if s == "" {
				return nil
			}
			c.DDDogstatsdURL = s
			return parseDogstatsdURL(field, s)
		}},
	{env: "DD_TAGS", meta: "TAGS",
		help: "extra tags on logs and metrics, comma-separated key:value",
		parse: func(c *Config, s, field string) error {
			c.DDTags = s
			return parseDDTags(field, s)
		}},
	{env: "DRY_RUN", def: "false",
		help: "decide and log, but write and restart nothing",
		parse: func(c *Config, s, field string) (err error) {
			c.DryRun, err = parseBool(field, s)
			return err
		}},
}
