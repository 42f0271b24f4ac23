// Tests of the checklist, the Lambda checks and the agreement of the env
// file with the state; the host's checks against a real supervisord are in
// cmd/cron's end-to-end tests.
package doctor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
)

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	env := map[string]string{
		"EXT_CLOUD_FAILOVER_LIST":     "NAM=nam.example.com,EU=eu.example.com",
		"CONNECTION_KEEPALIVE_ORG_ID": "o", "CONNECTION_KEEPALIVE_TXN_ID": "t",
		"STATE_TABLE": "checker-state", "SSM_TARGETS": "tag:Role=app,i-0123456789abcdef0", "LATENCY_CHECK": "off",
	}
	cfg, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type loader struct {
	s   state.State
	err error
}

func (l loader) Load(context.Context) (state.State, error) { return l.s, l.err }

func healthy(context.Context, config.Region) error { return nil }

func TestLambdaChecks(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	tests := []struct {
		name      string
		store     loader
		instances []Instances
		probe     func(context.Context, config.Region) error
		failed    bool
		want      []string // lines of the checklist, in order
	}{
		{name: "good", store: loader{s: state.State{Version: 3, ActiveRegion: "EU", Generation: 2}}, probe: healthy,
			instances: []Instances{{Target: "tag:Role=app", Online: []string{"i-1", "i-2"}}, {Target: "i-0123456789abcdef0", Online: []string{"i-0123456789abcdef0"}}},
			want: []string{"ok    state item extcloud-failover in table checker-state: readable; version 3, EU active, generation 2",
				"ok    region NAM: pre-flight answers", "ok    region EU (active): answers", "ok    local-network guard: off",
				"ok    SSM target tag:Role=app: 2 managed instances online", "ok    SSM target i-0123456789abcdef0: 1 managed instances online",
				"doctor: all 6 checks passed"}},
		{name: "offline and missing", store: loader{err: errors.New("ResourceNotFoundException: table not found")}, probe: healthy, failed: true,
			instances: []Instances{{Target: "tag:Role=app", Online: []string{"i-1"}, NotOnline: map[string]string{"i-3": "ConnectionLost"}}, {Target: "i-0123456789abcdef0"}},
			want: []string{"FAIL  state item extcloud-failover in table checker-state: ResourceNotFoundException: table not found; fix: check that STATE_TABLE exists",
				"FAIL  SSM target tag:Role=app: 1 online, 1 not online (i-3 ConnectionLost)",
				"FAIL  SSM target i-0123456789abcdef0: resolves to no managed instance", "doctor: 3 of 6 checks failed"}},
		{name: "no instance online at all", store: loader{}, probe: healthy, failed: true,
			instances: []Instances{{Target: "tag:Role=app", Err: errors.New("AccessDeniedException")}, {Target: "i-0123456789abcdef0", NotOnline: map[string]string{"i-0123456789abcdef0": "Inactive"}}},
			want: []string{"ok    state item extcloud-failover in table checker-state: table readable; no item yet",
				"FAIL  SSM target tag:Role=app: AccessDeniedException; fix: check that the function's role may ssm:DescribeInstanceInformation",
				"FAIL  SSM targets: no managed instance online: a failover would reach no host"}},
		{name: "active down, other down", store: loader{}, failed: true,
			probe: func(context.Context, config.Region) error { return errors.New("status 503") }, instances: []Instances{{Target: "tag:Role=app", Online: []string{"i-1"}}},
			want: []string{"FAIL  region NAM (active): down right now: status 503", "warn  region EU: down right now: status 503 (not active: reported, not failed)",
				"FAIL  regions: every region is down"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := Lambda{Config: cfg, Probes: Probes{Probe: tt.probe}, Store: tt.store,
				Describe: func(context.Context) []Instances { return tt.instances }}
			rep := l.Run(context.Background())
			if rep.Failed() != tt.failed {
				t.Errorf("Failed() = %v, want %v", rep.Failed(), tt.failed)
			}
			var b strings.Builder
			if err := rep.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(out[at:], w)
				if i < 0 {
					t.Fatalf("checklist lacks %q after byte %d:\n%s", w, at, out)
				}
				at += i + len(w)
			}
		})
	}
}

