// This file holds FileStore: the State as a JSON file, serialised with flock
// and replaced by an atomic rename.

package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"extcloud-failover/internal/atomicfile"
)

// fileMode is the mode of the state file and of its lock file: the state
// names hosts and regions, nothing for other users to read or touch.
const fileMode = 0o600

// FileStore keeps the State in one JSON file (see Encode), replaced whole by
// atomic rename on every Swap.
//
// Swap holds an exclusive flock(2) on the sibling file "<path>.lock" while it
// re-reads the stored version and writes the next one, so a FileStore is safe
// for concurrent use by several goroutines and by several processes on one
// host sharing the path. Load takes no lock for a healthy file: a reader sees
// either the old or the new file, never a mix. The lock file is created on
// first use and never deleted (deleting it would let two processes lock two
// different files).
//
// It requires a local filesystem with atomic rename and working flock; NFS
// and similar network filesystems give neither guarantee and are not
// supported. The folder must be writable by the process for Swap; Load only
// needs to read, unless the file is corrupt. An error reaching the file or
// its folder says what to do, naming STATE_FILE, the setting that gives the
// path.
type FileStore struct {
	path string

	// Now returns the current time; it names files moved aside. Nil means
	// time.Now.
	Now func() time.Time
}

// NewFileStore returns a FileStore keeping its State in the file at path.
// Nothing is touched until the first Load or Swap.
func NewFileStore(path string) *FileStore {
	return &FileStore{path: path}
}

// Path returns the path of the state file.
func (s *FileStore) Path() string { return s.path }

func (s *FileStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Load returns the stored State, or the zero State when the file does not
// exist. A file that cannot be read (permissions, a directory in its place)
// is an error and is left alone. A file that can be read but not decoded is
// moved aside to "<path>.corrupt-<UTC time>" under the lock, and the returned
// error wraps ErrCorrupt and names both paths; the next Load then returns the
// zero State. If the file cannot be moved aside the error does not wrap
// ErrCorrupt, so no caller starts afresh over it.
func (s *FileStore) Load(ctx context.Context) (State, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, nil
	}
	if err != nil {
		return State{}, s.hint(fmt.Errorf("read state %s: %w", s.path, err))
	}
	if st, err := Decode(data); err == nil {
		return st, nil
	}

	// Corrupt as read without the lock: look again under it, since a Swap
	// may have replaced the file meanwhile, and move it aside if it still is.
	unlock, err := s.lock(ctx)
	if err != nil {
		return State{}, s.hint(fmt.Errorf("load state %s: %w", s.path, err))
	}
	defer unlock()
	st, err := s.readLocked()
	return st, s.hint(err)
}

// Swap stores next, with Version set to old.Version+1, if the file still
// holds old.Version (old.Version 0: if no file exists yet), and returns what
// it stored. Otherwise it returns an error wrapping ErrConflict and changes
// nothing. A corrupt file found under the lock is moved aside as by Load and
// the error wraps ErrCorrupt.
//
// The new file is written to a temporary file in the same folder, synced,
// renamed over the old one, and the folder is synced, so a crash leaves
// either the old or the new State. Waiting for the lock ends with ctx.
func (s *FileStore) Swap(ctx context.Context, old, next State) (State, error) {
	if old.Version < 0 {
		return State{}, fmt.Errorf("swap state %s: negative version %d", s.path, old.Version)
	}
	next.Version = old.Version + 1
	data, stored, err := Canonical(next)
	if err != nil {
		return State{}, fmt.Errorf("swap state %s: %w", s.path, err)
	}

	unlock, err := s.lock(ctx)
	if err != nil {
		return State{}, s.hint(fmt.Errorf("swap state %s: %w", s.path, err))
	}
	defer unlock()

	cur, err := s.readLocked()
	if err != nil {
		return State{}, s.hint(err)
	}
	if cur.Version != old.Version {
		return State{}, fmt.Errorf("swap state %s: stored version %d, want %d: %w",
			s.path, cur.Version, old.Version, ErrConflict)
	}
	if err := s.write(data); err != nil {
		return State{}, s.hint(fmt.Errorf("swap state %s: %w", s.path, err))
	}
	return stored, nil
}

