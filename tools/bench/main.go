// Command bench measures extcloud-failover against baselines measured in the
// same run and writes docs/BENCHMARKS.md. It builds both binaries itself
// (go build -trimpath -ldflags='-s -w', CGO_ENABLED=0), starts what it needs
// on 127.0.0.1 (cloudlookup endpoints, a real supervisord, dynalite, the Lambda
// Runtime Interface Emulator, 1,000 simulated supervisords, the local SSM endpoint with up to
// 10,000 simulated hosts), and stops all of it before it exits. Run it with
// `make bench`.
//
// Every timing is a median over repeated runs, and every timing is reported
// as a ratio against a baseline measured in the same run, interleaved with
// it, since absolute times on a shared machine drift.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// options are the bench's flags.
type options struct {
	out       string
	runs      int // process starts per figure
	warm      int // warm Lambda invocations
	hosts     int // simulated supervisords
	skipGo    bool
	keepTemp  bool
	goCommand string
	only      string // run only this step (its name), for a quick look
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "docs/BENCHMARKS.md", "where to write the report")
	flag.IntVar(&o.runs, "runs", 41, "process starts per host and cold-start figure")
	flag.IntVar(&o.warm, "warm", 41, "warm Lambda invocations per configuration")
	flag.IntVar(&o.hosts, "hosts", 1000, "simulated supervisord endpoints for the fan-out figure")
	flag.BoolVar(&o.skipGo, "skip-go-bench", false, "skip the go test -bench figures")
	flag.BoolVar(&o.keepTemp, "keep", false, "keep the temporary folder (binaries, logs)")
	flag.StringVar(&o.only, "only", "", "run only the named step (e.g. watch) and print its figures instead of writing the report")
	flag.Parse()
	o.goCommand = "go"

	// The slow-hosts figure alone takes about five minutes of real time.
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	err := run(ctx, o)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench is one run: where things are and what was measured.
type bench struct {
	o      options
	root   string // the module root
	tmp    string
	host   string // bin/extcloud-failover built for this run
	lambda string // bin/bootstrap built for this run
	base   baselines
	dynamo string // dynalite endpoint, once started
	// scalingItemBytes and scalingIdleBytes size the state item with
	// 10,000 pending hosts and with none.
	scalingItemBytes, scalingIdleBytes int
	// figs keeps figures the Scaling section quotes.
	figs    map[string]float64
	report  *report
	cleanup []func()
	logf    func(format string, args ...any)
}

func run(ctx context.Context, o options) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "extcloud-bench-")
	if err != nil {
		return err
	}
	b := &bench{o: o, root: root, tmp: tmp, report: newReport(), figs: map[string]float64{},
		logf: func(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }}
	defer func() {
		for i := len(b.cleanup) - 1; i >= 0; i-- {
			b.cleanup[i]()
		}
		if o.keepTemp {
			b.logf("kept %s", tmp)
		} else {
			os.RemoveAll(tmp)
		}
	}()
	if err := raiseFileLimit(); err != nil {
		return err
	}
	if err := b.build(ctx); err != nil {
		return err
	}
	started := time.Now()
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"fast paths", b.fastPaths},
		{"host healthy path", b.hostHealthy},
		{"host failover", b.hostFailover},
		{"watch", b.watchFigures},
		{"lambda", b.lambdaFigures},
		{"fan-out", b.fanOut},
		{"ssm calls", b.ssmCalls},
		{"ssm slow hosts", b.slowHosts},
		{"state", b.stateFigures},
		{"go benchmarks", b.goBenchmarks},
	}
	for _, st := range steps {
		if (st.name == "go benchmarks" && o.skipGo) || (o.only != "" && st.name != o.only) {
			continue
		}
		t0 := time.Now()
		b.logf("%s ...", st.name)
		if err := st.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		b.logf("%s done in %v", st.name, time.Since(t0).Round(time.Millisecond))
	}
	if o.only != "" {
		b.report.elapsed = time.Since(started)
		_, err := os.Stdout.Write(b.report.markdown())
		return err
	}
	b.scaling()
	b.report.elapsed = time.Since(started)
	if err := b.report.machine(ctx, o.goCommand); err != nil {
		return err
	}
	out := o.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	if err := os.WriteFile(out, b.report.markdown(), 0o644); err != nil {
		return err
	}
	b.logf("wrote %s", out)
	if misses := b.report.misses(); len(misses) > 0 {
		b.logf("goals missed: %s", strings.Join(misses, "; "))
	}
	return nil
}

// moduleRoot is the folder of go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from inside the extcloud-failover module (make bench does)")
	}
	return filepath.Dir(mod), nil
}

// build compiles both binaries as `make build` does, into the temp folder,
// and the two baseline programs.
func (b *bench) build(ctx context.Context) error {
	b.host = filepath.Join(b.tmp, "extcloud-failover")
	b.lambda = filepath.Join(b.tmp, "bootstrap")
	builds := [][]string{
		{"build", "-trimpath", "-ldflags=-s -w", "-o", b.host, "./cmd/cron"},
		{"build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", b.lambda, "./cmd/lambda"},
	}
	for _, args := range builds {
		b.logf("go %s", strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, b.o.goCommand, args...)
		cmd.Dir = b.root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return b.buildBaselines(ctx)
}

// buildGoFile builds one standard-library-only program from src.
func (b *bench) buildGoFile(ctx context.Context, name, src string) (string, error) {
	dir := filepath.Join(b.tmp, name+"-src")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+name+"\n\ngo 1.24\n"), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(b.tmp, name)
	cmd := exec.CommandContext(ctx, b.o.goCommand, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", name, err, out)
	}
	return bin, nil
}
