// This file holds the Config type and the types of its values.

package config

import (
	"time"

	"extcloud-failover/internal/ident"
)

// Region is one entry of EXT_CLOUD_FAILOVER_LIST.
type Region struct {
	// Name is the upper-case region token (NAM, EU, APAC).
	Name string
	// Cloud is the host[:port] or base URL substituted for {cloud}.
	Cloud string
}

// Failback modes for FAILBACK.
const (
	FailbackOff     = "off"
	FailbackPrimary = "primary"
)

// Latency check modes for LATENCY_CHECK.
const (
	LatencyOff       = "off"
	LatencyOnFailure = "on-failure"
	LatencyAlways    = "always"
)

// Env file formats for ENV_FILE_FORMAT (remote.EnvShell and remote.EnvPlain).
const (
	EnvFormatShell = "shell"
	EnvFormatPlain = "plain"
)

// Config is the whole configuration of one invocation. Fields are documented
// by the environment variable that sets them; each has a kebab-case flag of
// the same name that overrides it.
type Config struct {
	Regions       []Region // EXT_CLOUD_FAILOVER_LIST, in preference order
	PrimaryRegion string   // EXT_CLOUD_REGION, -r/--region: the primary; default the first of Regions

	OrgID string // CONNECTION_KEEPALIVE_ORG_ID
	TxnID string // CONNECTION_KEEPALIVE_TXN_ID

	CloudlookupURL          string        // CLOUDLOOKUP_URL template with {cloud} {region} {org_id} {txn_id}; {cloud} optional
	PreflightURL            string        // PREFLIGHT_URL template with {cloud}; default CLOUDLOOKUP_URL when that has {cloud}
	ProbeHeaders            []Header      // PROBE_HEADERS "Name: value,...": sent with every probe and pre-flight (values secret)
	ProbeTimeout            time.Duration // PROBE_TIMEOUT, default 5s
	ProbeExpect             string        // PROBE_EXPECT: a healthy body contains it (first 64 KiB)
	ProbeInsecureSkipVerify bool          // PROBE_INSECURE_SKIP_VERIFY, loopback hosts only
	ProbeInterval           time.Duration // PROBE_INTERVAL, default 10s: the cadence the outage clock assumes

	FailoverThreshold   time.Duration // FAILOVER_THRESHOLD, default 4m
	FailoverMinInterval time.Duration // FAILOVER_MIN_INTERVAL, default 10m
	CheckTimeout        time.Duration // CHECK_TIMEOUT, default 30s: the host invocation's deadline
	RecoveryProbes      int           // RECOVERY_PROBES, default 3: healthy probes in a row that end an outage
	OutageMaxGap        time.Duration // OUTAGE_MAX_GAP, default 90s: a longer gap without probes restarts the outage clock
	Failback            string        // FAILBACK off|primary, default off
	FailbackAfter       time.Duration // FAILBACK_AFTER, default 30m: the primary's health before a failback
	FailoverBudget      int           // FAILOVER_BUDGET, default 3: automatic switches in any 24 h; 0 unlimited

	StateFile  string // STATE_FILE, default <dir of ENV_FILE>/extcloud-failover.state.json
	StateTable string // STATE_TABLE (Lambda)
	StateKey   string // STATE_KEY, default "extcloud-failover"

	EnvFile            string   // ENV_FILE, default /opt/application/tmp/ext_cloud.env
	EnvFileFormat      string   // ENV_FILE_FORMAT shell|plain, default shell
	SupervisorURLs     []string // SUPERVISOR_URL, comma-separated; default unix:///var/run/supervisor.sock
	SupervisorUsername string   // SUPERVISOR_USERNAME
	SupervisorPassword string   // SUPERVISOR_PASSWORD (secret)
	SupervisorPrograms []string // SUPERVISOR_PROGRAMS, comma-separated names or group:*
	PushConcurrency    int      // PUSH_CONCURRENCY, default 16: supervisords restarted at once

	SSMTargets        []ident.SSMTarget // SSM_TARGETS: tag:Key=Value or instance IDs, comma-separated
	SSMMaxConcurrency string            // SSM_MAX_CONCURRENCY, default "50"
	SSMMaxErrors      string            // SSM_MAX_ERRORS, default "100%": never stop at the first bad host
	SSMCommandTimeout time.Duration     // SSM_COMMAND_TIMEOUT, default 300s: the pushed command's executionTimeout

	LatencyCheck    string        // LATENCY_CHECK off|on-failure|always, default on-failure
	LatencyServer   string        // LATENCY_SERVER: speedtest server URL
	LatencyTimeout  time.Duration // LATENCY_TIMEOUT, default 3s
	LatencyInterval time.Duration // LATENCY_INTERVAL, default 5m (always mode)
	WitnessURL      string        // WITNESS_URL: a neutral URL that should always answer

	DDAPIKey        string // DD_API_KEY (secret)
	DDSite          string // DD_SITE, default datadoghq.com
	DDService       string // DD_SERVICE, default extcloud-failover
	DDLogsIntakeURL string // DD_LOGS_INTAKE_URL: overrides the intake derived from DD_SITE
	DDAgentHost     string // DD_AGENT_HOST: DogStatsD agent host
	DDDogstatsdURL  string // DD_DOGSTATSD_URL: DogStatsD address (udp://, unix://)
	DDTags          string // DD_TAGS: extra tags, comma-separated

	DryRun bool // --dry-run: decide and log, write and restart nothing
}

// Header is one entry of PROBE_HEADERS. Its value is a secret: it is never
// shown in errors and is redacted from logs (see Secrets).
type Header struct {
	Name  string
	Value string
}
