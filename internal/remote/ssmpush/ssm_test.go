package ssmpush_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"extcloud-failover/internal/ident"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/remote/ssmpush"
	"extcloud-failover/internal/testenv"
)

// ssmHost is one sandboxed host with its own supervisord running "app".
type ssmHost struct {
	id      string
	dir     string
	envFile string
	sv      *testenv.Supervisord
	starts  func() int
}

func (h ssmHost) instance() testenv.SSMInstance {
	return testenv.SSMInstance{Dir: h.dir, Env: []string{"SUPERVISORCTL=supervisorctl -c " + h.sv.ConfigPath}}
}

// newSSMHost starts a supervisord whose "app" counts its starts, and waits
// for the first start.
func newSSMHost(t *testing.T, id string) ssmHost {
	t.Helper()
	dir := t.TempDir()
	cmd, starts := testenv.CountingProgram(t, dir)
	sv := testenv.StartSupervisord(t, testenv.SupervisordOptions{
		Programs: []testenv.SupervisordProgram{{Name: "app", Command: cmd}},
	})
	h := ssmHost{id: id, dir: dir, envFile: filepath.Join(dir, "ext_cloud.env"), sv: sv, starts: starts}
	waitStarts(t, h, 1)
	return h
}

// waitStarts polls until app has started want times, and checks it does
// not go past it.
func waitStarts(t *testing.T, h ssmHost, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.starts() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: app started %d times, want %d", h.id, h.starts(), want)
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
	if got := h.starts(); got != want {
		t.Fatalf("%s: app started %d times, want %d", h.id, got, want)
	}
}

func appPID(t *testing.T, h ssmHost) any {
	t.Helper()
	info, ok := h.sv.Call(t, "supervisor.getProcessInfo", "app").(map[string]any)
	if !ok {
		t.Fatalf("getProcessInfo: unexpected answer")
	}
	if info["statename"] != "RUNNING" {
		t.Fatalf("app is %v, want RUNNING", info["statename"])
	}
	return info["pid"]
}

func readEnv(t *testing.T, path string) remote.EnvFile {
	t.Helper()
	e, err := remote.ReadEnvFile(path)
	if err != nil {
		t.Fatalf("read env file: %v", err)
	}
	return e
}

func pushCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// stubSupervisorctl writes a supervisorctl stand-in that reports app RUNNING,
// for tests about the fleet rather than the restart.
func stubSupervisorctl(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "supervisorctl")
	script := "#!/bin/sh\ncase \"$1\" in status) echo 'app RUNNING pid 1, uptime 0:00:01' ;; esac\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

func instanceID(n int) string { return fmt.Sprintf("i-%017x", n) }

func TestSSMEmbeddedScriptParses(t *testing.T) {
	for _, name := range []string{"push.sh"} {
		cmd := exec.Command("/bin/sh", "-n", name)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sh -n %s: %v\n%s", name, err, out)
		}
	}
	script, err := ssmpush.Script(remote.Target{Region: "EU", Cloud: "eu.example.test", Generation: 4}, "/opt/application/tmp/ext_cloud.env", []string{"app", "web:*"})
	if err != nil {
		t.Fatal(err)
	}
	shellCheck(t, script)
	for _, want := range []string{"ENV_FILE='/opt/application/tmp/ext_cloud.env'\n", "GENERATION='4'\n", "PROGRAMS='app web:*'\n"} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q", want)
		}
	}
}

