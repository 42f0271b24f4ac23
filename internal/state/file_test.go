package state_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"extcloud-failover/internal/state"
	"extcloud-failover/internal/state/statetest"
)

// Environment of a child process started by TestFileStoreMultiProcessRace.
const (
	swapChildPathEnv = "STATE_TEST_SWAP_CHILD_PATH"
	swapChildIDEnv   = "STATE_TEST_SWAP_CHILD_ID"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(swapChildPathEnv); path != "" {
		os.Exit(swapChild(path, os.Getenv(swapChildIDEnv)))
	}
	os.Exit(m.Run())
}

// swapChild is one racer of TestFileStoreMultiProcessRace: it loads the
// state, says "ready", waits for its standard input to close, tries one Swap
// and says "won" or "conflict".
func swapChild(path, id string) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store := state.NewFileStore(path)
	old, err := store.Load(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_, err = store.Swap(ctx, old, state.State{ActiveRegion: "EU", PreviousRegion: id})
	switch {
	case err == nil:
		fmt.Println("won")
	case errors.Is(err, state.ErrConflict):
		fmt.Println("conflict")
	default:
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// seed stores st as the first version in a new state file and returns the
// store, its path and what was stored.
func seed(t *testing.T, dir string, st state.State) (*state.FileStore, string, state.State) {
	t.Helper()
	path := filepath.Join(dir, "state.json")
	store := state.NewFileStore(path)
	stored, err := store.Swap(testContext(t), state.State{}, st)
	if err != nil {
		t.Fatalf("seed %s: %v", path, err)
	}
	return store, path, stored
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// dirNames returns the sorted names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", path, got, want)
	}
}

func TestFileStoreCreateAndSwap(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	store := state.NewFileStore(path)
	if store.Path() != path {
		t.Errorf("Path() = %q, want %q", store.Path(), path)
	}

	got, err := store.Load(ctx)
	if err != nil || !reflect.DeepEqual(got, state.State{}) {
		t.Fatalf("Load of a missing file = %+v, %v; want the zero State, nil", got, err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("Load of a missing file created %v", names)
	}

	first := statetest.Full()
	first.Version = 42 // ignored: Swap sets old.Version+1
	v1, err := store.Swap(ctx, state.State{}, first)
	if err != nil {
		t.Fatalf("first Swap: %v", err)
	}
	first.Version = 1
	if !reflect.DeepEqual(v1, first) {
		t.Errorf("first Swap returned\n %+v\nwant %+v", v1, first)
	}
	checkMode(t, path, 0o600)
	checkMode(t, path+".lock", 0o600)
	if got, err := store.Load(ctx); err != nil || !reflect.DeepEqual(got, v1) {
		t.Errorf("Load after first Swap = %+v, %v; want %+v", got, err, v1)
	}

	// Local times are stored and returned in UTC.
	cet := time.FixedZone("CET", 3600)
	second := state.State{ActiveRegion: "NAM", Generation: 4, OutageStartedAt: time.Date(2025, 6, 1, 12, 0, 0, 0, cet)}
	v2, err := store.Swap(ctx, v1, second)
	if err != nil {
		t.Fatalf("second Swap: %v", err)
	}
	want := state.State{Version: 2, ActiveRegion: "NAM", Generation: 4, OutageStartedAt: time.Date(2025, 6, 1, 11, 0, 0, 0, time.UTC)}
	if !reflect.DeepEqual(v2, want) {
		t.Errorf("second Swap returned\n %+v\nwant %+v", v2, want)
	}
	if got, err := state.NewFileStore(path).Load(ctx); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Load by a new store = %+v, %v; want %+v", got, err, want)
	}
	if fromDisk, err := state.Decode(readFile(t, path)); err != nil || !reflect.DeepEqual(fromDisk, want) {
		t.Errorf("file holds %+v, %v; want %+v", fromDisk, err, want)
	}
	checkMode(t, path, 0o600)
	// No temporary files are left behind.
	if names, want := dirNames(t, dir), []string{"state.json", "state.json.lock"}; !reflect.DeepEqual(names, want) {
		t.Errorf("folder holds %v, want %v", names, want)
	}
}

func TestFileStoreKeepsModeWhenFileWasLooser(t *testing.T) {
	ctx := testContext(t)
	store, path, v1 := seed(t, t.TempDir(), state.State{ActiveRegion: "EU"})
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Swap(ctx, v1, state.State{ActiveRegion: "NAM"}); err != nil {
		t.Fatal(err)
	}
	checkMode(t, path, 0o600)
}

func TestFileStoreConflict(t *testing.T) {
	tests := []struct {
		name   string
		seed   bool
		old    int64
		stored int64
	}{
		{"stale version", true, 1, 2},
		{"version 0 but a file exists", true, 0, 2},
		{"version ahead of the file", true, 3, 2},
		{"version given but no file", false, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			store := state.NewFileStore(path)
			var before []byte
			if tt.seed {
				v1, err := store.Swap(ctx, state.State{}, state.State{ActiveRegion: "NAM"})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := store.Swap(ctx, v1, state.State{ActiveRegion: "EU"}); err != nil {
					t.Fatal(err)
				}
				before = readFile(t, path)
			}

			got, err := store.Swap(ctx, state.State{Version: tt.old}, state.State{ActiveRegion: "APAC"})
			if !errors.Is(err, state.ErrConflict) {
				t.Fatalf("Swap(version %d) = %+v, %v; want ErrConflict", tt.old, got, err)
			}
			wantMsg := fmt.Sprintf("swap state %s: stored version %d, want %d: state: version conflict", path, tt.stored, tt.old)
			if err.Error() != wantMsg {
				t.Errorf("error %q, want %q", err, wantMsg)
			}
			if tt.seed {
				if after := readFile(t, path); string(after) != string(before) {
					t.Errorf("file changed by a conflicting Swap:\n%s\nwas:\n%s", after, before)
				}
			} else if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("conflicting Swap created the file: %v", err)
			}
		})
	}
}

