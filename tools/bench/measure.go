// This file holds how a run is measured: wall and CPU time, peak RSS, and
// medians over series.

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// median returns the median of ds (the mean of the two middle values for an
// even count); zero for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// procRun is one finished child process.
type procRun struct {
	wall   time.Duration
	cpu    time.Duration // user + system, from wait4's rusage
	code   int
	stdout string
	stderr string
}

// runProc runs argv with env (nil: the bench's own) and returns its wall time
// from fork to reaped exit and its peak RSS.
func runProc(ctx context.Context, env []string, argv ...string) (procRun, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := procRun{wall: time.Since(start), stdout: out.String(), stderr: errb.String()}
	if cmd.ProcessState == nil {
		return r, fmt.Errorf("%s: %w", argv[0], err)
	}
	r.code = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return r, nil
}

// series collects repeated runs of one command.
type series struct {
	walls []time.Duration
	cpus  []time.Duration
	rss   []int64
}

func (s *series) add(r procRun) {
	s.walls = append(s.walls, r.wall)
	s.cpus = append(s.cpus, r.cpu)
}

// timeBin is GNU time, which reports a child's peak RSS truthfully.
const timeBin = "/usr/bin/time"

// measureRSS runs argv under GNU time and records its peak RSS. The rusage
// Go's os/exec returns cannot be used for this: Go starts children sharing
// its own memory until exec (vfork semantics), and Linux then reports the
// parent's peak as the child's. GNU time forks from its own small process.
func (s *series) measureRSS(ctx context.Context, dir string, env []string, argv ...string) (procRun, error) {
	out := filepath.Join(dir, "rss.txt")
	r, err := runProc(ctx, env, append([]string{timeBin, "-f", "%M", "-o", out}, argv...)...)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return r, fmt.Errorf("%s missing: apt-get install -y time (peak RSS is measured with it)", timeBin)
		}
		return r, err
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return r, err
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return r, fmt.Errorf("%s wrote %q", timeBin, data)
	}
	kb, err := strconv.ParseInt(fields[len(fields)-1], 10, 64)
	if err != nil {
		return r, fmt.Errorf("%s wrote %q", timeBin, data)
	}
	s.rss = append(s.rss, kb*1024)
	return r, nil
}

func (s *series) wall() time.Duration { return median(s.walls) }
func (s *series) cpu() time.Duration  { return median(s.cpus) }
func (s *series) peakRSS() int64      { return slices.Max(s.rss) }

// serve runs h on a fresh 127.0.0.1 port until the returned stop is called.
func serve(h http.Handler) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// ratio formats a/b.
func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f ms", f)
	case f >= 10:
		return fmt.Sprintf("%.1f ms", f)
	default:
		return fmt.Sprintf("%.2f ms", f)
	}
}

// mb formats bytes in MB (10^6, as the goals are written).
func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