func TestSSMPushRestartsOnceAndIsIdempotent(t *testing.T) {
	h := newSSMHost(t, instanceID(1))
	srv := testenv.StartSSM(t, testenv.SSMOptions{
		Instances:   map[string]testenv.SSMInstance{h.id: h.instance()},
		NotYetPolls: 1, // the first poll of each command finds nothing yet
	})
	p := ssmpush.New(testenv.SSMClient(t, srv.URL), ssmpush.Config{
		Targets:      []ident.SSMTarget{{InstanceID: h.id}},
		EnvFile:      h.envFile,
		Programs:     []string{"app"},
		PollInterval: 20 * time.Millisecond,
	})
	eu := remote.Target{Region: "EU", Cloud: "eu.example.test", Generation: 1}

	t.Run("first_push_writes_and_restarts", func(t *testing.T) {
		res, err := p.Push(pushCtx(t, 20*time.Second), eu, nil)
		if err != nil {
			t.Fatalf("push: %v", err)
		}
		if !slices.Equal(res.Converged, []string{h.id}) || len(res.Failed) != 0 {
			t.Fatalf("result %+v, want %s converged", res, h.id)
		}
		data, err := os.ReadFile(h.envFile)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(remote.Render(eu)) {
			t.Fatalf("env file:\n%s\nwant:\n%s", data, remote.Render(eu))
		}
		fi, err := os.Stat(h.envFile)
		if err != nil || fi.Mode().Perm() != 0o644 {
			t.Fatalf("env file mode %v (%v), want 0644", fi.Mode(), err)
		}
		waitStarts(t, h, 2)
		if m, _ := os.ReadFile(h.envFile + ".applied"); strings.TrimSpace(string(m)) != "1" {
			t.Fatalf("marker holds %q, want 1", m)
		}
		leftovers, _ := filepath.Glob(h.envFile + ".*tmp*")
		if len(leftovers) != 0 {
			t.Fatalf("temp files left: %v", leftovers)
		}
	})

	t.Run("same_generation_restarts_nothing", func(t *testing.T) {
		pid := appPID(t, h)
		res, err := p.Push(pushCtx(t, 20*time.Second), eu, []string{h.id})
		if err != nil || !slices.Equal(res.Converged, []string{h.id}) {
			t.Fatalf("re-push: %+v, %v", res, err)
		}
		if got := appPID(t, h); got != pid {
			t.Fatalf("app pid %v -> %v: re-push restarted it", pid, got)
		}
		waitStarts(t, h, 2)
	})

	t.Run("stale_generation_refused", func(t *testing.T) {
		pid := appPID(t, h)
		old := remote.Target{Region: "NAM", Cloud: "nam.example.test", Generation: 0}
		res, err := p.Push(pushCtx(t, 20*time.Second), old, nil)
		if err != nil {
			t.Fatalf("push: %v", err)
		}
		if len(res.Converged) != 0 || !errors.Is(res.Failed[h.id], remote.ErrStaleGeneration) {
			t.Fatalf("result %+v, want %s failed with ErrStaleGeneration", res, h.id)
		}
		if msg := res.Failed[h.id].Error(); !strings.Contains(msg, "host has generation 1, refusing 0") {
			t.Fatalf("error %q does not say which generations", msg)
		}
		if e := readEnv(t, h.envFile); e.Target() != eu {
			t.Fatalf("env file points at %+v, want %+v", e.Target(), eu)
		}
		if got := appPID(t, h); got != pid {
			t.Fatalf("stale push restarted app")
		}
	})

	t.Run("next_generation_restarts_once_more", func(t *testing.T) {
		apac := remote.Target{Region: "APAC", Cloud: "apac.example.test:8443", Generation: 2}
		res, err := p.Push(pushCtx(t, 20*time.Second), apac, nil)
		if err != nil || !slices.Equal(res.Converged, []string{h.id}) {
			t.Fatalf("push: %+v, %v", res, err)
		}
		if e := readEnv(t, h.envFile); e.Target() != apac {
			t.Fatalf("env file points at %+v, want %+v", e.Target(), apac)
		}
		waitStarts(t, h, 3)
	})

	t.Run("send_command_parameters", func(t *testing.T) {
		cmds := srv.Commands()
		if len(cmds) != 4 {
			t.Fatalf("%d commands, want 4", len(cmds))
		}
		c := cmds[0]
		if c.DocumentName != "AWS-RunShellScript" || c.MaxConcurrency != "50" || c.MaxErrors != "100%" {
			t.Errorf("command %+v: want AWS-RunShellScript, 50, 100%%", c)
		}
		if !slices.Equal(c.InstanceIDs, []string{h.id}) || len(c.Targets) != 0 {
			t.Errorf("command targets %v %v, want instance %s", c.InstanceIDs, c.Targets, h.id)
		}
		if c.TimeoutSeconds != 30 {
			t.Errorf("TimeoutSeconds %d, want 30 (SSM's minimum delivery timeout)", c.TimeoutSeconds)
		}
		// The default command timeout, not the caller's 20s deadline: a slow
		// restart is not killed when the invocation ends.
		if et := c.Parameters["executionTimeout"]; len(et) != 1 || atoi(t, et[0]) != 300 {
			t.Errorf("executionTimeout %v, want [300]", et)
		}
		if !strings.Contains(c.Comment, "generation 1") || !strings.Contains(c.Comment, "EU") {
			t.Errorf("comment %q lacks the generation and region", c.Comment)
		}
		// The stale push read the failed invocation's output, asking again
		// after the first InvocationDoesNotExist.
		if got := srv.RequestsByOperation()["GetCommandInvocation"]; got < 2 {
			t.Errorf("%d GetCommandInvocation requests, want 2 or more", got)
		}
		for _, inv := range srv.Invocations() {
			if inv.Status != "Success" && inv.ResponseCode != 3 {
				t.Errorf("invocation %+v: want success or the stale refusal", inv)
			}
		}
	})
}

