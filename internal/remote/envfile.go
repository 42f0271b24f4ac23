// This file holds ext_cloud.env: its keys, rendering, parsing and the
// atomic, fenced write.

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

	"extcloud-failover/internal/atomicfile"
	"extcloud-failover/internal/ident"
)

// Keys of ext_cloud.env that Render writes and Parse interprets.
const (
	EnvKeyCloud      = "EXT_CLOUD"
	EnvKeyRegion     = "EXT_CLOUD_REGION"
	EnvKeyGeneration = "EXT_CLOUD_GENERATION"
)

// ErrInvalidTarget means a Target field is outside the strict character set
// that may reach a file or a shell.
var ErrInvalidTarget = errors.New("remote: invalid target")

// EnvFile is the parsed content of an ext_cloud.env file.
type EnvFile struct {
	Cloud      string
	Region     string
	Generation int64
	// Vars holds every other KEY=VALUE line (hand edits), by key.
	Vars map[string]string
}

// Target returns the target the file points at.
func (e EnvFile) Target() Target {
	return Target{Region: e.Region, Cloud: e.Cloud, Generation: e.Generation}
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

// Render returns the ext_cloud.env content for t: a header comment, then
// EXT_CLOUD, EXT_CLOUD_REGION and EXT_CLOUD_GENERATION lines. The output holds
// no timestamp, so it changes only when t changes. Render does not validate
// t; WriteEnvFile does (see ValidateTarget).
func Render(t Target) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Written by extcloud-failover; do not edit. Generation %d, region %s.\n", t.Generation, t.Region)
	fmt.Fprintf(&b, "%s=%s\n", EnvKeyCloud, t.Cloud)
	fmt.Fprintf(&b, "%s=%s\n", EnvKeyRegion, t.Region)
	fmt.Fprintf(&b, "%s=%d\n", EnvKeyGeneration, t.Generation)
	return b.Bytes()
}

// Parse reads KEY=VALUE lines. Blank lines and lines starting with # are
// ignored; an "export " prefix and matching single or double quotes around a
// value are accepted, so hand-edited files still parse. Later keys win. Keys
// other than the EXT_CLOUD ones are kept in Vars. A missing
// EXT_CLOUD_GENERATION means generation 0; missing EXT_CLOUD or
// EXT_CLOUD_REGION leave the fields empty. Errors name the line number.
func Parse(data []byte) (EnvFile, error) {
	var e EnvFile
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		line = strings.TrimSpace(strings.TrimPrefix(line, "export "))
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
			e.Region = value
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

// WriteEnvFile points the env file at path to t and reports whether it
// changed. A file whose content already equals Render(t) is left alone
// (changed is false). A file that parses and holds a newer generation than t
// is left alone too, and the error wraps ErrStaleGeneration (fencing against
// a delayed push). Otherwise the file is replaced atomically, mode 0644: a
// temporary file in the same folder is written, synced and renamed over path,
// then the folder is synced. The parent folder must exist; it is not created.
// A directory at path is an error and nothing is changed.
//
// WriteEnvFile is not safe for concurrent use on the same path; callers
// serialise pushes (the state's compare-and-swap does).
func WriteEnvFile(path string, t Target) (changed bool, err error) {
	if err := ValidateTarget(t); err != nil {
		return false, fmt.Errorf("write env file %s: %w", path, err)
	}
	want := Render(t)
	dir := filepath.Dir(path)
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return false, fmt.Errorf("write env file %s: is a directory (ENV_FILE must name a file: remove the directory or change ENV_FILE)", path)
	case err == nil:
		current, err := os.ReadFile(path)
		if err != nil {
			return false, fmt.Errorf("write env file: %w", err)
		}
		if bytes.Equal(current, want) {
			return false, nil
		}
		if e, perr := Parse(current); perr == nil && e.Generation > t.Generation {
			return false, fmt.Errorf("write env file %s: holds generation %d, refusing generation %d: %w",
				path, e.Generation, t.Generation, ErrStaleGeneration)
		}
	case errors.Is(err, fs.ErrNotExist):
		if _, derr := os.Stat(dir); derr != nil {
			return false, fmt.Errorf("write env file %s: parent folder %s: %w (create the folder or change ENV_FILE)", path, dir, derr)
		}
	default:
		return false, fmt.Errorf("write env file: %w", err)
	}

	if err := atomicfile.WriteFile(path, want, 0o644); err != nil {
		return false, fmt.Errorf("write env file %s: %w", path, err)
	}
	return true, nil
}
