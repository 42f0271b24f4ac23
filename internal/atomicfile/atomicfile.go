// Package atomicfile replaces a file so that a reader sees either the old
// content or the new, never a mix, and the new name survives a crash.
//
// github.com/google/renameio/v2 does the work: a temporary file in the
// destination folder (never $TMPDIR, which may be another filesystem),
// fsync, rename. WriteFile adds what renameio leaves out: an fsync of the
// folder, so the rename itself is durable. It requires a filesystem with
// atomic rename (not every network filesystem has one).
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// WriteFile atomically replaces path with data, with exactly mode perm
// (the umask does not apply). On error path is unchanged and no temporary
// file is left behind.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := renameio.NewPendingFile(path, renameio.WithTempDir(dir), renameio.WithStaticPermissions(perm))
	if err != nil {
		return err
	}
	defer func() { _ = f.Cleanup() }()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.CloseAtomicallyReplace(); err != nil {
		return err
	}
	return syncDir(dir)
}

// Rename renames oldpath to newpath in the same folder and makes the rename
// durable with an fsync of the folder.
func Rename(oldpath, newpath string) error {
	if err := os.Rename(oldpath, newpath); err != nil {
		return err
	}
	return syncDir(filepath.Dir(newpath))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}