func TestSSMPushRejectsUnsafeValues(t *testing.T) {
	srv := testenv.StartSSM(t, testenv.SSMOptions{Instances: fleet(t, 1, nil)})
	good := ssmpush.Config{
		Targets:      []ident.SSMTarget{{InstanceID: instanceID(1)}},
		EnvFile:      filepath.Join(t.TempDir(), "ext_cloud.env"),
		Programs:     []string{"app", "web:*"},
		PollInterval: 10 * time.Millisecond,
	}
	target := remote.Target{Region: "EU", Cloud: "eu.example.test", Generation: 3}
	tests := []struct {
		name   string
		edit   func(*ssmpush.Config, *remote.Target)
		hosts  []string
		target error
		want   string // in the error, naming the setting
	}{
		{name: "region_command_substitution", edit: func(_ *ssmpush.Config, t *remote.Target) { t.Region = "EU$(reboot)" }, target: remote.ErrInvalidTarget},
		{name: "region_quote", edit: func(_ *ssmpush.Config, t *remote.Target) { t.Region = "EU'; rm -rf /; '" }, target: remote.ErrInvalidTarget},
		{name: "cloud_backtick", edit: func(_ *ssmpush.Config, t *remote.Target) { t.Cloud = "eu.example.test`id`" }, target: remote.ErrInvalidTarget},
		{name: "cloud_newline", edit: func(_ *ssmpush.Config, t *remote.Target) { t.Cloud = "eu\nEXT_CLOUD_GENERATION=99" }, target: remote.ErrInvalidTarget},
		{name: "negative_generation", edit: func(_ *ssmpush.Config, t *remote.Target) { t.Generation = -1 }, target: remote.ErrInvalidTarget},
		{name: "env_file_relative", edit: func(c *ssmpush.Config, _ *remote.Target) { c.EnvFile = "tmp/ext_cloud.env" }, target: ssmpush.ErrInvalid, want: `ENV_FILE: "tmp/ext_cloud.env" is not an absolute path (e.g. /opt/application/tmp/ext_cloud.env)`},
		{name: "env_file_quote", edit: func(c *ssmpush.Config, _ *remote.Target) { c.EnvFile = "/tmp/x';reboot;'" }, target: ssmpush.ErrInvalid, want: `ENV_FILE: "/tmp/x';reboot;'": character '\'' not allowed`},
		{name: "env_file_space", edit: func(c *ssmpush.Config, _ *remote.Target) { c.EnvFile = "/tmp/a b" }, target: ssmpush.ErrInvalid, want: `ENV_FILE: "/tmp/a b": character ' ' not allowed`},
		{name: "env_file_dotdot", edit: func(c *ssmpush.Config, _ *remote.Target) { c.EnvFile = "/opt/../etc/passwd" }, target: ssmpush.ErrInvalid, want: `ENV_FILE: "/opt/../etc/passwd" is not a clean path`},
		{name: "program_semicolon", edit: func(c *ssmpush.Config, _ *remote.Target) { c.Programs = []string{"app;reboot"} }, target: ssmpush.ErrInvalid, want: `SUPERVISOR_PROGRAMS: program "app;reboot"`},
		{name: "program_space", edit: func(c *ssmpush.Config, _ *remote.Target) { c.Programs = []string{"app web"} }, target: ssmpush.ErrInvalid, want: `SUPERVISOR_PROGRAMS: program "app web"`},
		{name: "program_glob_name", edit: func(c *ssmpush.Config, _ *remote.Target) { c.Programs = []string{"*"} }, target: ssmpush.ErrInvalid, want: `SUPERVISOR_PROGRAMS: program "*"`},
		{name: "max_errors", edit: func(c *ssmpush.Config, _ *remote.Target) { c.MaxErrors = "1;x" }, target: ssmpush.ErrInvalid, want: `SSM_MAX_ERRORS: "1;x" is not a count or percentage`},
		{name: "max_concurrency", edit: func(c *ssmpush.Config, _ *remote.Target) { c.MaxConcurrency = "50 x" }, target: ssmpush.ErrInvalid, want: `SSM_MAX_CONCURRENCY: "50 x" is not a count or percentage`},
		{name: "max_concurrency_zero", edit: func(c *ssmpush.Config, _ *remote.Target) { c.MaxConcurrency = "0" }, target: ssmpush.ErrInvalid, want: `SSM_MAX_CONCURRENCY: "0" is not a count or percentage (want e.g. 50 or 10%)`},
		{name: "max_concurrency_zero_percent", edit: func(c *ssmpush.Config, _ *remote.Target) { c.MaxConcurrency = "0%" }, target: ssmpush.ErrInvalid, want: `SSM_MAX_CONCURRENCY: "0%"`},
		{name: "target_upper_case_instance_id", edit: func(c *ssmpush.Config, _ *remote.Target) {
			c.Targets = []ident.SSMTarget{{InstanceID: "i-0123456789ABCDEF0"}}
		}, target: ssmpush.ErrInvalid, want: `SSM_TARGETS entry 1: "i-0123456789ABCDEF0" is not an instance ID`},
		{name: "target_tag_and_instance", edit: func(c *ssmpush.Config, _ *remote.Target) {
			c.Targets = []ident.SSMTarget{{TagKey: "role", TagValue: "app", InstanceID: "i-01234567"}}
		}, target: ssmpush.ErrInvalid, want: `SSM_TARGETS entry 1: tag key "role"`},
		{name: "target_tag_shell", edit: func(c *ssmpush.Config, _ *remote.Target) {
			c.Targets = []ident.SSMTarget{{TagKey: "role", TagValue: "a;b"}}
		}, target: ssmpush.ErrInvalid, want: `SSM_TARGETS entry 1: "tag:role=a;b": character ';' not allowed`},
		{name: "host_not_an_instance", edit: func(*ssmpush.Config, *remote.Target) {}, hosts: []string{"i-1;reboot"}, target: ssmpush.ErrInvalid, want: `pending host "i-1;reboot" is not an instance ID`},
		{name: "target_tag_without_value", edit: func(c *ssmpush.Config, _ *remote.Target) { c.Targets = []ident.SSMTarget{{TagKey: "role"}} }, target: ssmpush.ErrInvalid, want: `SSM_TARGETS entry 1: `},
		{name: "target_bad_instance_id", edit: func(c *ssmpush.Config, _ *remote.Target) { c.Targets = []ident.SSMTarget{{InstanceID: "i-1;reboot"}} }, target: ssmpush.ErrInvalid, want: `SSM_TARGETS entry 1: "i-1;reboot" is not an instance ID`},
		{name: "no_targets", edit: func(c *ssmpush.Config, _ *remote.Target) { c.Targets = nil }, target: ssmpush.ErrInvalid, want: `SSM_TARGETS: empty (want tag:Key=Value or instance IDs`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, tg := good, target
			tc.edit(&c, &tg)
			p := ssmpush.New(testenv.SSMClient(t, srv.URL), c)
			res, err := p.Push(pushCtx(t, 5*time.Second), tg, tc.hosts)
			if !errors.Is(err, tc.target) {
				t.Fatalf("err = %v, want %v", err, tc.target)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
			if len(res.Converged) != 0 || len(res.Failed) != 0 {
				t.Fatalf("result %+v, want empty", res)
			}
		})
	}
	if n := srv.Requests(); n != 0 {
		t.Fatalf("%d requests reached SSM, want 0", n)
	}
	// The same endpoint does serve a valid push.
	p := ssmpush.New(testenv.SSMClient(t, srv.URL), good)
	if res, err := p.Push(pushCtx(t, 10*time.Second), target, nil); err != nil || len(res.Converged) != 1 {
		t.Fatalf("valid push: %+v, %v", res, err)
	}
	if n := srv.SendCommandCalls(); n != 1 {
		t.Fatalf("%d SendCommand calls, want 1", n)
	}
}

