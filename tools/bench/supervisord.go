package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// supervisord is a real supervisord started for the bench, serving XML-RPC
// on a unix socket, with one program "app" (startsecs=0) that appends a line
// to a counter file each time it starts.
type supervisord struct {
	url     string // unix:///.../s.sock
	conf    string
	counter string
	cmd     *exec.Cmd
	done    chan struct{}
	client  *http.Client
}

// startSupervisord starts supervisord in dir and waits until it and app are
// RUNNING. stop ends it (SIGTERM to its process group, then SIGKILL).
func startSupervisord(ctx context.Context, dir string) (*supervisord, func(), error) {
	bin, err := exec.LookPath("supervisord")
	if err != nil {
		return nil, nil, errors.New("supervisord not installed: run `make tools` (apt-get install -y supervisor)")
	}
	// Unix socket paths are short; the bench's temp folder may not be.
	sdir, err := os.MkdirTemp("", "sv")
	if err != nil {
		return nil, nil, err
	}
	s := &supervisord{conf: filepath.Join(sdir, "s.conf"), counter: filepath.Join(dir, "app.starts"), done: make(chan struct{})}
	sock := filepath.Join(sdir, "s.sock")
	s.url = "unix://" + sock
	if err := os.WriteFile(s.counter, nil, 0o644); err != nil {
		return nil, nil, err
	}
	conf := fmt.Sprintf(`[supervisord]
nodaemon=true
pidfile=%[1]s/s.pid
logfile=%[1]s/s.log
childlogdir=%[1]s

[unix_http_server]
file=%[2]s
chmod=0700

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%[2]s

[program:app]
command=/bin/sh -c 'echo started >> %[3]s; exec sleep 3600'
startsecs=0
startretries=0
stopwaitsecs=2
autorestart=false
`, sdir, sock, s.counter)
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		return nil, nil, err
	}
	s.cmd = exec.Command(bin, "-c", s.conf)
	s.cmd.Dir = sdir
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start supervisord: %w", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	stop := func() {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
		os.RemoveAll(sdir)
	}
	s.client = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := s.state(ctx)
		if err == nil && st == "RUNNING" && s.starts() >= 1 {
			return s, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			log, _ := os.ReadFile(filepath.Join(sdir, "s.log"))
			return nil, nil, fmt.Errorf("supervisord not RUNNING with app started after 15s (%q, %v): %s", st, err, log)
		}
		select {
		case <-s.done:
			return nil, nil, errors.New("supervisord exited at start")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// state is supervisord's statename.
func (s *supervisord) state(ctx context.Context) (string, error) {
	body := `<?xml version="1.0"?><methodCall><methodName>supervisor.getState</methodName><params></params></methodCall>`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://localhost/RPC2", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := s.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	for _, st := range []string{"RUNNING", "RESTARTING", "SHUTDOWN", "FATAL"} {
		if bytes.Contains(data, []byte("<string>"+st+"</string>")) {
			return st, nil
		}
	}
	return "", fmt.Errorf("getState answered %.200s", data)
}

// starts is how many times app has started.
func (s *supervisord) starts() int {
	data, _ := os.ReadFile(s.counter)
	return bytes.Count(data, []byte("\n"))
}

// waitStarts polls until app has started want times, for up to 5 s: the
// program writes its line just after supervisord spawns it.
func (s *supervisord) waitStarts(want int) error {
	deadline := time.Now().Add(5 * time.Second)
	for s.starts() < want {
		if time.Now().After(deadline) {
			return fmt.Errorf("app started %d times, want %d", s.starts(), want)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if n := s.starts(); n != want {
		return fmt.Errorf("app started %d times, want %d", n, want)
	}
	return nil
}
