// This file holds the state-store figures: DynamoDB calls per invocation
// against dynalite, and the file store.

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/renameio/v2"

	"extcloud-failover/internal/check"
	"extcloud-failover/internal/config"
	"extcloud-failover/internal/probe"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
	"extcloud-failover/internal/state/dynamo"
	"extcloud-failover/internal/testenv/dynalite"
)

// dynalite returns the endpoint of the bench's dynalite, starting it once.
func (b *bench) dynalite(ctx context.Context) (string, error) {
	if b.dynamo != "" {
		return b.dynamo, nil
	}
	ep, err := b.startDynalite(ctx)
	b.dynamo = ep
	return ep, err
}

// countOps adds an SDK middleware that counts every operation the client
// starts (retries are not separate operations).
func countOps(c *opCounter) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("benchCount",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					c.count("DynamoDB." + awsmiddleware.GetOperationName(ctx))
					return next.HandleInitialize(ctx, in)
				}), middleware.Before)
		})
	}
}

// noPush fails the bench if a healthy check pushes.
type noPush struct{}

func (noPush) Push(context.Context, remote.Target, []string) (remote.Result, error) {
	return remote.Result{}, errors.New("a healthy check pushed")
}

// stateFigures counts DynamoDB calls of healthy check.Run invocations
// through SDK middleware, and measures FileStore compare-and-swap and load
// rates against plain atomic writes and reads of the same bytes.
func (b *bench) stateFigures(ctx context.Context) error {
	ep, err := b.dynalite(ctx)
	if err != nil {
		return err
	}
	// Every region answers: each check probes them all, and a region seen
	// down is recorded (a write), so healthy means every region healthy.
	nam, err := b.startRegion("NAM")
	if err != nil {
		return err
	}
	eu, err := b.startRegion("EU")
	if err != nil {
		return err
	}
	env := map[string]string{
		"EXT_CLOUD_FAILOVER_LIST":     "NAM=" + nam.Cloud() + ",EU=" + eu.Cloud(),
		"CLOUDLOOKUP_URL":             "http://{cloud}/cloudlookup?orgId={org_id}&txnId={txn_id}",
		"CONNECTION_KEEPALIVE_ORG_ID": "org-1",
		"CONNECTION_KEEPALIVE_TXN_ID": "txn-1",
		"LATENCY_CHECK":               "off",
	}
	cfg, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return err
	}
	ops := newOpCounter()
	store := dynamo.NewStore(dynalite.Client(ep, countOps(ops)), benchTable, "bench-middleware")
	if _, err := store.Swap(ctx, state.State{}, state.State{ActiveRegion: "NAM", Generation: 1}); err != nil {
		return err
	}
	ops.reset()
	deps := check.Deps{Store: store, Pusher: noPush{}, Prober: probe.New(cfg)}
	const n = 20
	for range n {
		res, err := check.Run(ctx, cfg, deps)
		if err != nil || res.Healthy == nil || !*res.Healthy {
			return fmt.Errorf("healthy check.Run: %+v, %v", res, err)
		}
	}
	reads := ops.get("GetItem") + ops.get("Query") + ops.get("Scan") + ops.get("BatchGetItem")
	writes := ops.get("PutItem") + ops.get("UpdateItem") + ops.get("DeleteItem") + ops.get("TransactWriteItems")
	b.report.add(row{section: "State", figure: fmt.Sprintf("DynamoDB operations per healthy check.Run, counted by SDK middleware against dynalite (%d runs)", n),
		ours:     fmt.Sprintf("%.2f reads, %.2f writes", float64(reads)/n, float64(writes)/n),
		baseline: "goal: 1 read, 0 writes", goal: "1 read, 0 writes", met: reads == n && writes == 0,
		command: "make bench (stateFigures)"})

	dir := filepath.Join(b.tmp, "filestore")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fs := state.NewFileStore(filepath.Join(dir, "state.json"))
	cur, err := fs.Swap(ctx, state.State{}, state.State{ActiveRegion: "NAM", Generation: 1})
	if err != nil {
		return err
	}
	data, err := state.Encode(cur)
	if err != nil {
		return err
	}
	plain := filepath.Join(dir, "plain.json")
	const window = 700 * time.Millisecond
	rate := func(fn func() error) (float64, error) {
		start := time.Now()
		n := 0
		for time.Since(start) < window {
			if err := fn(); err != nil {
				return 0, err
			}
			n++
		}
		return float64(n) / time.Since(start).Seconds(), nil
	}
	var swaps, writesPS, loads, readsPS []float64
	for range 3 {
		r, err := rate(func() error {
			next := cur
			next.Generation++
			var err error
			cur, err = fs.Swap(ctx, cur, next)
			return err
		})
		if err != nil {
			return err
		}
		swaps = append(swaps, r)
		if r, err = rate(func() error { return renameio.WriteFile(plain, data, 0o600) }); err != nil {
			return err
		}
		writesPS = append(writesPS, r)
		if r, err = rate(func() error { _, err := fs.Load(ctx); return err }); err != nil {
			return err
		}
		loads = append(loads, r)
		if r, err = rate(func() error { _, err := os.ReadFile(plain); return err }); err != nil {
			return err
		}
		readsPS = append(readsPS, r)
	}
	med := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	b.report.add(row{section: "State", figure: "FileStore.Swap (flock, re-read, temp file, fsync, rename, folder fsync): compare-and-swap ops per second, median of 3 windows",
		ours: fmt.Sprintf("%.0f ops/s", med(swaps)), baseline: fmt.Sprintf("renameio.WriteFile of the same bytes %.0f ops/s", med(writesPS)),
		ratio: ratio(med(swaps), med(writesPS)), command: "go test -run '^$' -bench FileStore -benchmem ./internal/state"})
	b.report.add(row{section: "State", figure: "FileStore.Load (the healthy path's only state call): ops per second",
		ours: fmt.Sprintf("%.0f ops/s", med(loads)), baseline: fmt.Sprintf("os.ReadFile of the same bytes %.0f ops/s", med(readsPS)),
		ratio: ratio(med(loads), med(readsPS)), command: "make bench (stateFigures)"})

	// The item's size grows with the hosts a pending push still names.
	hosts := make([]string, 10000)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("i-%017x", i)
	}
	big, err := state.Encode(state.State{Version: 9, ActiveRegion: "EU", Generation: 2,
		Pending: &state.Pending{Generation: 2, Region: "EU", Cloud: "eu.example.net", Hosts: hosts, Attempts: 1, LastError: strings.Repeat("x", 300)}})
	if err != nil {
		return err
	}
	b.scalingItemBytes = len(big)
	b.scalingIdleBytes = len(data)
	return nil
}
