// This file holds ext_cloud.env: its keys and two formats, rendering,
// parsing, comparing by meaning and the atomic, fenced write.

package remote

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"extcloud-failover/internal/atomicfile"
	"extcloud-failover/internal/ident"
)

// Keys of ext_cloud.env that Render writes and Parse interprets.
// EnvKeyCloud and EnvKeyAppRegion are the Python handler's two lines, which
// the applications source; EnvKeyRegion and EnvKeyGeneration are this
// tool's own.
const (
	EnvKeyCloud      = "EXT_CLOUD"
	EnvKeyAppRegion  = "EXT_REGION"
	EnvKeyRegion     = "EXT_CLOUD_REGION"
	EnvKeyGeneration = "EXT_CLOUD_GENERATION"
)

// EnvFormat is how ext_cloud.env is written (ENV_FILE_FORMAT). Parse reads
// both.
type EnvFormat string

// The env file formats.
const (
	// EnvShell writes "export KEY=VALUE" lines, which a shell can source and
	// pass on to the programs it starts (the default, as the handler did).
	EnvShell EnvFormat = "shell"
	// EnvPlain writes "KEY=VALUE" lines, for systemd's EnvironmentFile= and
	// docker --env-file.
	EnvPlain EnvFormat = "plain"
)

// ErrInvalidTarget means a Target field is outside the strict character set
// that may reach a file or a shell.
var ErrInvalidTarget = errors.New("remote: invalid target")

// EnvFile is the parsed content of an ext_cloud.env file.
type EnvFile struct {
	// Cloud is EXT_CLOUD.
	Cloud string
	// Region is EXT_CLOUD_REGION or, in a file without it (one the Python
	// handler wrote), EXT_REGION.
	Region string
	// AppRegion is EXT_REGION as written, empty when the file has none.
	AppRegion string
	// Generation is EXT_CLOUD_GENERATION; 0 when the file has none.
	Generation int64
	// Vars holds every other KEY=VALUE line (hand edits), by key.
	Vars map[string]string
}

// Target returns the target the file points at.
func (e EnvFile) Target() Target {
	return Target{Region: e.Region, Cloud: e.Cloud, Generation: e.Generation}
}

// Means reports whether the file says the same as t: the same cloud, region
// and generation, and no EXT_REGION naming another region. The format, the
// header and keys left out do not matter.
func (e EnvFile) Means(t Target) bool {
	return e.Cloud == t.Cloud && e.Region == t.Region && e.Generation == t.Generation &&
		(e.AppRegion == "" || e.AppRegion == t.Region)
}