func TestFileStoreRefusesInvalidState(t *testing.T) {
	ctx := testContext(t)
	store, path, v1 := seed(t, t.TempDir(), state.State{ActiveRegion: "EU"})
	before := readFile(t, path)
	_, err := store.Swap(ctx, v1, state.State{Generation: -1})
	if err == nil || errors.Is(err, state.ErrCorrupt) || errors.Is(err, state.ErrConflict) {
		t.Fatalf("Swap of a negative generation: %v; want a plain error", err)
	}
	if !strings.Contains(err.Error(), "invalid state: generation -1") {
		t.Errorf("error %q does not say what is invalid", err)
	}
	if _, err := store.Swap(ctx, state.State{Version: -1}, state.State{}); err == nil {
		t.Error("Swap from a negative version succeeded")
	}
	if after := readFile(t, path); string(after) != string(before) {
		t.Error("refused Swap changed the file")
	}
}

func TestFileStoreCorrupt(t *testing.T) {
	valid, err := state.Encode(state.State{Version: 3, ActiveRegion: "EU"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data string
	}{
		{"empty", ""},
		{"truncated", string(valid[:len(valid)-8])},
		{"not JSON", "\x00\x01binary garbage"},
		{"array", `[{"version":3}]`},
		{"wrong field type", `{"version":3,"generation":"two"}`},
		{"negative version", `{"version":-2}`},
	}
	now := time.Date(2025, 7, 8, 9, 10, 11, 0, time.FixedZone("X", -5*3600))
	const stamp = "20250708T141011Z"

	for _, tt := range tests {
		for _, op := range []string{"Load", "Swap"} {
			t.Run(tt.name+"/"+op, func(t *testing.T) {
				ctx := testContext(t)
				dir := t.TempDir()
				path := filepath.Join(dir, "state.json")
				if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
					t.Fatal(err)
				}
				store := state.NewFileStore(path)
				store.Now = func() time.Time { return now }

				var err error
				if op == "Load" {
					var got state.State
					got, err = store.Load(ctx)
					if !reflect.DeepEqual(got, state.State{}) {
						t.Errorf("Load returned %+v with its error", got)
					}
				} else {
					_, err = store.Swap(ctx, state.State{Version: 3}, state.State{ActiveRegion: "NAM"})
				}
				if !errors.Is(err, state.ErrCorrupt) {
					t.Fatalf("%s: %v; want ErrCorrupt", op, err)
				}
				aside := path + ".corrupt-" + stamp
				if !strings.Contains(err.Error(), path+" ") || !strings.Contains(err.Error(), aside) {
					t.Errorf("error %q does not name both %s and %s", err, path, aside)
				}
				if got := readFile(t, aside); string(got) != tt.data {
					t.Errorf("moved-aside file holds %q, want %q", got, tt.data)
				}
				if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("corrupt file still in place: %v", err)
				}

				// The next Load starts afresh, and a Swap from version 0 works.
				if got, err := store.Load(ctx); err != nil || !reflect.DeepEqual(got, state.State{}) {
					t.Errorf("Load after moving aside = %+v, %v; want the zero State", got, err)
				}
				if _, err := store.Swap(ctx, state.State{}, state.State{ActiveRegion: "APAC"}); err != nil {
					t.Errorf("Swap after moving aside: %v", err)
				}
			})
		}
	}

	t.Run("second corrupt file in the same second", func(t *testing.T) {
		ctx := testContext(t)
		dir := t.TempDir()
		path := filepath.Join(dir, "state.json")
		store := state.NewFileStore(path)
		store.Now = func() time.Time { return now }
		for i, data := range []string{"first", "second"} {
			if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := store.Load(ctx); !errors.Is(err, state.ErrCorrupt) {
				t.Fatalf("Load %d: %v; want ErrCorrupt", i, err)
			}
		}
		if got := readFile(t, path+".corrupt-"+stamp); string(got) != "first" {
			t.Errorf("first moved-aside file holds %q", got)
		}
		if got := readFile(t, path+".corrupt-"+stamp+"-1"); string(got) != "second" {
			t.Errorf("second moved-aside file holds %q", got)
		}
	})
}

