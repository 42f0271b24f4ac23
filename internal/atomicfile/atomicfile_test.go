package atomicfile_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"extcloud-failover/internal/atomicfile"
)

func TestWriteFile(t *testing.T) {
	old := syscall.Umask(0o077) // the mode must not depend on the umask
	t.Cleanup(func() { syscall.Umask(old) })
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, content := range []string{"first\n", "second\n"} {
		if err := atomicfile.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("content %q, %v; want %q", got, err, content)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, %v; want 0644", fi.Mode().Perm(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("folder holds %d entries, want only the file (no temporary left)", len(entries))
	}
}

func TestWriteFileMissingFolderChangesNothing(t *testing.T) {
	dir := t.TempDir()
	if err := atomicfile.WriteFile(filepath.Join(dir, "absent", "f"), []byte("x"), 0o600); err == nil {
		t.Fatal("wrote into a missing folder")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left %d entries behind", len(entries))
	}
}

func TestRename(t *testing.T) {
	dir := t.TempDir()
	from, to := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(from, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Rename(from, to); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(from); !os.IsNotExist(err) {
		t.Errorf("old name still there: %v", err)
	}
	if got, err := os.ReadFile(to); err != nil || string(got) != "x" {
		t.Errorf("new name: %q, %v", got, err)
	}
}
