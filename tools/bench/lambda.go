package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"extcloud-failover/internal/testenv/rie"
)

// lambdaTimeout is the deadline each event carries: the function's timeout,
// as template.yaml sets it.
const lambdaTimeout = 9 * time.Second

// probeMS returns the probe_ms of every "check complete" line.
func probeMS(logs string) []time.Duration {
	var out []time.Duration
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Message string  `json:"message"`
			ProbeMS float64 `json:"probe_ms"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Message == "check complete" {
			out = append(out, time.Duration(l.ProbeMS*float64(time.Millisecond)))
		}
	}
	return out
}

// lambdaConfig is one way to run a function for the figures.
type lambdaConfig struct {
	name string
	bin  string
	env  []string // added to the Lambda environment
	// check verifies one answer.
	check func(rie.Invocation) error
}

// startEmulator runs c's binary under the Lambda Runtime Interface
// Emulator, with template.yaml's timeout.
func (b *bench) startEmulator(c lambdaConfig) (*rie.Emulator, error) {
	return rie.Start(rie.Options{
		Emulator: filepath.Join(b.root, rie.Path), Bootstrap: c.bin, Timeout: lambdaTimeout,
		FunctionName: "bench", Env: append([]string{"HOME=" + b.tmp}, c.env...),
	})
}

// coldStarts measures cfg's first invocation in a fresh execution
// environment n times, interleaving the configurations: the emulator
// starts the function at the first invocation, as Lambda does, so the
// round trip holds the process start, its init and the first event.
func (b *bench) coldStarts(ctx context.Context, cfgs []lambdaConfig, n int) (map[string][]time.Duration, error) {
	out := map[string][]time.Duration{}
	for i := range n + 1 {
		for _, c := range cfgs {
			e, err := b.startEmulator(c)
			if err != nil {
				return nil, err
			}
			inv, err := e.Invoke(ctx, `{"offset": 0}`)
			e.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: %w\n%s", c.name, err, e.Output())
			}
			if err := c.check(inv); err != nil {
				return nil, fmt.Errorf("%s: %w\n%s", c.name, err, e.Output())
			}
			if i > 0 {
				out[c.name] = append(out[c.name], inv.Elapsed)
			}
		}
	}
	return out, nil
}

// warmInvokes runs one execution environment of cfg and invokes it n times
// after one warm-up invocation; it returns the round trips and the
// function's output.
func (b *bench) warmInvokes(ctx context.Context, c lambdaConfig, n int) ([]time.Duration, string, error) {
	e, err := b.startEmulator(c)
	if err != nil {
		return nil, "", err
	}
	defer e.Close()
	var out []time.Duration
	for i := range n + 1 {
		inv, err := e.Invoke(ctx, `{"offset": 10}`)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w\n%s", c.name, err, e.Output())
		}
		if err := c.check(inv); err != nil {
			return nil, "", fmt.Errorf("%s: %w\n%s", c.name, err, e.Output())
		}
		if i > 0 {
			out = append(out, inv.Elapsed)
		}
	}
	return out, e.Stdout(), nil
}

func healthyAnswer(a rie.Invocation) error {
	var res struct {
		Healthy *bool  `json:"healthy"`
		Action  string `json:"action"`
	}
	if !a.OK {
		return fmt.Errorf("error answer: %s", a.Body)
	}
	if err := json.Unmarshal(a.Body, &res); err != nil || res.Healthy == nil || !*res.Healthy {
		return fmt.Errorf("answer %s: want healthy", a.Body)
	}
	return nil
}

// lambdaFigures measures bin/bootstrap: cold start and warm invocations,
// with and without the Datadog wrapper, against a minimal Go runtime doing
// the same GET; DynamoDB calls per invocation; binary sizes.
func (b *bench) lambdaFigures(ctx context.Context) error {
	dyn, err := b.dynalite(ctx)
	if err != nil {
		return err
	}
	dynProxy, dynCalls, err := b.countingProxy(dyn)
	if err != nil {
		return err
	}
	ssm, _, err := b.simulatedFleet(1, nil)
	if err != nil {
		return err
	}
	regions, err := b.startRegions()
	if err != nil {
		return err
	}
	var ddPosts atomic.Int64
	ddAddr, ddStop, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		ddPosts.Add(1)
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "{}")
	}))
	if err != nil {
		return err
	}
	b.cleanup = append(b.cleanup, ddStop)
	app := []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + dynProxy,
		"AWS_ENDPOINT_URL_SSM=" + ssm.URL,
		"EXT_CLOUD_FAILOVER_LIST=NAM=" + regions[0].Cloud() + ",EU=" + regions[1].Cloud() + ",APAC=" + regions[2].Cloud(),
		"CLOUDLOOKUP_URL=http://{cloud}/cloudlookup?orgId={org_id}&txnId={txn_id}",
		"CONNECTION_KEEPALIVE_ORG_ID=org-1",
		"CONNECTION_KEEPALIVE_TXN_ID=txn-1",
		"STATE_TABLE=" + benchTable,
		"STATE_KEY=bench",
		"SSM_TARGETS=tag:ExtCloudFailover=app",
		"SUPERVISOR_PROGRAMS=app",
	}
	plain := lambdaConfig{name: "plain", bin: b.lambda, env: app, check: healthyAnswer}
	dd := lambdaConfig{name: "datadog", bin: b.lambda, check: healthyAnswer,
		env: append(slices.Clip(app), "DD_API_KEY=0123456789abcdef0123456789abcdef", "DD_SITE=http://"+ddAddr)}
	floor := lambdaConfig{name: "floor", bin: b.base.minRuntime, env: []string{"PROBE_URL=" + regions[0].URL()}, check: healthyAnswer}

	cold, err := b.coldStarts(ctx, []lambdaConfig{plain, dd, floor}, b.o.runs)
	if err != nil {
		return err
	}
	sec := "Lambda"
	cmd := "make bench (lambdaFigures)"
	b.report.add(row{section: sec, figure: fmt.Sprintf("cold start: first invocation of a fresh execution environment under the Lambda emulator, round trip (process start, init, one DynamoDB GetItem against dynalite, the probe), median of %d", b.o.runs),
		ours: ms(median(cold["plain"])), baseline: "minimal Go runtime doing the same GET " + ms(median(cold["floor"])),
		ratio: ratio(float64(median(cold["plain"])), float64(median(cold["floor"]))), command: cmd})
	b.report.add(row{section: sec, figure: "cold start with the Datadog wrapper (DD_API_KEY set, DD_SITE a local server)",
		ours: ms(median(cold["datadog"])), baseline: "same, without Datadog " + ms(median(cold["plain"])),
		ratio: ratio(float64(median(cold["datadog"])), float64(median(cold["plain"]))), command: cmd})

	dynCalls.reset()
	warmPlain, logs, err := b.warmInvokes(ctx, plain, b.o.warm)
	if err != nil {
		return err
	}
	n := b.o.warm + 1
	gets, puts, conns := dynCalls.get("GetItem"), dynCalls.get("PutItem"), dynCalls.conns.Load()
	probePlain := median(probeMS(logs))
	ddPosts.Store(0)
	warmDD, logsDD, err := b.warmInvokes(ctx, dd, b.o.warm)
	if err != nil {
		return err
	}
	posts := ddPosts.Load()
	probeDD := median(probeMS(logsDD))
	warmFloor, _, err := b.warmInvokes(ctx, floor, b.o.warm)
	if err != nil {
		return err
	}
	mp, mdd, mf := median(warmPlain), median(warmDD), median(warmFloor)
	b.figs["lambda.warm"] = mp.Seconds()
	b.report.add(row{section: sec, figure: fmt.Sprintf("warm invocation, healthy: event queued to response received, median of %d", b.o.warm),
		ours: ms(mp), baseline: "minimal Go runtime " + ms(mf), ratio: ratio(float64(mp), float64(mf)), command: cmd})
	b.report.add(row{section: sec, figure: "warm invocation overhead beyond the probe (round trip − probe_ms of the log line): the emulator, DynamoDB GetItem, decision, logs",
		ours: ms(mp - probePlain), baseline: "probe itself " + ms(probePlain), ratio: ratio(float64(mp-probePlain), float64(probePlain)), command: cmd})
	b.report.add(row{section: sec, figure: "warm invocation with the Datadog wrapper (metrics flushed to the local site each invocation)",
		ours: ms(mdd), baseline: "without Datadog " + ms(mp), ratio: ratio(float64(mdd), float64(mp)), command: cmd})
	b.report.add(row{section: sec, figure: "warm overhead beyond the probe, with Datadog",
		ours: ms(mdd - probeDD), baseline: "without Datadog " + ms(mp-probePlain), ratio: ratio(float64(mdd-probeDD), float64(mp-probePlain)), command: cmd})

	readsPer := float64(gets) / float64(n)
	writesPer := float64(puts) / float64(n)
	b.report.add(row{section: "State", figure: fmt.Sprintf("DynamoDB calls per healthy Lambda invocation (real bin/bootstrap, counted at a proxy in front of dynalite over %d warm invocations)", n),
		ours: fmt.Sprintf("%.2f GetItem, %.2f PutItem", readsPer, writesPer), baseline: "goal: 1 read, 0 writes",
		goal: "1 read, 0 writes", met: gets == n && puts == 0, command: cmd})
	b.report.note(sec, fmt.Sprintf("AWS clients are built once per container (cmd/lambda newApp, before lambda.Start): one process opened %d TCP connection(s) to DynamoDB over %d invocations; a client per invocation would open one each time.", conns, n))
	b.report.note(sec, fmt.Sprintf("With DD_API_KEY set the local Datadog site received %d metric posts over %d invocations; with it unset the handler is not wrapped and nothing is sent.", posts, n))

	for _, bin := range []struct{ name, path string }{{"bin/extcloud-failover (host)", b.host}, {"bin/bootstrap (Lambda)", b.lambda}} {
		fi, err := os.Stat(bin.path)
		if err != nil {
			return err
		}
		b.report.add(row{section: "Binaries", figure: bin.name + ": size, -trimpath -ldflags='-s -w'",
			ours: mb(fi.Size()), baseline: "", command: "make build && ls -l bin/"})
	}
	if fi, err := os.Stat(b.base.bareGet); err == nil {
		b.report.note("Binaries", "For scale: a bare Go `http.Get` program built the same way is "+mb(fi.Size())+".")
	}
	if gets == 0 {
		return errors.New("no GetItem counted: the proxy is not in the path")
	}
	return nil
}