func TestAgreement(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	missing := errNotExist()
	tests := []struct {
		name   string
		s      state.State
		env    envFile
		mark   Mark
		detail string
	}{
		{"nothing yet", state.State{}, envFile{err: missing}, OK, "nothing written yet: the first check starts from the primary NAM"},
		{"env only", state.State{}, envFile{region: "EU", gen: 2}, OK, "no state yet: the first check starts from the env file's EU, generation 2"},
		{"agree", state.State{Version: 4, ActiveRegion: "EU", Generation: 2}, envFile{region: "EU", cloud: "eu.example.com", gen: 2}, OK, "agree: EU, generation 2"},
		{"other cloud", state.State{Version: 4, ActiveRegion: "EU", Generation: 2}, envFile{region: "EU", cloud: "old-eu.example.com", gen: 2}, Fail,
			"the state says EU, generation 2, cloud eu.example.com; the env file names region EU, cloud old-eu.example.com, generation 2"},
		{"pending", state.State{Version: 4, ActiveRegion: "EU", Generation: 3, Pending: &state.Pending{Generation: 3}}, envFile{region: "NAM", gen: 2}, Warn,
			"push of generation 3 to EU pending; the env file still says NAM, generation 2"},
		{"disagree", state.State{Version: 4, ActiveRegion: "EU", Generation: 2}, envFile{region: "NAM", gen: 2}, Fail,
			"the state says EU, generation 2; the env file says NAM, generation 2"},
		{"env file gone", state.State{Version: 4, ActiveRegion: "EU", Generation: 2}, envFile{err: missing}, Fail,
			"the state says EU, generation 2, but there is no env file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rep Report
			env, err := tt.env.parsed()
			checkAgreement(&rep, cfg, tt.s, nil, env, err)
			if len(rep.Results) != 1 || rep.Results[0].Mark != tt.mark || rep.Results[0].Detail != tt.detail {
				t.Errorf("results %+v, want %s %q", rep.Results, tt.mark, tt.detail)
			}
		})
	}
}

func TestRegionsProbedAsACheckDoes(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	var mu sync.Mutex
	via := map[string]string{}
	record := func(how string) func(context.Context, config.Region) error {
		return func(_ context.Context, r config.Region) error {
			mu.Lock()
			defer mu.Unlock()
			via[r.Name] = how
			if how == "pre-flight" {
				return errors.New("status 503")
			}
			return nil
		}
	}
	p := Probes{Probe: record("cloudlookup"), Preflight: record("pre-flight")}
	var rep Report
	p.checkRegions(context.Background(), &rep, cfg, "NAM")
	if via["NAM"] != "cloudlookup" || via["EU"] != "pre-flight" {
		t.Fatalf("probed %v: want the active NAM through CLOUDLOOKUP_URL and EU through its pre-flight", via)
	}
	if rep.Failed() || len(rep.Results) != 2 || rep.Results[1].Mark != Warn {
		t.Errorf("results %+v: want NAM ok and EU reported down, not failed", rep.Results)
	}
}

// TestEnvFileCheck pins what doctor says of ENV_FILE: since the checker
// converges on every run, the next check (not a failover) writes a missing
// file and replaces one that does not parse.
func TestEnvFileCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string // "" means no file
		mark    Mark
		detail  string
		fix     string
	}{
		{name: "missing", mark: OK, detail: "folder writable; no env file yet (the next check writes it)"},
		{name: "unparseable", content: "garbage\n", mark: Fail, fix: "fix or remove the file; the next check replaces it and restarts the programs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.EnvFile = filepath.Join(t.TempDir(), "ext_cloud.env")
			if tt.content != "" {
				if err := os.WriteFile(cfg.EnvFile, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			env, err := remote.ReadEnvFile(cfg.EnvFile)
			var rep Report
			Host{Config: cfg}.checkEnvFile(&rep, env, err)
			if len(rep.Results) != 1 {
				t.Fatalf("results %+v, want one", rep.Results)
			}
			r := rep.Results[0]
			if r.Mark != tt.mark || (tt.detail != "" && r.Detail != tt.detail) || (tt.fix != "" && r.Fix != tt.fix) {
				t.Errorf("result %+v, want %s detail %q fix %q", r, tt.mark, tt.detail, tt.fix)
			}
			if strings.Contains(r.Detail+r.Fix, "failover writes") {
				t.Errorf("result %+v says a failover writes the file; the next check does", r)
			}
		})
	}
}