// hint adds to err, a failure to reach the state file, its lock file or
// their folder, what the operator can do about it. The file is the one the
// STATE_FILE setting names, so the advice names that setting. Errors the
// operator cannot fix by hand (a conflict, a corrupt record) are returned
// as they are.
func (s *FileStore) hint(err error) error {
	if err == nil || errors.Is(err, ErrConflict) || errors.Is(err, ErrCorrupt) {
		return err
	}
	dir := filepath.Dir(s.path)
	var advice string
	switch {
	case errors.Is(err, fs.ErrPermission):
		advice = "give the checker's user read and write access to " + dir + " and the files in it, or set STATE_FILE to a path it owns"
	case errors.Is(err, syscall.EROFS):
		advice = dir + " is on a read-only filesystem: set STATE_FILE to a writable path"
	case errors.Is(err, syscall.EISDIR):
		advice = s.path + " is a folder: remove it or set STATE_FILE to a file path"
	case errors.Is(err, syscall.ENOTDIR):
		advice = "a file is in the way of the folder " + dir + ": set STATE_FILE to a path in an existing folder"
	case errors.Is(err, fs.ErrNotExist):
		if _, serr := os.Stat(dir); !errors.Is(serr, fs.ErrNotExist) {
			return err
		}
		advice = "the folder " + dir + " does not exist: create it (mkdir -p " + dir + ") or set STATE_FILE to a path in an existing folder"
	default:
		return err
	}
	return fmt.Errorf("%w (STATE_FILE: %s)", err, advice)
}

// readLocked reads and decodes the file while the lock is held, moving a
// corrupt file aside.
func (s *FileStore) readLocked() (State, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("read state %s: %w", s.path, err)
	}
	st, decErr := Decode(data)
	if decErr == nil {
		return st, nil
	}
	aside, err := s.moveAside()
	if err != nil {
		// decErr is quoted, not wrapped: a caller must not take ErrCorrupt
		// as leave to start afresh while the file is still in place.
		return State{}, fmt.Errorf("state file %s is corrupt (%v) and could not be moved aside: %w",
			s.path, decErr, err)
	}
	return State{}, fmt.Errorf("state file %s was corrupt and has been moved to %s: %w",
		s.path, aside, decErr)
}

// moveAside renames the state file to "<path>.corrupt-<UTC time>", adding a
// counter if a file of that name exists already. The lock must be held.
func (s *FileStore) moveAside() (string, error) {
	base := s.path + ".corrupt-" + s.now().UTC().Format("20060102T150405Z")
	aside := base
	for i := 1; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, fs.ErrNotExist) {
			break
		} else if err != nil {
			return "", err
		}
		aside = base + "-" + strconv.Itoa(i)
	}
	if err := atomicfile.Rename(s.path, aside); err != nil {
		return "", err
	}
	return aside, nil
}

// write replaces the state file with data atomically and durably. The lock
// must be held.
func (s *FileStore) write(data []byte) error {
	return atomicfile.WriteFile(s.path, data, fileMode)
}

// Lock polling backoff: short first, since a Swap holds the lock for a few
// milliseconds, capped so that a waiter notices a released lock quickly.
const (
	lockPollMin = time.Millisecond
	lockPollMax = 50 * time.Millisecond
)

// lock takes the exclusive flock on "<path>.lock", waiting until it is free
// or ctx ends, and returns the function that releases it.
func (s *FileStore) lock(ctx context.Context) (unlock func(), err error) {
	name := s.path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	// flock(2) cannot be interrupted by ctx, so poll without blocking.
	for wait := lockPollMin; ; wait = min(2*wait, lockPollMax) {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", name, context.Cause(ctx))
		case <-time.After(wait): // collected unstopped since Go 1.23
		}
	}
	return func() {
		// Closing the descriptor releases the lock.
		_ = f.Close()
	}, nil
}