// fleet returns n instances sharing a stub supervisorctl, each in its own
// sandbox. An env file path is absolute, so hosts of one machine share it;
// the script's lock serialises them.
func fleet(t *testing.T, n int, tags func(i int) map[string]string) map[string]testenv.SSMInstance {
	t.Helper()
	ctl := stubSupervisorctl(t)
	base := t.TempDir()
	m := map[string]testenv.SSMInstance{}
	for i := 1; i <= n; i++ {
		dir := filepath.Join(base, fmt.Sprint(i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		inst := testenv.SSMInstance{Dir: dir, Env: []string{"SUPERVISORCTL=" + ctl}}
		if tags != nil {
			inst.Tags = tags(i)
		}
		m[instanceID(i)] = inst
	}
	return m
}

func TestSSMPushBatchesInstanceIDs(t *testing.T) {
	insts := fleet(t, 120, nil)
	envFile := filepath.Join(t.TempDir(), "ext_cloud.env")
	srv := testenv.StartSSM(t, testenv.SSMOptions{Instances: insts})
	var ids []string
	for id := range insts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	tg := remote.Target{Region: "EU", Cloud: "eu.example.test", Generation: 5}

	t.Run("hosts", func(t *testing.T) {
		p := ssmpush.New(testenv.SSMClient(t, srv.URL), ssmpush.Config{
			EnvFile: envFile, Programs: []string{"app"}, PollInterval: 20 * time.Millisecond,
		})
		res, err := p.Push(pushCtx(t, 60*time.Second), tg, ids)
		if err != nil {
			t.Fatalf("push: %v", err)
		}
		if !slices.Equal(res.Converged, ids) || len(res.Failed) != 0 {
			t.Fatalf("converged %d, failed %v; want all 120", len(res.Converged), res.Failed)
		}
		if got := srv.InstancesPerCall(); !slices.Equal(got, []int{50, 50, 20}) {
			t.Fatalf("instances per SendCommand %v, want [50 50 20]", got)
		}
	})

	t.Run("configured_targets", func(t *testing.T) {
		var targets []ident.SSMTarget
		for _, id := range ids {
			targets = append(targets, ident.SSMTarget{InstanceID: id})
		}
		targets = append(targets, ident.SSMTarget{InstanceID: ids[0]}) // duplicates are sent once
		p := ssmpush.New(testenv.SSMClient(t, srv.URL), ssmpush.Config{
			Targets: targets, EnvFile: envFile, Programs: []string{"app"}, PollInterval: 20 * time.Millisecond,
		})
		before := srv.SendCommandCalls()
		res, err := p.Push(pushCtx(t, 60*time.Second), tg, nil)
		if err != nil {
			t.Fatalf("push: %v", err)
		}
		if len(res.Converged) != 120 {
			t.Fatalf("converged %d, failed %v; want 120", len(res.Converged), res.Failed)
		}
		if got := srv.SendCommandCalls() - before; got != 3 {
			t.Fatalf("%d SendCommand calls, want 3", got)
		}
	})
}

func TestSSMPushTagTarget(t *testing.T) {
	insts := fleet(t, 3, func(i int) map[string]string {
		if i == 3 {
			return map[string]string{"role": "db"}
		}
		return map[string]string{"role": "app"}
	})
	envDir := t.TempDir()
	srv := testenv.StartSSM(t, testenv.SSMOptions{Instances: insts})
	p := ssmpush.New(testenv.SSMClient(t, srv.URL), ssmpush.Config{
		Targets:      []ident.SSMTarget{{TagKey: "role", TagValue: "app"}},
		EnvFile:      filepath.Join(envDir, "ext_cloud.env"),
		Programs:     []string{"app"},
		PollInterval: 20 * time.Millisecond,
	})
	res, err := p.Push(pushCtx(t, 20*time.Second), remote.Target{Region: "EU", Cloud: "eu.example.test", Generation: 1}, nil)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if want := []string{instanceID(1), instanceID(2)}; !slices.Equal(res.Converged, want) {
		t.Fatalf("converged %v, want %v", res.Converged, want)
	}
	cmds := srv.Commands()
	if len(cmds) != 1 {
		t.Fatalf("%d SendCommand calls, want 1", len(cmds))
	}
	if tg := cmds[0].Targets; len(tg) != 1 || tg[0].Key != "tag:role" || !slices.Equal(tg[0].Values, []string{"app"}) || len(cmds[0].InstanceIDs) != 0 {
		t.Fatalf("targets %+v, instance ids %v; want tag:role=app only", tg, cmds[0].InstanceIDs)
	}
}

func TestSSMPushTagMatchingNothing(t *testing.T) {
	srv := testenv.StartSSM(t, testenv.SSMOptions{Instances: fleet(t, 1, nil)})
	p := ssmpush.New(testenv.SSMClient(t, srv.URL), ssmpush.Config{
		Targets: []ident.SSMTarget{{TagKey: "role", TagValue: "none"}}, EnvFile: filepath.Join(t.TempDir(), "ext_cloud.env"), PollInterval: 20 * time.Millisecond,
	})
	start := time.Now()
	_, err := p.Push(pushCtx(t, 2*time.Second), remote.Target{Region: "EU", Cloud: "eu", Generation: 1}, nil)
	if err == nil || !strings.Contains(err.Error(), "no instance matched") {
		t.Fatalf("err = %v, want no instance matched", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("push took %v, past its 2s deadline", d)
	}
}

func TestSSMPushNeverAnsweringHost(t *testing.T) {
	insts := fleet(t, 2, nil)
	bad := insts[instanceID(2)]
	bad.NeverAnswer = true
	insts[instanceID(2)] = bad
	srv := testenv.StartSSM(t, testenv.SSMOptions{Instances: insts})
	p := ssmpush.New(testenv.SSMClient(t, srv.URL), ssmpush.Config{
		Targets:      []ident.SSMTarget{{InstanceID: instanceID(1)}, {InstanceID: instanceID(2)}},
		EnvFile:      filepath.Join(t.TempDir(), "ext_cloud.env"),
		PollInterval: 20 * time.Millisecond,
	})
	const deadline = 3 * time.Second
	start := time.Now()
	res, err := p.Push(pushCtx(t, deadline), remote.Target{Region: "EU", Cloud: "eu", Generation: 1}, nil)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if elapsed >= deadline {
		t.Fatalf("push returned after %v, not before its %v deadline", elapsed, deadline)
	}
	if !slices.Equal(res.Converged, []string{instanceID(1)}) {
		t.Fatalf("converged %v, want %s", res.Converged, instanceID(1))
	}
	if !slices.Equal(res.InProgress, []string{instanceID(2)}) || len(res.Failed) != 0 {
		t.Fatalf("in progress %v, failed %v; want %s in progress, nothing failed", res.InProgress, res.Failed, instanceID(2))
	}
	// The command may still reach the silent host until its delivery
	// timeout (30 s) plus its execution timeout (300 s by default).
	if len(res.Commands) != 1 || res.Commands[0].ID != srv.Commands()[0].CommandID || res.Commands[0].Ended || !res.Running() {
		t.Fatalf("commands %+v, want the one command, running", res.Commands)
	}
	if min := start.Add(330 * time.Second); res.Commands[0].Until.Before(min) {
		t.Fatalf("command until %v, want at least %v", res.Commands[0].Until, min)
	}
}

// TestSSMPollFollowsACommandAcrossCalls sends to a host whose restart
// outlasts the first call: Push returns it in progress with the command,
// Poll (a later invocation) sends nothing and reports it converged once the
// script ends, and a command that has ended on no host is an error.
func TestSSMPollFollowsACommandAcrossCalls(t *testing.T) {
	ctl := filepath.Join(t.TempDir(), "supervisorctl")
	// stop takes 3 s, as a program with a slow shutdown does.
	if err := os.WriteFile(ctl, []byte("#!/bin/sh\ncase \"$1\" in stop) sleep 3 ;; status) echo 'app RUNNING pid 1, uptime 0:00:01' ;; esac\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv := testenv.StartSSM(t, testenv.SSMOptions{Instances: map[string]testenv.SSMInstance{
		instanceID(1): {Dir: dir, Env: []string{"SUPERVISORCTL=" + ctl}},
	}})
	p := ssmpush.New(testenv.SSMClient(t, srv.URL), ssmpush.Config{
		Targets: []ident.SSMTarget{{InstanceID: instanceID(1)}}, EnvFile: filepath.Join(dir, "ext_cloud.env"),
		CommandTimeout: 120 * time.Second, PollInterval: 20 * time.Millisecond,
	})
	tg := remote.Target{Region: "EU", Cloud: "eu.example.test", Generation: 1}
	res, err := p.Push(pushCtx(t, time.Second), tg, nil)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if len(res.Converged) != 0 || !slices.Equal(res.InProgress, []string{instanceID(1)}) || len(res.Commands) != 1 || !res.Running() {
		t.Fatalf("first call: %+v, want the host in progress and one running command", res)
	}
	if et := srv.Commands()[0].Parameters["executionTimeout"]; !slices.Equal(et, []string{"120"}) {
		t.Errorf("executionTimeout %v, want the configured [120]", et)
	}
	for {
		res, err = p.Poll(pushCtx(t, time.Second), res.Commands)
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if !res.Running() {
			break
		}
		if !slices.Equal(res.InProgress, []string{instanceID(1)}) {
			t.Fatalf("poll while running: %+v, want the host in progress", res)
		}
	}
	if !slices.Equal(res.Converged, []string{instanceID(1)}) || len(res.InProgress) != 0 || len(res.Failed) != 0 {
		t.Fatalf("after the restart: %+v, want the host converged", res)
	}
	if n := srv.SendCommandCalls(); n != 1 {
		t.Fatalf("%d SendCommand calls, want 1: polling sends nothing", n)
	}
	if got := srv.RequestsByOperation()["ListCommands"]; got == 0 {
		t.Errorf("no ListCommands: the end of the command was not confirmed")
	}
	// A command past its Until has ended, whatever it lists.
	res, err = p.Poll(pushCtx(t, time.Second), []remote.Command{{ID: srv.Commands()[0].CommandID, Until: time.Now().Add(-time.Second)}})
	if err != nil || !slices.Equal(res.Converged, []string{instanceID(1)}) || res.Running() {
		t.Fatalf("poll of an expired command: %+v, %v; want converged, nothing running", res, err)
	}
	if _, err := p.Poll(pushCtx(t, time.Second), []remote.Command{{ID: "", Until: time.Now()}}); !errors.Is(err, ssmpush.ErrInvalid) {
		t.Fatalf("poll of an empty command id: %v, want ErrInvalid", err)
	}
}

// TestSSMPushUndeliveredHostFails: a host whose agent is gone stays pending
// until the delivery timeout, then fails (it never received the command)
// and is to be sent again.
func TestSSMPushUndeliveredHostFails(t *testing.T) {
	insts := fleet(t, 1, nil)
	bad := insts[instanceID(1)]
	bad.NeverAnswer = true
	insts[instanceID(1)] = bad
	srv := testenv.StartSSM(t, testenv.SSMOptions{Instances: insts, UndeliveredAfter: time.Second})
	p := ssmpush.New(testenv.SSMClient(t, srv.URL), ssmpush.Config{
		Targets: []ident.SSMTarget{{InstanceID: instanceID(1)}}, EnvFile: filepath.Join(t.TempDir(), "ext_cloud.env"),
		PollInterval: 50 * time.Millisecond,
	})
	res, err := p.Push(pushCtx(t, 10*time.Second), remote.Target{Region: "EU", Cloud: "eu", Generation: 1}, nil)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	e := res.Failed[instanceID(1)]
	if e == nil || !strings.Contains(e.Error(), "DeliveryTimedOut") || res.Running() || len(res.InProgress) != 0 {
		t.Fatalf("result %+v, want the host failed with DeliveryTimedOut and nothing running", res)
	}
}

func TestSSMPushScriptFailure(t *testing.T) {
	h := newSSMHost(t, instanceID(1))
	srv := testenv.StartSSM(t, testenv.SSMOptions{Instances: map[string]testenv.SSMInstance{h.id: h.instance()}})
	p := ssmpush.New(testenv.SSMClient(t, srv.URL), ssmpush.Config{
		Targets: []ident.SSMTarget{{InstanceID: h.id}}, EnvFile: h.envFile, Programs: []string{"nosuch"}, PollInterval: 20 * time.Millisecond,
	})
	res, err := p.Push(pushCtx(t, 20*time.Second), remote.Target{Region: "EU", Cloud: "eu", Generation: 1}, nil)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	e := res.Failed[h.id]
	if e == nil || errors.Is(e, remote.ErrStaleGeneration) {
		t.Fatalf("failed %v, want %s failed", res.Failed, h.id)
	}
	for _, want := range []string{"Failed", "exit code 1", "nosuch"} {
		if !strings.Contains(e.Error(), want) {
			t.Errorf("error %q lacks %q", e, want)
		}
	}
	if _, err := os.Stat(h.envFile + ".applied"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("marker written after a failed restart (%v)", err)
	}
}

func TestSSMPushAPIFaults(t *testing.T) {
	tg := remote.Target{Region: "EU", Cloud: "eu.example.test", Generation: 1}
	t.Run("throttled_first_calls_succeed", func(t *testing.T) {
		srv := testenv.StartSSM(t, testenv.SSMOptions{Instances: fleet(t, 1, nil), ThrottleFirst: 2})
		p := ssmpush.New(testenv.SSMClient(t, srv.URL), ssmpush.Config{
			Targets: []ident.SSMTarget{{InstanceID: instanceID(1)}}, EnvFile: filepath.Join(t.TempDir(), "ext_cloud.env"), PollInterval: 20 * time.Millisecond,
		})
		res, err := p.Push(pushCtx(t, 20*time.Second), tg, nil)
		if err != nil || !slices.Equal(res.Converged, []string{instanceID(1)}) {
			t.Fatalf("push: %+v, %v", res, err)
		}
		if got := srv.RequestsByOperation()["SendCommand"]; got != 3 {
			t.Fatalf("%d SendCommand requests, want 3 (2 throttled)", got)
		}
		if got := srv.SendCommandCalls(); got != 1 {
			t.Fatalf("%d accepted SendCommand calls, want 1", got)
		}
	})
	t.Run("access_denied", func(t *testing.T) {
		srv := testenv.StartSSM(t, testenv.SSMOptions{Instances: fleet(t, 1, nil), AccessDenied: true})
		p := ssmpush.New(testenv.SSMClient(t, srv.URL), ssmpush.Config{
			Targets: []ident.SSMTarget{{InstanceID: instanceID(1)}}, EnvFile: filepath.Join(t.TempDir(), "ext_cloud.env"),
		})
		res, err := p.Push(pushCtx(t, 10*time.Second), tg, nil)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
			t.Fatalf("err = %v, want AccessDeniedException", err)
		}
		if len(res.Converged) != 0 || res.Failed[instanceID(1)] == nil {
			t.Fatalf("result %+v, want %s failed", res, instanceID(1))
		}
		if got := srv.Requests(); got != 1 {
			t.Fatalf("%d requests, want 1 (access denied is not retried)", got)
		}
	})
	t.Run("hanging_endpoint_bounded_by_deadline", func(t *testing.T) {
		srv := testenv.StartSSM(t, testenv.SSMOptions{Instances: fleet(t, 1, nil), Hang: true})
		p := ssmpush.New(testenv.SSMClient(t, srv.URL), ssmpush.Config{
			Targets: []ident.SSMTarget{{InstanceID: instanceID(1)}}, EnvFile: filepath.Join(t.TempDir(), "ext_cloud.env"),
		})
		const deadline = 2 * time.Second
		start := time.Now()
		_, err := p.Push(pushCtx(t, deadline), tg, nil)
		if err == nil {
			t.Fatal("push to a hanging endpoint succeeded")
		}
		if d := time.Since(start); d > deadline+time.Second {
			t.Fatalf("push took %v with a %v deadline", d, deadline)
		}
	})
}

func ExampleScript() {
	script, err := ssmpush.Script(remote.Target{Region: "EU", Cloud: "eu.example.test", Generation: 7},
		"/opt/application/tmp/ext_cloud.env", []string{"app", "workers:*"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, line := range strings.Split(script, "\n")[2:5] {
		fmt.Println(line)
	}
	_, err = ssmpush.Script(remote.Target{Region: "EU;reboot", Cloud: "eu", Generation: 8}, "/tmp/e", nil)
	fmt.Println(err)
	// Output:
	// ENV_FILE='/opt/application/tmp/ext_cloud.env'
	// GENERATION='7'
	// PROGRAMS='app workers:*'
	// region "EU;reboot" is not an upper-case name (want A-Z, 0-9 and _, starting with a letter, at most 16, e.g. EU): remote: invalid target
}

// shellCheck runs sh -n on script.
func shellCheck(t testing.TB, script string) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-n")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sh -n: %v\n%s", err, out)
	}
}

// TestSSMPushTagPagesInvocations: a tag matching more hosts than one page
// of ListCommandInvocations (50) reports every host, page by page.
func TestSSMPushTagPagesInvocations(t *testing.T) {
	insts := fleet(t, 60, func(int) map[string]string { return map[string]string{"role": "app"} })
	srv := testenv.StartSSM(t, testenv.SSMOptions{Instances: insts, Parallel: 16})
	p := ssmpush.New(testenv.SSMClient(t, srv.URL), ssmpush.Config{
		Targets: []ident.SSMTarget{{TagKey: "role", TagValue: "app"}}, EnvFile: filepath.Join(t.TempDir(), "ext_cloud.env"),
		PollInterval: 20 * time.Millisecond,
	})
	res, err := p.Push(pushCtx(t, 60*time.Second), remote.Target{Region: "EU", Cloud: "eu", Generation: 1}, nil)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if len(res.Converged) != 60 || len(res.Failed) != 0 || res.Running() {
		t.Fatalf("converged %d, failed %v, running %v; want all 60 converged", len(res.Converged), res.Failed, res.Commands)
	}
	if n := srv.SendCommandCalls(); n != 1 {
		t.Fatalf("%d SendCommand calls, want 1", n)
	}
}
