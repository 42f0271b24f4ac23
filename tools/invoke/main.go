// Command invoke runs one invocation of the Lambda function locally, with no
// AWS account and no Docker: bin/bootstrap under the real Lambda Runtime
// Interface Emulator (as `sam local invoke` runs it inside its container),
// DynamoDB from dynalite, a local SSM endpoint with one simulated host, and
// the configuration from an env file. Run it with `make invoke
// EVENT=events/x.json`.
//
// In the env file (KEY=VALUE lines, # comments), a cloud written
// "simulated" in EXT_CLOUD_FAILOVER_LIST is a loopback cloudlookup server
// that answers 200, and "simulated-down" one that answers 503. The AWS
// endpoints, STATE_TABLE and SSM_TARGETS are set by this command. The state
// starts empty at every run.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"extcloud-failover/internal/state/dynamo"
	"extcloud-failover/internal/testenv/dynalite"
	"extcloud-failover/internal/testenv/localssm"
	"extcloud-failover/internal/testenv/rie"
)

const (
	table    = "local-invoke"
	instance = "i-0123456789abcdef0"
)

func main() {
	bootstrap := flag.String("bootstrap", "bin/bootstrap", "the function binary (make build)")
	event := flag.String("event", "events/stepfunctions.json", "the event to invoke the function with")
	envFile := flag.String("env", "events/local.env", "the function's configuration, KEY=VALUE lines")
	timeout := flag.Duration("timeout", 9*time.Second, "the function's timeout, as template.yaml sets Timeout")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "invoke: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	code, err := run(*bootstrap, *event, *envFile, *timeout, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
	}
	os.Exit(code)
}

// run invokes the function once and prints its log lines, its answer and
// what the simulated host received. It returns 0 for an answer, 1 for an
// error answer or a failure to run, 2 for bad input.
func run(bootstrap, eventPath, envPath string, timeout time.Duration, out io.Writer) (int, error) {
	event, err := os.ReadFile(eventPath)
	if err != nil {
		return 2, fmt.Errorf("EVENT: %w", err)
	}
	env, err := readEnv(envPath)
	if err != nil {
		return 2, err
	}
	var cleanup []func()
	defer func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}()
	if err := simulate(env, &cleanup); err != nil {
		return 2, err
	}

	root, err := repoRoot()
	if err != nil {
		return 1, err
	}
	db, err := dynalite.Start(root)
	if err != nil {
		return 1, err
	}
	cleanup = append(cleanup, db.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dynamo.CreateTable(ctx, dynalite.Client(db.Endpoint), table); err != nil {
		return 1, fmt.Errorf("create the state table: %w", err)
	}

	// One host: its folder stands for its file system, so the default
	// ENV_FILE path works; supervisorctl is a stand-in that reports RUNNING.
	hostRoot, err := os.MkdirTemp("", "invoke-host-")
	if err != nil {
		return 1, err
	}
	cleanup = append(cleanup, func() { os.RemoveAll(hostRoot) })
	hostEnvFile := env["ENV_FILE"]
	if hostEnvFile == "" {
		hostEnvFile = "/opt/application/tmp/ext_cloud.env"
	}
	if !filepath.IsAbs(hostEnvFile) {
		return 2, fmt.Errorf("ENV_FILE %q: want an absolute path", hostEnvFile)
	}
	if err := os.MkdirAll(filepath.Join(hostRoot, filepath.Dir(hostEnvFile)), 0o755); err != nil {
		return 1, err
	}
	ctl := filepath.Join(hostRoot, "supervisorctl")
	if err := os.WriteFile(ctl, []byte("#!/bin/sh\nif [ \"$1\" = status ]; then echo 'app RUNNING pid 1, uptime 0:00:01'; else echo \"supervisorctl $*\" >&2; fi\n"), 0o755); err != nil {
		return 1, err
	}
	ssm, err := localssm.Start(localssm.Options{RootInDir: true, Instances: map[string]localssm.Instance{
		instance: {Dir: hostRoot, Tags: map[string]string{"ExtCloudFailover": "app"}, Env: []string{"SUPERVISORCTL=" + ctl}},
	}})
	if err != nil {
		return 1, err
	}
	cleanup = append(cleanup, ssm.Close)

	env["AWS_ENDPOINT_URL_DYNAMODB"] = db.Endpoint
	env["AWS_ENDPOINT_URL_SSM"] = ssm.URL
	env["STATE_TABLE"] = table
	env["SSM_TARGETS"] = "tag:ExtCloudFailover=app"
	var vars []string
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	e, err := rie.Start(rie.Options{Bootstrap: bootstrap, Timeout: timeout, FunctionName: "extcloud-failover-checker", Env: vars})
	if err != nil {
		return 1, err
	}
	cleanup = append(cleanup, e.Close)

	inv, err := e.Invoke(context.Background(), string(event))
	if err != nil {
		return 1, fmt.Errorf("%w\n%s", err, e.Output())
	}
	fmt.Fprintf(out, "# the function's log lines (%s, %s)\n", eventPath, envPath)
	for _, l := range inv.Lines {
		fmt.Fprintln(out, l)
	}
	fmt.Fprintf(out, "# the answer, after %v\n%s\n", inv.Elapsed.Round(time.Millisecond), inv.Body)
	for _, c := range ssm.Commands() {
		fmt.Fprintf(out, "# SendCommand %s to %v, executionTimeout %v\n", c.CommandID, c.Targets, c.Parameters["executionTimeout"])
	}
	if data, err := os.ReadFile(filepath.Join(hostRoot, hostEnvFile)); err == nil {
		fmt.Fprintf(out, "# %s on the simulated host %s\n%s", hostEnvFile, instance, data)
	}
	switch {
	case inv.TimedOut:
		return 1, errors.New("the function timed out")
	case !inv.OK:
		return 1, fmt.Errorf("the function answered %s: %s", inv.ErrorType, inv.ErrorMessage)
	}
	return 0, nil
}

// readEnv reads KEY=VALUE lines; blank lines and # comments are skipped.
func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("INVOKE_ENV: %w", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE, got %q", path, n, line)
		}
		env[k] = v
	}
	return env, sc.Err()
}

// simulate starts a loopback cloudlookup server for every cloud written
// "simulated" (healthy) or "simulated-down" in EXT_CLOUD_FAILOVER_LIST and
// puts its address in its place.
func simulate(env map[string]string, cleanup *[]func()) error {
	list := env["EXT_CLOUD_FAILOVER_LIST"]
	if list == "" {
		return errors.New("EXT_CLOUD_FAILOVER_LIST: required in the env file")
	}
	entries := strings.Split(list, ",")
	for i, entry := range entries {
		region, cloud, ok := strings.Cut(entry, "=")
		if !ok || (cloud != "simulated" && cloud != "simulated-down") {
			continue
		}
		status := http.StatusOK
		if cloud == "simulated-down" {
			status = http.StatusServiceUnavailable
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"region": region, "status": http.StatusText(status)})
		})}
		go func() { _ = srv.Serve(ln) }()
		*cleanup = append(*cleanup, func() { _ = srv.Close() })
		entries[i] = region + "=" + ln.Addr().String()
	}
	env["EXT_CLOUD_FAILOVER_LIST"] = strings.Join(entries, ",")
	return nil
}

// repoRoot is the folder holding go.mod, upwards from the working
// directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run make invoke from the repository")
		}
		dir = parent
	}
}