// TestFileStoreNotAFile covers paths that cannot be read or written for
// reasons other than permissions, which root cannot be denied: they are
// errors, never ErrCorrupt, and nothing is moved.
func TestFileStoreNotAFile(t *testing.T) {
	t.Run("directory in place of the file", func(t *testing.T) {
		ctx := testContext(t)
		dir := t.TempDir()
		path := filepath.Join(dir, "state.json")
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		store := state.NewFileStore(path)
		_, err := store.Load(ctx)
		if err == nil || errors.Is(err, state.ErrCorrupt) || !errors.Is(err, syscall.EISDIR) {
			t.Errorf("Load: %v; want EISDIR, not ErrCorrupt", err)
		}
		_, err = store.Swap(ctx, state.State{}, state.State{ActiveRegion: "EU"})
		if err == nil || errors.Is(err, state.ErrCorrupt) || errors.Is(err, state.ErrConflict) {
			t.Errorf("Swap: %v; want a plain error", err)
		}
		if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
			t.Errorf("directory was moved or replaced: %v", err)
		}
		if names, want := dirNames(t, dir), []string{"state.json", "state.json.lock"}; !reflect.DeepEqual(names, want) {
			t.Errorf("folder holds %v, want %v", names, want)
		}
	})
	t.Run("file in place of the folder", func(t *testing.T) {
		ctx := testContext(t)
		parent := filepath.Join(t.TempDir(), "not-a-folder")
		if err := os.WriteFile(parent, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		store := state.NewFileStore(filepath.Join(parent, "state.json"))
		if _, err := store.Load(ctx); !errors.Is(err, syscall.ENOTDIR) {
			t.Errorf("Load: %v; want ENOTDIR", err)
		}
		_, err := store.Swap(ctx, state.State{}, state.State{ActiveRegion: "EU"})
		if !errors.Is(err, syscall.ENOTDIR) || !strings.Contains(err.Error(), "lock") {
			t.Errorf("Swap: %v; want ENOTDIR opening the lock file", err)
		}
	})
}

// TestFileStoreErrorsSayWhatToDo checks that a state file the checker
// cannot reach gives an error naming STATE_FILE and the fix.
func TestFileStoreErrorsSayWhatToDo(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the state path
		swap  bool                                  // Swap rather than Load
		want  string
	}{
		{"missing folder", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "missing", "state.json")
		}, true, "(STATE_FILE: the folder DIR/missing does not exist: create it (mkdir -p DIR/missing) or set STATE_FILE to a path in an existing folder)"},
		{"directory in place of the file", func(t *testing.T, dir string) string {
			path := filepath.Join(dir, "state.json")
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
			return path
		}, false, "(STATE_FILE: DIR/state.json is a folder: remove it or set STATE_FILE to a file path)"},
		{"file in place of the folder", func(t *testing.T, dir string) string {
			parent := filepath.Join(dir, "not-a-folder")
			if err := os.WriteFile(parent, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(parent, "state.json")
		}, true, "(STATE_FILE: a file is in the way of the folder DIR/not-a-folder: set STATE_FILE to a path in an existing folder)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			dir := t.TempDir()
			store := state.NewFileStore(tc.setup(t, dir))
			var err error
			if tc.swap {
				_, err = store.Swap(ctx, state.State{}, state.State{ActiveRegion: "EU"})
			} else {
				_, err = store.Load(ctx)
			}
			want := strings.ReplaceAll(tc.want, "DIR", dir)
			if err == nil || !strings.HasSuffix(err.Error(), want) {
				t.Errorf("error %v; want it to end with %q", err, want)
			}
		})
	}
}

