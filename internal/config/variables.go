// This file holds the variable table: every setting's environment variable,
// flags, default, help text and parser, and the defaults other packages use.

package config

import (
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"extcloud-failover/internal/ident"
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

// named returns err, from internal/ident, as an *Error for field, or nil.
func named(field string, err error) error {
	if err != nil {
		return errorf(field, "%s", err)
	}
	return nil
}

// flagName is the kebab-case flag of an environment variable.
func (v *variable) flagName() string {
	return strings.ReplaceAll(strings.ToLower(v.env), "_", "-")
}

// flags returns v's flags as written, with dashes: the aliases, then the
// kebab-case name.
func (v *variable) flags() []string {
	names := make([]string, 0, 1+len(v.aliases))
	for _, a := range v.aliases {
		names = append(names, dashed(a))
	}
	return append(names, dashed(v.flagName()))
}

// byEnv returns the variable named env, or nil.
func byEnv(env string) *variable {
	for i := range variables {
		if variables[i].env == env {
			return &variables[i]
		}
	}
	return nil
}

// Variable describes one setting to a command line: each variable has a
// kebab-case flag of the same name, and some have aliases (-r, --region).
type Variable struct {
	Env   string   // environment variable, e.g. PROBE_TIMEOUT
	Flags []string // flags as written, aliases first: -r, --region, --ext-cloud-region
	Meta  string   // placeholder of the value in usage text; "" for a boolean
	Help  string   // what it means
	// Default is the value used when the variable is unset or empty, or ""
	// when there is none.
	Default string
	// DefaultDoc describes the default in words when Default does not say
	// it ("the first region of the list", "required on the host").
	DefaultDoc string
	// Secret values are never shown; prefer the environment to the flag.
	Secret bool
}

// IsBool reports whether the variable is a boolean, which a flag sets
// without a value (--dry-run).
func (v Variable) IsBool() bool { return v.Meta == "" }

// Variables returns every setting in the order they are validated and
// documented, for a command line to build its flags from.
func Variables() []Variable {
	out := make([]Variable, len(variables))
	for i := range variables {
		v := &variables[i]
		out[i] = Variable{Env: v.env, Flags: v.flags(), Meta: v.meta, Help: v.help, Default: v.def,
			DefaultDoc: strings.ReplaceAll(v.docDef, "`", ""), Secret: v.secret}
	}
	return out
}

func durationVar(env, def, help string, zeroOK bool, dst func(*Config) *time.Duration) variable {
	return variable{env: env, def: def, meta: "DURATION", help: help, parse: func(c *Config, s, field string) error {
		d, err := parseDuration(field, s, def, zeroOK)
		*dst(c) = d
		return err
	}}
}

func intVar(env, def, help string, lo, hi int, dst func(*Config) *int) variable {
	return variable{env: env, def: def, meta: "N", help: help, parse: func(c *Config, s, field string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return errorf(field, "%s is not a whole number (want %d-%d, e.g. %s)", quote(s), lo, hi, def)
		}
		if n < lo || n > hi {
			return errorf(field, "%d is out of range (want %d-%d)", n, lo, hi)
		}
		*dst(c) = n
		return nil
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
		help: "URL template the active region is probed with: {cloud}, {region}, {org_id} and {txn_id}; a cloud that is a base URL replaces a leading http(s)://{cloud} or {cloud}; without {cloud} it probes whatever it names (the local tunnel, e.g. https://localhost:8443/v2/{org_id}/cloudlookup/{txn_id})",
		parse: func(c *Config, s, field string) error {
			c.CloudlookupURL = s
			return checkTemplate(field, s, false)
		}},
	{env: "PREFLIGHT_URL", meta: "TEMPLATE", docDef: "CLOUDLOOKUP_URL when it has {cloud}; required otherwise",
		help: "URL template a failover candidate is pre-flighted with, directly: {cloud} (required), {region}, {org_id} and {txn_id}",
		parse: func(c *Config, s, field string) error {
			if s == "" {
				return nil // CLOUDLOOKUP_URL, once it is known (crossCheck)
			}
			c.PreflightURL = s
			return checkTemplate(field, s, true)
		}},
	{env: "PROBE_HEADERS", meta: "HEADERS", secret: true,
		help: "request headers of every probe and pre-flight, comma-separated Name: value entries (e.g. X-SIG-Sha256: e3b0...b855); names are HTTP tokens, values visible ASCII without commas, never logged (secret; prefer the environment to the flag)",
		parse: func(c *Config, s, field string) (err error) {
			c.ProbeHeaders, err = parseHeaders(field, s)
			return err
		}},
	durationVar("PROBE_TIMEOUT", "5s", "deadline of one probe; less than CHECK_TIMEOUT", false, func(c *Config) *time.Duration { return &c.ProbeTimeout }),
	durationVar("PROBE_INTERVAL", "10s", "how often the checker runs; OUTAGE_MAX_GAP is at least this, and simulate reports longer spacing as a gap", false, func(c *Config) *time.Duration { return &c.ProbeInterval }),
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
	intVar("RECOVERY_PROBES", "3", "healthy probes in a row that end an outage (and make a region a candidate)", 1, 100, func(c *Config) *int { return &c.RecoveryProbes }),
	durationVar("OUTAGE_MAX_GAP", "90s", "a longer gap without probes restarts the outage clock; at least PROBE_INTERVAL", false, func(c *Config) *time.Duration { return &c.OutageMaxGap }),
	{env: "FAILBACK", def: FailbackOff, meta: "MODE",
		help: "off (stay on the region failed over to) or primary (return to the primary once it has been healthy for FAILBACK_AFTER)",
		parse: func(c *Config, s, field string) error {
			switch s {
			case FailbackOff, FailbackPrimary:
				c.Failback = s
				return nil
			}
			return errorf(field, "%s is not a mode (want off or primary)", quote(s))
		}},
	durationVar("FAILBACK_AFTER", "30m", "how long the primary is healthy before FAILBACK=primary returns to it", true, func(c *Config) *time.Duration { return &c.FailbackAfter }),
	intVar("FAILOVER_BUDGET", "3", "most automatic switches (failovers and failbacks) in any 24 hours, 0-10; 0 means unlimited", 0, 10, func(c *Config) *int { return &c.FailoverBudget }),
	{env: "ENV_FILE", def: DefaultEnvFile, meta: "PATH",
		help: "the env file the application reads (absolute; A-Z a-z 0-9 _ . / -)",
		parse: func(c *Config, s, field string) (err error) {
			c.EnvFile, err = parsePath(field, s, DefaultEnvFile)
			return err
		}},
	{env: "ENV_FILE_FORMAT", def: EnvFormatShell, meta: "FORMAT",
		help: "how ENV_FILE is written: shell (export KEY=VALUE lines, which start scripts source) or plain (KEY=VALUE, for systemd EnvironmentFile= and docker --env-file); both are read",
		parse: func(c *Config, s, field string) error {
			switch s {
			case EnvFormatShell, EnvFormatPlain:
				c.EnvFileFormat = s
				return nil
			}
			return errorf(field, "%s is not a format (want shell or plain)", quote(s))
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
			c.StateTable = s
			if s == "" {
				return nil
			}
			return named(field, ident.DynamoTable(s))
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
			c.SupervisorUsername = s
			return named(field, ident.UserName(s))
		}},
	{env: "SUPERVISOR_PASSWORD", meta: "PASSWORD", secret: true,
		help: "supervisord HTTP password (secret; prefer the environment to the flag)",
		parse: func(c *Config, s, field string) error {
			c.SupervisorPassword = s
			return named(field, ident.Secret(s))
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
			c.SSMMaxConcurrency = s
			return named(field, ident.SSMMaxConcurrency(s))
		}},
	{env: "SSM_MAX_ERRORS", def: "100%", meta: "N|N%",
		help: "SSM MaxErrors: failures before SSM stops sending, a count or a percentage",
		parse: func(c *Config, s, field string) error {
			c.SSMMaxErrors = s
			return named(field, ident.SSMMaxErrors(s))
		}},
	{env: "SSM_COMMAND_TIMEOUT", def: "300s", meta: "DURATION",
		help: "how long a pushed command may run on a host (SSM executionTimeout), whole seconds from 1s to 48h; polled across checks, so it may outlast one",
		parse: func(c *Config, s, field string) error {
			d, err := parseDuration(field, s, "300s", false)
			if err != nil {
				return err
			}
			c.SSMCommandTimeout = d
			return named(field, ident.SSMCommandTimeout(d))
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
			return named(field, ident.Secret(s))
		}},
	{env: "DD_SITE", def: "datadoghq.com", meta: "SITE",
		help: "Datadog site: a host name, or the base URL of a proxy (https://proxy.example.com:8443; Lambda only, unless DD_LOGS_INTAKE_URL is set)",
		parse: func(c *Config, s, field string) error {
			c.DDSite = strings.TrimSuffix(s, "/")
			return named(field, ident.DatadogSite(s))
		}},
	{env: "DD_SERVICE", def: "extcloud-failover", meta: "NAME",
		help: "service name on logs and metrics",
		parse: func(c *Config, s, field string) error {
			if len(s) > maxServiceDD {
				return errorf(field, "%d bytes (want at most %d)", len(s), maxServiceDD)
			}
			c.DDService = s
			return named(field, ident.DDTag(s))
		}},
	httpURLVar("DD_LOGS_INTAKE_URL", "Datadog logs intake URL, instead of the one derived from DD_SITE", "https://logs-proxy.example.com/api/v2/logs", func(c *Config) *string { return &c.DDLogsIntakeURL }),
	{env: "DD_AGENT_HOST", meta: "HOST",
		help: "DogStatsD agent host[:port] (port 8125 by default)",
		parse: func(c *Config, s, field string) error {
			if s != "" && ident.HostPort(s) != nil {
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
			return named(field, ident.DogStatsdURL(s))
		}},
	{env: "DD_TAGS", meta: "TAGS",
		help: "extra tags on logs and metrics, comma-separated key:value",
		parse: func(c *Config, s, field string) error {
			c.DDTags = s
			return parseDDTags(field, s)
		}},
	{env: "DRY_RUN", def: "false",
		help: "shadow run: keep its own state at <STATE_FILE>.dry-run (Lambda: <STATE_KEY>#dry-run), log what it would do (would_failover, ...), never write the real state or the env file, restart or push",
		parse: func(c *Config, s, field string) (err error) {
			c.DryRun, err = parseBool(field, s)
			return err
		}},
}
