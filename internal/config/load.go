package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
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

// setting is a value and the name it was given under.
type setting struct {
	value string
	field string
}

// loader collects settings: defaults, then the environment, then flags.
type loader struct {
	vals map[string]setting // by environment name
}

func newLoader(lookupEnv func(string) (string, bool)) *loader {
	l := &loader{vals: map[string]setting{}}
	if lookupEnv == nil {
		return l
	}
	for i := range variables {
		v := &variables[i]
		if s, ok := lookupEnv(v.env); ok && s != "" {
			l.vals[v.env] = setting{value: s, field: v.env}
		}
	}
	return l
}

// flagValue records a flag into the loader; validation happens after
// parsing, so the error names the flag the user wrote.
type flagValue struct {
	l     *loader
	v     *variable
	field string
}

func (f *flagValue) String() string { return "" }

func (f *flagValue) Set(s string) error {
	if s == "" {
		delete(f.l.vals, f.v.env) // empty means the default, as in the environment
		return nil
	}
	f.l.vals[f.v.env] = setting{value: s, field: f.field}
	return nil
}

func (f *flagValue) IsBoolFlag() bool { return f.v.isBool() }

func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func (l *loader) register(fs *flag.FlagSet) {
	for i := range variables {
		v := &variables[i]
		for _, name := range append([]string{v.flagName()}, v.aliases...) {
			fs.Var(&flagValue{l: l, v: v, field: dashed(name)}, name, v.help)
		}
	}
}

// lookup returns v's value, its default when unset, and the name to report.
func (l *loader) lookup(v *variable) (string, string) {
	if s, ok := l.vals[v.env]; ok {
		return s.value, s.field
	}
	return v.def, v.env
}

func (l *loader) field(env string) string {
	if s, ok := l.vals[env]; ok {
		return s.field
	}
	return env
}

func (l *loader) build() (*Config, error) {
	c := &Config{}
	for i := range variables {
		v := &variables[i]
		s, field := l.lookup(v)
		if len(s) > maxValue {
			return nil, errorf(field, "%d bytes (want at most %d)", len(s), maxValue)
		}
		if err := v.parse(c, s, field); err != nil {
			return nil, err
		}
	}
	if err := l.crossCheck(c); err != nil {
		return nil, err
	}
	return c, nil
}

// crossCheck validates what depends on more than one setting.
func (l *loader) crossCheck(c *Config) error {
	if c.PrimaryRegion != "" {
		if _, err := c.CloudOf(l.field("EXT_CLOUD_REGION"), c.PrimaryRegion); err != nil {
			return err
		}
	}
	for _, id := range []struct{ place, env, value, example string }{
		{"{org_id}", "CONNECTION_KEEPALIVE_ORG_ID", c.OrgID, "1234"},
		{"{txn_id}", "CONNECTION_KEEPALIVE_TXN_ID", c.TxnID, "keepalive-1"},
	} {
		if id.value == "" && strings.Contains(c.CloudlookupURL, id.place) {
			return errorf(id.env, "required by %s in CLOUDLOOKUP_URL (e.g. %s=%s)", id.place, id.env, id.example)
		}
	}
	for _, r := range c.Regions {
		u := c.ProbeURL(r)
		if p := httpURLProblem(u); p != "" {
			return errorf(l.field("CLOUDLOOKUP_URL"), "gives %s for %s: %s", quoteURL(u), r.Name, p)
		}
	}
	if c.ProbeInsecureSkipVerify {
		for _, r := range c.Regions {
			if h := probeHost(c.ProbeURL(r)); !isLoopback(h) {
				return errorf(l.field("PROBE_INSECURE_SKIP_VERIFY"), "allowed only for loopback probe hosts (got %s)", quote(h))
			}
		}
	}
	if c.ProbeTimeout >= c.CheckTimeout {
		return errorf(l.field("PROBE_TIMEOUT"), "%s must be less than %s (%s)", c.ProbeTimeout, l.field("CHECK_TIMEOUT"), c.CheckTimeout)
	}
	if c.LatencyTimeout >= c.CheckTimeout {
		return errorf(l.field("LATENCY_TIMEOUT"), "%s must be less than %s (%s)", c.LatencyTimeout, l.field("CHECK_TIMEOUT"), c.CheckTimeout)
	}
	return guard(c, l.field)
}

