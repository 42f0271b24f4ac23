// This file holds the private supervisord the host figures restart, and the
// count of its program's starts.

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"extcloud-failover/internal/testenv/supervisord"
)

// benchSupervisord is a real supervisord started for the bench, serving
// XML-RPC on a unix socket, with one program "app" (startsecs=0) that
// appends a line to a counter file each time it starts.
type benchSupervisord struct {
	*supervisord.Instance
	counter string
}

// startSupervisord starts supervisord and waits until it and app are
// RUNNING and app has started once. stop ends it and removes its folder.
func startSupervisord(ctx context.Context, dir string) (*benchSupervisord, func(), error) {
	counter := filepath.Join(dir, "app.starts")
	if err := os.WriteFile(counter, nil, 0o644); err != nil {
		return nil, nil, err
	}
	command, err := supervisord.CountingCommand(counter)
	if err != nil {
		return nil, nil, err
	}
	inst, err := supervisord.Start(ctx, supervisord.Options{Programs: []supervisord.Program{{Name: "app", Command: command}}})
	if err != nil {
		return nil, nil, err
	}
	s := &benchSupervisord{Instance: inst, counter: counter}
	stop := func() { _ = inst.Close() }
	if err := s.waitStarts(1); err != nil {
		stop()
		return nil, nil, fmt.Errorf("supervisord app at start: %w", err)
	}
	return s, stop, nil
}

// starts is how many times app has started.
func (s *benchSupervisord) starts() int {
	n, _ := supervisord.CountStarts(s.counter)
	return n
}

// waitStarts polls until app has started want times, for up to 5 s: the
// program writes its line just after supervisord spawns it.
func (s *benchSupervisord) waitStarts(want int) error {
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
