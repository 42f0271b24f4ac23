package main

// watch.go: the long-running form stays flat. `extcloud-failover watch`
// runs 10,000 healthy invocations back to back (PROBE_INTERVAL=1ms); its
// resident memory is read from /proc, and its goroutines, live heap and
// open files from its own "watch running" lines, every 1,000 invocations.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/state"
)

// watchIterations is how many invocations the figure covers.
const watchIterations = 10000

// watchSample is the process at one "watch running" line.
type watchSample struct {
	invocations int
	goroutines  int
	heap        int64
	rss         int64
	fds         int
}

func (b *bench) watchFigures(ctx context.Context) error {
	dir := filepath.Join(b.tmp, "watch")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	regions, err := b.startRegions()
	if err != nil {
		return err
	}
	// A converged host: state and env file agree, so every invocation is
	// the healthy path (state read, env file read, probe, summary).
	if _, err := state.NewFileStore(filepath.Join(dir, "state.json")).Swap(ctx, state.State{}, state.State{ActiveRegion: "NAM", Generation: 1}); err != nil {
		return err
	}
	if _, err := remote.WriteEnvFile(filepath.Join(dir, "ext_cloud.env"), remote.Target{Region: "NAM", Cloud: regions[0].Cloud(), Generation: 1}); err != nil {
		return err
	}
	env := hostEnv(dir, regions[0], regions[1], regions[2],
		"SUPERVISOR_URL=unix://"+filepath.Join(dir, "no-supervisord.sock"),
		"LATENCY_CHECK=off", "PROBE_INTERVAL=1ms", "PROBE_TIMEOUT=2s")

	runCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, b.host, "watch")
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	var samples []watchSample
	checks, unhealthy := 0, 0
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Message     string `json:"message"`
			Healthy     *bool  `json:"healthy"`
			Invocations int    `json:"invocations"`
			Goroutines  int    `json:"goroutines"`
			Heap        int64  `json:"heap_bytes"`
			OpenFiles   int    `json:"open_files"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			continue
		}
		switch line.Message {
		case "check complete":
			checks++
			if line.Healthy == nil || !*line.Healthy {
				unhealthy++
			}
		case "watch running":
			s := watchSample{invocations: line.Invocations, goroutines: line.Goroutines, heap: line.Heap, fds: line.OpenFiles}
			s.rss = procRSS(pid)
			samples = append(samples, s)
			if line.Invocations >= watchIterations {
				_ = cmd.Process.Signal(syscall.SIGTERM)
			}
		}
	}
	err = cmd.Wait()
	elapsed := time.Since(started)
	if err != nil {
		return fmt.Errorf("watch: %w (stderr %s)", err, stderr.String())
	}
	if len(samples) < watchIterations/1000 || checks < watchIterations {
		return fmt.Errorf("watch: %d samples, %d checks, want %d of each kind", len(samples), checks, watchIterations)
	}
	if unhealthy > 0 {
		return fmt.Errorf("watch: %d of %d checks were not healthy", unhealthy, checks)
	}
	first, last := samples[0], samples[len(samples)-1]
	// Resident memory follows the garbage collector and the scavenger, not
	// only what is live: compare the later half's peak with the earlier's.
	var earlyRSS, lateRSS int64
	var rss []string
	// Goroutines of a probe that just ended may still be exiting when a
	// sample is taken: growth means the later half holds more than the
	// earlier half ever did.
	early, late, earlyFDs, lateFDs := 0, 0, 0, 0
	var gs, fds []string
	for i, s := range samples {
		if i < len(samples)/2 {
			early, earlyRSS, earlyFDs = max(early, s.goroutines), max(earlyRSS, s.rss), max(earlyFDs, s.fds)
		} else {
			late, lateRSS, lateFDs = max(late, s.goroutines), max(lateRSS, s.rss), max(lateFDs, s.fds)
		}
		fds = append(fds, strconv.Itoa(s.fds))
		gs = append(gs, strconv.Itoa(s.goroutines))
		rss = append(rss, fmt.Sprintf("%.1f", float64(s.rss)/1e6))
	}
	sec, command := "Watch", "make bench (watchFigures)"
	at := func(s watchSample) string { return "at " + thousands(s.invocations) }
	b.report.add(row{section: sec, figure: fmt.Sprintf("resident memory (VmRSS) over %s invocations: largest in the later half of the samples every 1,000", thousands(last.invocations)),
		ours: mb(lateRSS), baseline: "earlier half: " + mb(earlyRSS), ratio: ratio(float64(lateRSS), float64(earlyRSS)),
		goal: "≤ 1.10×", met: float64(lateRSS) <= 1.1*float64(earlyRSS), command: command})
	b.report.add(row{section: sec, figure: "open files between two invocations (/proc/self/fd in the watch running line): largest in the later half of the samples",
		ours: strconv.Itoa(lateFDs), baseline: "earlier half: " + strconv.Itoa(earlyFDs), ratio: ratio(float64(lateFDs), float64(earlyFDs)),
		goal: "no growth", met: lateFDs > 0 && lateFDs <= earlyFDs, command: command})
	b.report.add(row{section: sec, figure: "goroutines (runtime.NumGoroutine in the watch running line): largest in the later half of the samples",
		ours: strconv.Itoa(late), baseline: "earlier half: " + strconv.Itoa(early), ratio: ratio(float64(late), float64(early)),
		goal: "no growth", met: late <= early, command: command})
	b.report.add(row{section: sec, figure: fmt.Sprintf("live heap after a collection (HeapAlloc) %s", at(last)),
		ours: mb(last.heap), baseline: at(first) + ": " + mb(first.heap), ratio: ratio(float64(last.heap), float64(first.heap)),
		goal: "≤ 1.10×", met: float64(last.heap) <= 1.1*float64(first.heap), command: command})
	b.report.note(sec, "Goroutines at each sample, every 1,000 invocations: "+strings.Join(gs, ", ")+"; open files: "+strings.Join(fds, ", ")+"; resident memory (MB): "+strings.Join(rss, ", ")+".")
	b.report.note(sec, fmt.Sprintf("%s healthy invocations back to back (PROBE_INTERVAL=1ms) in %s, %s each on average, state read, env file read and probe every time; SIGTERM then ended watch with exit 0.",
		thousands(checks), elapsed.Round(time.Second), ms(elapsed/time.Duration(checks))))
	return nil
}

// procRSS reads a process's resident memory.
func procRSS(pid int) (rss int64) {
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				rss = kb * 1024
			}
		}
	}
	return rss
}