// TestFileStorePermissions checks refused reads and writes. Root ignores
// permission bits, so when run as root the test runs itself again as the
// unprivileged user nobody (uid 65534) and checks that run passed.
func TestFileStorePermissions(t *testing.T) {
	if os.Geteuid() == 0 {
		runAsNobody(t)
		return
	}

	t.Run("unreadable file", func(t *testing.T) {
		ctx := testContext(t)
		dir := t.TempDir()
		store, path, v1 := seed(t, dir, state.State{ActiveRegion: "EU"})
		if err := os.Chmod(path, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(path, 0o600) })

		_, err := store.Load(ctx)
		if !errors.Is(err, fs.ErrPermission) || errors.Is(err, state.ErrCorrupt) {
			t.Errorf("Load: %v; want a permission error, not ErrCorrupt", err)
		}
		if err != nil && !strings.Contains(err.Error(), "(STATE_FILE: give the checker's user read and write access to "+dir) {
			t.Errorf("Load: %q does not say to fix the access or STATE_FILE", err)
		}
		_, err = store.Swap(ctx, v1, state.State{ActiveRegion: "NAM"})
		if !errors.Is(err, fs.ErrPermission) || errors.Is(err, state.ErrConflict) {
			t.Errorf("Swap: %v; want a permission error", err)
		}
		if names, want := dirNames(t, dir), []string{"state.json", "state.json.lock"}; !reflect.DeepEqual(names, want) {
			t.Errorf("folder holds %v, want %v (nothing moved aside)", names, want)
		}
	})

	for _, keepLock := range []bool{true, false} {
		t.Run("read-only folder/lock file exists "+strconv.FormatBool(keepLock), func(t *testing.T) {
			ctx := testContext(t)
			dir := t.TempDir()
			store, path, v1 := seed(t, dir, state.State{ActiveRegion: "EU"})
			if !keepLock {
				if err := os.Remove(path + ".lock"); err != nil {
					t.Fatal(err)
				}
			}
			before := readFile(t, path)
			if err := os.Chmod(dir, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })

			_, err := store.Swap(ctx, v1, state.State{ActiveRegion: "NAM"})
			if !errors.Is(err, fs.ErrPermission) || errors.Is(err, state.ErrConflict) {
				t.Fatalf("Swap: %v; want a permission error", err)
			}
			if !strings.Contains(err.Error(), "swap state "+path) {
				t.Errorf("error %q does not name the state file", err)
			}
			if !strings.Contains(err.Error(), "or set STATE_FILE to a path it owns)") {
				t.Errorf("error %q does not say to fix the access or STATE_FILE", err)
			}
			if after := readFile(t, path); string(after) != string(before) {
				t.Error("file changed")
			}
			// Reading needs no write access.
			if got, err := store.Load(ctx); err != nil || !reflect.DeepEqual(got, v1) {
				t.Errorf("Load = %+v, %v; want %+v", got, err, v1)
			}
		})
	}

	t.Run("corrupt file in a read-only folder", func(t *testing.T) {
		ctx := testContext(t)
		dir := t.TempDir()
		store, path, _ := seed(t, dir, state.State{ActiveRegion: "EU"})
		if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })

		_, err := store.Load(ctx)
		// Not ErrCorrupt: the file is still there, nobody may start afresh.
		if err == nil || errors.Is(err, state.ErrCorrupt) || !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Load: %v; want a permission error that is not ErrCorrupt", err)
		}
		if err != nil && !strings.Contains(err.Error(), "could not be moved aside") {
			t.Errorf("error %q does not say the file stayed", err)
		}
		if got := readFile(t, path); string(got) != "{" {
			t.Errorf("file holds %q", got)
		}
	})
}