// checkTemplate validates CLOUDLOOKUP_URL before substitution.
func checkTemplate(field, s string) error {
	if len(s) > maxTemplate {
		return errorf(field, "%d bytes (want at most %d)", len(s), maxTemplate)
	}
	if c := badChar(s, urlChars); c != "" {
		return errorf(field, "%s: %s not allowed (want %s)", quoteURL(s), c, urlChars.desc)
	}
	for _, p := range placeRE.FindAllString(s, -1) {
		switch p {
		case "{cloud}", "{region}", "{org_id}", "{txn_id}":
		default:
			return errorf(field, "unknown placeholder %s (want {cloud}, {region}, {org_id} or {txn_id})", quote(p))
		}
	}
	if !strings.Contains(s, "{cloud}") {
		return errorf(field, "no {cloud} placeholder (e.g. %s)", DefaultCloudlookupURL)
	}
	return nil
}

// Load builds the Config for the host command: defaults, then lookupEnv
// (nil means an empty environment), then the flags in args. extra, when
// not nil, registers the command's own flags on the same FlagSet before
// parsing. It returns the positional arguments left after the flags.
//
// -h and --help return flag.ErrHelp, before any value is checked; any
// bad value or flag returns an *Error. Load does the checks common to both paths; see
// ValidateHost.
func Load(args []string, lookupEnv func(string) (string, bool), extra func(*flag.FlagSet)) (*Config, []string, error) {
	l := newLoader(lookupEnv)
	fs := flag.NewFlagSet("extcloud-failover", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	l.register(fs)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err
		}
		return nil, nil, flagError(err)
	}
	c, err := l.build()
	if err != nil {
		return nil, nil, err
	}
	return c, fs.Args(), nil
}

// FromEnv builds the Config for Lambda, which has no flags: defaults, then
// lookupEnv (nil means an empty environment). See ValidateLambda.
func FromEnv(lookupEnv func(string) (string, bool)) (*Config, error) {
	return newLoader(lookupEnv).build()
}

// flagError turns the flag package's parse errors into an *Error, quoting
// what the user typed.
func flagError(err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		if len(name) <= maxShown && name != "" && strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == "" {
			return errorf(dashed(name), "unknown flag (--help lists the flags)")
		}
		return errorf("flags", "unknown flag %s (--help lists the flags)", quote("-"+name))
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return errorf(dashed(name), "needs a value (e.g. %s=VALUE)", dashed(name))
	}
	if arg, ok := strings.CutPrefix(msg, "bad flag syntax: "); ok {
		return errorf("flags", "bad syntax %s (want --name=value)", quote(arg))
	}
	// A caller's own flag refused its value.
	if m := badBoolRE.FindStringSubmatch(msg); m != nil {
		if v, err := strconv.Unquote(m[1]); err == nil {
			return errorf(dashed(m[2]), "%s is not a boolean (want true or false)", quote(v))
		}
	}
	if m := badValueRE.FindStringSubmatch(msg); m != nil {
		if v, err := strconv.Unquote(m[1]); err == nil {
			return errorf(dashed(m[2]), "invalid value %s: %s", quote(v), quote(m[3]))
		}
	}
	return errorf("flags", "%s", quote(msg))
}

// The flag package's messages for values a Value refused.
var (
	badBoolRE  = regexp.MustCompile(`^invalid boolean value (".*") for -([A-Za-z0-9_.-]+): `)
	badValueRE = regexp.MustCompile(`^invalid value (".*") for flag -([A-Za-z0-9_.-]+): (.*)$`)
)

// Usage writes every flag with its environment variable, default and
// meaning, for --help.
func Usage(w io.Writer) {
	for i := range variables {
		v := &variables[i]
		names := make([]string, 0, 1+len(v.aliases))
		for _, a := range v.aliases {
			names = append(names, dashed(a))
		}
		names = append(names, dashed(v.flagName()))
		head := "  " + strings.Join(names, ", ")
		if !v.isBool() {
			head += " " + v.meta
		}
		fmt.Fprintf(w, "%s  (env %s)\n", head, v.env)
		fmt.Fprintf(w, "        %s%s\n", v.help, v.defaultNote())
	}
}

func (v *variable) defaultNote() string {
	switch {
	case v.docDef != "":
		return " (default: " + strings.ReplaceAll(v.docDef, "`", "") + ")"
	case v.def != "":
		return " (default " + v.def + ")"
	}
	return ""
}

// markdownTable renders docs/configuration.md's table of every variable.
func markdownTable(w io.Writer) {
	esc := strings.NewReplacer("|", `\|`)
	fmt.Fprintln(w, "| Variable | Flag | Default | Meaning |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for i := range variables {
		v := &variables[i]
		flags := make([]string, 0, 1+len(v.aliases))
		for _, a := range v.aliases {
			flags = append(flags, "`"+dashed(a)+"`")
		}
		flags = append(flags, "`"+dashed(v.flagName())+"`")
		def := "empty"
		switch {
		case v.docDef != "":
			def = v.docDef
		case v.def != "":
			def = "`" + v.def + "`"
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", v.env, strings.Join(flags, ", "), esc.Replace(def), esc.Replace(v.help))
	}
}