// Describe says what the file points at, for a log line:
// "region EU, cloud eu.example.com, generation 2".
func (e EnvFile) Describe() string {
	s := fmt.Sprintf("region %s, cloud %s, generation %d", orNone(e.Region), orNone(e.Cloud), e.Generation)
	if e.AppRegion != "" && e.AppRegion != e.Region {
		s += fmt.Sprintf(", but %s=%s", EnvKeyAppRegion, e.AppRegion)
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// ValidateTarget reports whether t may be written to a file or passed to a
// shell: the cloud and region follow internal/ident's rules (ident.Cloud,
// ident.Region) and the generation is not negative. Errors wrap
// ErrInvalidTarget.
func ValidateTarget(t Target) error {
	if err := ident.Cloud(t.Cloud); err != nil {
		return fmt.Errorf("cloud %w: %w", err, ErrInvalidTarget)
	}
	if err := ident.Region(t.Region); err != nil {
		return fmt.Errorf("region %w: %w", err, ErrInvalidTarget)
	}
	if t.Generation < 0 {
		return fmt.Errorf("generation %d (want 0 or more): %w", t.Generation, ErrInvalidTarget)
	}
	return nil
}

// Render returns the ext_cloud.env content for t in the shell format (see
// EnvFormat.Render).
func Render(t Target) []byte { return EnvShell.Render(t) }

// Render returns the ext_cloud.env content for t: a header comment, then
// EXT_CLOUD, EXT_REGION, EXT_CLOUD_REGION and EXT_CLOUD_GENERATION, each
// behind "export " in the shell format. The values need no quoting (see
// ValidateTarget). The output holds no timestamp, so it changes only when t
// or the format changes. Render does not validate t; the writers do. An
// unknown format renders as EnvShell.
func (f EnvFormat) Render(t Target) []byte {
	prefix := "export "
	if f == EnvPlain {
		prefix = ""
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Written by extcloud-failover; do not edit. Generation %d, region %s.\n", t.Generation, t.Region)
	fmt.Fprintf(&b, "%s%s=%s\n", prefix, EnvKeyCloud, t.Cloud)
	fmt.Fprintf(&b, "%s%s=%s\n", prefix, EnvKeyAppRegion, t.Region)
	fmt.Fprintf(&b, "%s%s=%s\n", prefix, EnvKeyRegion, t.Region)
	fmt.Fprintf(&b, "%s%s=%d\n", prefix, EnvKeyGeneration, t.Generation)
	return b.Bytes()
}

// Parse reads KEY=VALUE lines, with or without an "export " prefix, so both
// formats and the Python handler's file parse. Blank lines and lines
// starting with # are ignored; matching single or double quotes around a
// value are accepted, so hand-edited files still parse. Later keys win. Keys
// other than the EXT_ ones are kept in Vars. A missing EXT_CLOUD_GENERATION
// means generation 0; a missing EXT_CLOUD_REGION means EXT_REGION's region
// (the handler's file reads as generation 0 of its region); missing keys
// otherwise leave the fields empty. Errors name the line number.
func Parse(data []byte) (EnvFile, error) {
	var e EnvFile
	own := false // EXT_CLOUD_REGION seen
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			line = strings.TrimSpace(rest)
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return EnvFile{}, fmt.Errorf("line %d: missing \"=\" (want KEY=VALUE)", n)
		}
		key = strings.TrimSpace(key)
		if err := ident.EnvKey(key); err != nil {
			return EnvFile{}, fmt.Errorf("line %d: %w", n, err)
		}
		value = unquoteEnvValue(strings.TrimSpace(value))
		switch key {
		case EnvKeyCloud:
			e.Cloud = value
		case EnvKeyRegion:
			e.Region, own = value, true
		case EnvKeyAppRegion:
			e.AppRegion = value
		case EnvKeyGeneration:
			g, err := strconv.ParseInt(value, 10, 64)
			if err != nil || g < 0 {
				return EnvFile{}, fmt.Errorf("line %d: %s=%q (want a whole number, 0 or more)", n, key, value)
			}
			e.Generation = g
		default:
			if e.Vars == nil {
				e.Vars = make(map[string]string)
			}
			e.Vars[key] = value
		}
	}
	if !own {
		e.Region = e.AppRegion
	}
	return e, nil
}

func unquoteEnvValue(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// ReadEnvFile reads and parses the env file at path. A missing file is an
// error satisfying errors.Is(err, fs.ErrNotExist).
func ReadEnvFile(path string) (EnvFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return EnvFile{}, fmt.Errorf("read env file: %w", err)
	}
	e, err := Parse(data)
	if err != nil {
		return EnvFile{}, fmt.Errorf("parse env file %s: %w", path, err)
	}
	return e, nil
}

// EnvChange is what a write of the env file found and did.
type EnvChange int

// The outcomes of EnvFormat.Write.
const (
	// EnvUnchanged: the file already held exactly the content; not written.
	EnvUnchanged EnvChange = iota
	// EnvReformatted: the file said the same (EnvFile.Means) in another
	// format or with keys missing; rewritten, keeping its modification time.
	// The programs already run with its meaning and need no restart.
	EnvReformatted
	// EnvCreated: there was no file; written.
	EnvCreated
	// EnvReplaced: the file pointed elsewhere or did not parse; replaced.
	EnvReplaced
)

// NeedsRestart reports whether the programs must restart to read the file.
func (c EnvChange) NeedsRestart() bool { return c == EnvCreated || c == EnvReplaced }

// EnvWrite is the outcome of EnvFormat.Write.
type EnvWrite struct {
	Change EnvChange
	// Was describes what the file said before, when Change is EnvReplaced
	// ("region EU, cloud eu.example.com, generation 2", or why it did not
	// parse).
	Was string
	// ModTime is the file's modification time after the write: when its
	// meaning last changed.
	ModTime time.Time
}

// WriteEnvFile points the env file at path to t in the shell format and
// reports whether its content changed; see EnvFormat.Write.
func WriteEnvFile(path string, t Target) (changed bool, err error) {
	w, err := EnvShell.Write(path, t)
	return w.Change != EnvUnchanged, err
}

// Write points the env file at path to t in format f. A file whose content
// already equals f.Render(t) is left alone (EnvUnchanged: one read). A file
// that parses and holds a newer generation than t is left alone too, and the
// error wraps ErrStaleGeneration (fencing against a delayed push); a file the
// Python handler wrote reads as generation 0. A file that means t in another
// form is rewritten with its modification time kept (EnvReformatted).
// Otherwise the file is replaced atomically, mode 0644: a temporary file in
// the same folder is written, synced and renamed over path, then the folder
// is synced. The parent folder must exist; it is not created. A directory at
// path is an error and nothing is changed.
//
// Write is not safe for concurrent use on the same path; callers serialise
// pushes (the state's compare-and-swap does).
func (f EnvFormat) Write(path string, t Target) (EnvWrite, error) {
	return f.write(path, t, writeAll)
}

// Inspect is Write for the check that runs on every invocation: it finds
// what Write would do, but writes only a file that already means t
// (EnvReformatted, no restart needed). For a missing or different file it
// returns EnvCreated or EnvReplaced (with Was) and leaves the file alone, so
// that the caller can record its intent before the push that writes it and
// restarts the programs. A file holding exactly the content costs one read.
// Anything but a regular file (a FIFO, a device) is an error, never read.
func (f EnvFormat) Inspect(path string, t Target) (EnvWrite, error) {
	return f.write(path, t, writeSameMeaning)
}

// Compare is Inspect that writes nothing at all (a dry run): it reports
// what Inspect would find, EnvReformatted included.
func (f EnvFormat) Compare(path string, t Target) (EnvWrite, error) {
	return f.write(path, t, writeNone)
}

// writeMode is what write may write.
type writeMode int

const (
	writeAll         writeMode = iota // Write
	writeSameMeaning                  // Inspect: only a file that means t
	writeNone                         // Compare
)

func (f EnvFormat) write(path string, t Target, mode writeMode) (EnvWrite, error) {
	if err := ValidateTarget(t); err != nil {
		return EnvWrite{}, fmt.Errorf("write env file %s: %w", path, err)
	}
	want := f.Render(t)
	dir := filepath.Dir(path)
	res := EnvWrite{Change: EnvCreated}
	var keep time.Time
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return EnvWrite{}, fmt.Errorf("write env file %s: is a directory (ENV_FILE must name a file: remove the directory or change ENV_FILE)", path)
	case err == nil && mode != writeAll && !fi.Mode().IsRegular():
		// The check of every invocation must not block on a FIFO or device.
		return EnvWrite{}, fmt.Errorf("read env file %s: not a regular file (%s; ENV_FILE must name a file)", path, fi.Mode().Type())
	case err == nil:
		current, err := os.ReadFile(path)
		if err != nil {
			return EnvWrite{}, fmt.Errorf("write env file: %w", err)
		}
		if bytes.Equal(current, want) {
			return EnvWrite{Change: EnvUnchanged, ModTime: fi.ModTime()}, nil
		}
		e, perr := Parse(current)
		switch {
		case perr != nil:
			res = EnvWrite{Change: EnvReplaced, Was: "unparseable: " + perr.Error()}
		case e.Generation > t.Generation:
			return EnvWrite{}, fmt.Errorf("write env file %s: holds generation %d, refusing generation %d: %w",
				path, e.Generation, t.Generation, ErrStaleGeneration)
		case e.Means(t):
			res.Change, keep = EnvReformatted, fi.ModTime()
		default:
			res = EnvWrite{Change: EnvReplaced, Was: e.Describe()}
		}
	case errors.Is(err, fs.ErrNotExist):
		if _, derr := os.Stat(dir); derr != nil {
			return EnvWrite{}, fmt.Errorf("write env file %s: parent folder %s: %w (create the folder or change ENV_FILE)", path, dir, derr)
		}
	default:
		return EnvWrite{}, fmt.Errorf("write env file: %w", err)
	}
	if mode == writeNone || (mode == writeSameMeaning && res.Change != EnvReformatted) {
		return res, nil
	}

	if err := atomicfile.WriteFile(path, want, 0o644); err != nil {
		return EnvWrite{}, fmt.Errorf("write env file %s: %w", path, err)
	}
	if !keep.IsZero() {
		// The meaning has not changed, so neither has the time the
		// programs are judged against (see Supervisor.Push).
		if err := os.Chtimes(path, keep, keep); err != nil {
			return EnvWrite{}, fmt.Errorf("write env file %s: keep its modification time: %w", path, err)
		}
	}
	fi, err = os.Stat(path)
	if err != nil {
		return EnvWrite{}, fmt.Errorf("stat env file: %w", err)
	}
	res.ModTime = fi.ModTime()
	return res, nil
}