// runAsNobody runs the calling test in a copy of the test binary as the user
// nobody, in a folder that user owns, and fails unless that run passed.
func runAsNobody(t *testing.T) {
	t.Helper()
	const uid, gid = 65534, 65534
	// Test binaries and t.TempDir folders are private to root: use a folder
	// nobody can enter.
	dir, err := os.MkdirTemp("", "state-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "state.test")
	if err := copyFile(os.Args[0], bin, 0o755); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(work, uid, gid); err != nil {
		t.Fatal(err)
	}

	cmd := exec.CommandContext(testContext(t), bin, "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "TMPDIR="+work, "HOME="+work)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s as uid %d: %v\n%s", t.Name(), uid, err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s as uid %d did not run:\n%s", t.Name(), uid, out)
	}
	t.Logf("ran as uid %d:\n%s", uid, out)
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

func TestFileStoreLockWaitEndsWithContext(t *testing.T) {
	store, path, v1 := seed(t, t.TempDir(), state.State{ActiveRegion: "EU"})
	before := readFile(t, path)

	// Another holder of the lock, as a second process would be.
	f, err := os.OpenFile(path+".lock", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err = store.Swap(ctx, v1, state.State{ActiveRegion: "NAM"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Swap while the lock is held: %v; want context.DeadlineExceeded", err)
	}
	if after := readFile(t, path); string(after) != string(before) {
		t.Error("file changed without the lock")
	}

	// Corrupt-file handling waits for the lock too.
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel2()
	if _, err := store.Load(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Load of a corrupt file while the lock is held: %v; want context.DeadlineExceeded", err)
	}
	if got := readFile(t, path); string(got) != "{" {
		t.Error("corrupt file moved without the lock")
	}

	// Released, the same store goes ahead.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Load(testContext(t)); !errors.Is(err, state.ErrCorrupt) {
		t.Errorf("Load after the lock was released: %v; want ErrCorrupt", err)
	}
}

func TestFileStoreConcurrentSwap(t *testing.T) {
	shared, path, v1 := seed(t, t.TempDir(), state.State{ActiveRegion: "NAM"})
	// Half share one store, half have their own: both must hold.
	statetest.Race(t, testContext(t), v1, 50, func(i int) state.Store {
		if i%2 == 1 {
			return state.NewFileStore(path)
		}
		return shared
	})
}

func TestFileStoreMultiProcessRace(t *testing.T) {
	const racers = 10
	ctx := testContext(t)
	_, path, _ := seed(t, t.TempDir(), state.State{ActiveRegion: "NAM"})

	type child struct {
		cmd    *exec.Cmd
		stdin  io.WriteCloser
		stdout *bufio.Reader
		stderr strings.Builder
	}
	children := make([]*child, racers)
	for i := range children {
		c := &child{cmd: exec.CommandContext(ctx, os.Args[0])}
		c.cmd.Env = append(os.Environ(), swapChildPathEnv+"="+path, swapChildIDEnv+"=proc-"+strconv.Itoa(i))
		c.cmd.Stderr = &c.stderr
		var err error
		if c.stdin, err = c.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		out, err := c.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		c.stdout = bufio.NewReader(out)
		if err := c.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		children[i] = c
	}
	line := func(c *child) string {
		s, err := c.stdout.ReadString('\n')
		if err != nil {
			// Its stderr may be read only once it has exited.
			_ = c.stdin.Close()
			waitErr := c.cmd.Wait()
			t.Fatalf("read from child: %v; child: %v, stderr: %s", err, waitErr, c.stderr.String())
		}
		return strings.TrimSpace(s)
	}

	// Every child has loaded version 1 before any may swap.
	for _, c := range children {
		if got := line(c); got != "ready" {
			t.Fatalf("child said %q, want ready", got)
		}
	}
	for _, c := range children {
		if err := c.stdin.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var winners []string
	conflicts := 0
	for i, c := range children {
		switch got := line(c); got {
		case "won":
			winners = append(winners, "proc-"+strconv.Itoa(i))
		case "conflict":
			conflicts++
		default:
			t.Errorf("child %d said %q", i, got)
		}
		if err := c.cmd.Wait(); err != nil {
			t.Errorf("child %d: %v (stderr: %s)", i, err, c.stderr.String())
		}
	}
	if len(winners) != 1 || conflicts != racers-1 {
		t.Fatalf("winners %v, %d conflicts; want exactly one winner", winners, conflicts)
	}
	got, err := state.NewFileStore(path).Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.PreviousRegion != winners[0] {
		t.Errorf("stored %+v; want version 2 written by %s", got, winners[0])
	}
}
