package remote

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	eu := Target{Region: "EU", Cloud: "eu.cloud.example", Generation: 7}
	const header = "# Written by extcloud-failover; do not edit. Generation 7, region EU.\n"
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"default is shell", Render(eu), header +
			"export EXT_CLOUD=eu.cloud.example\nexport EXT_REGION=EU\nexport EXT_CLOUD_REGION=EU\nexport EXT_CLOUD_GENERATION=7\n"},
		{"shell", EnvShell.Render(eu), header +
			"export EXT_CLOUD=eu.cloud.example\nexport EXT_REGION=EU\nexport EXT_CLOUD_REGION=EU\nexport EXT_CLOUD_GENERATION=7\n"},
		{"plain", EnvPlain.Render(eu), header +
			"EXT_CLOUD=eu.cloud.example\nEXT_REGION=EU\nEXT_CLOUD_REGION=EU\nEXT_CLOUD_GENERATION=7\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("Render() =\n%s\nwant\n%s", tt.got, tt.want)
			}
		})
	}
}

// TestRenderSourcedByShell sources the shell format the way the handler's
// start scripts do and checks that a child process sees the variables: they
// must be exported, not just set.
func TestRenderSourcedByShell(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ext_cloud.env")
	writeTestFile(t, p, string(Render(Target{Region: "APAC", Cloud: "ap.cloud.example:443", Generation: 2})))
	out, err := exec.Command("/bin/sh", "-c", `. "$1" && sh -c 'echo "$EXT_CLOUD $EXT_REGION $EXT_CLOUD_REGION $EXT_CLOUD_GENERATION"'`, "sh", p).CombinedOutput()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "ap.cloud.example:443 APAC APAC 2"; got != want {
		t.Errorf("child of the sourcing shell sees %q, want %q", got, want)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want EnvFile
	}{
		{
			name: "rendered shell",
			in:   string(EnvShell.Render(Target{Region: "APAC", Cloud: "ap.example:443", Generation: 3})),
			want: EnvFile{Cloud: "ap.example:443", Region: "APAC", AppRegion: "APAC", Generation: 3},
		},
		{
			name: "rendered plain",
			in:   string(EnvPlain.Render(Target{Region: "APAC", Cloud: "ap.example:443", Generation: 3})),
			want: EnvFile{Cloud: "ap.example:443", Region: "APAC", AppRegion: "APAC", Generation: 3},
		},
		{
			name: "the Python handler's file is generation 0 of its region",
			in:   "export EXT_CLOUD=eu.example\nexport EXT_REGION=EU\n",
			want: EnvFile{Cloud: "eu.example", Region: "EU", AppRegion: "EU"},
		},
		{
			name: "EXT_CLOUD_REGION wins over EXT_REGION",
			in:   "EXT_CLOUD=c\nEXT_REGION=EU\nEXT_CLOUD_REGION=NAM\n",
			want: EnvFile{Cloud: "c", Region: "NAM", AppRegion: "EU"},
		},
		{
			name: "a key named like export is a key",
			in:   "exported=1\nexport\tEXT_CLOUD=c\n",
			want: EnvFile{Cloud: "c", Vars: map[string]string{"exported": "1"}},
		},
		{
			name: "hand edited",
			in: "# my notes\r\n\n  export EXT_CLOUD = \"nam.example\" \r\n" +
				"EXT_CLOUD_REGION='NAM'\nDEBUG=1\nEMPTY=\nURL=https://x/?a=b\n",
			want: EnvFile{Cloud: "nam.example", Region: "NAM",
				Vars: map[string]string{"DEBUG": "1", "EMPTY": "", "URL": "https://x/?a=b"}},
		},
		{
			name: "generation missing means 0",
			in:   "EXT_CLOUD=c\nEXT_CLOUD_REGION=EU\n",
			want: EnvFile{Cloud: "c", Region: "EU"},
		},
		{
			name: "later key wins",
			in:   "EXT_CLOUD_REGION=EU\nEXT_CLOUD_REGION=NAM\n",
			want: EnvFile{Region: "NAM"},
		},
		{name: "empty", in: "", want: EnvFile{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse() error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no equals", "EXT_CLOUD=c\nhello\n", `line 2: missing "=" (want KEY=VALUE)`},
		{"bad key", "# c\n\n1X=2\n", `line 3: bad key "1X" (want letters, digits and _)`},
		{"empty key", "=v", `line 1: bad key "" (want letters, digits and _)`},
		{"key with space", "A B=1", `line 1: bad key "A B" (want letters, digits and _)`},
		{"bad generation", "EXT_CLOUD_GENERATION=two", `line 1: EXT_CLOUD_GENERATION="two" (want a whole number, 0 or more)`},
		{"negative generation", "\nEXT_CLOUD_GENERATION=-1", `line 2: EXT_CLOUD_GENERATION="-1" (want a whole number, 0 or more)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Errorf("Parse() error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestValidateTarget(t *testing.T) {
	tests := []struct {
		name string
		t    Target
		ok   bool
	}{
		{"good", Target{Region: "EU_2", Cloud: "https://eu-1.example.com:443/x_y", Generation: 1}, true},
		{"host and port", Target{Region: "EU", Cloud: "eu-1.example.com:443"}, true},
		{"ipv6 loopback", Target{Region: "EU", Cloud: "[::1]:8443"}, true},
		{"path without a scheme", Target{Region: "EU", Cloud: "eu-1.example.com:443/x_y"}, false},
		{"region too long", Target{Region: "ABCDEFGHIJKLMNOPQ", Cloud: "c"}, false},
		{"zero generation", Target{Region: "EU", Cloud: "c"}, true},
		{"empty cloud", Target{Region: "EU"}, false},
		{"cloud with newline", Target{Region: "EU", Cloud: "c\nEXT_CLOUD_REGION=NAM"}, false},
		{"cloud with space", Target{Region: "EU", Cloud: "c d"}, false},
		{"cloud with quote", Target{Region: "EU", Cloud: "c'"}, false},
		{"lower-case region", Target{Region: "eu", Cloud: "c"}, false},
		{"region starts with digit", Target{Region: "1EU", Cloud: "c"}, false},
		{"empty region", Target{Cloud: "c"}, false},
		{"negative generation", Target{Region: "EU", Cloud: "c", Generation: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateTarget(tt.t)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateTarget(%+v) = %v, want ok=%t", tt.t, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidTarget) {
				t.Errorf("error %v does not wrap ErrInvalidTarget", err)
			}
		})
	}
}

func TestReadEnvFile(t *testing.T) {
	dir := t.TempDir()
	t.Run("missing", func(t *testing.T) {
		_, err := ReadEnvFile(filepath.Join(dir, "nope.env"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("ReadEnvFile() error = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("bad line names file and line", func(t *testing.T) {
		p := filepath.Join(dir, "bad.env")
		writeTestFile(t, p, "EXT_CLOUD=c\noops\n")
		_, err := ReadEnvFile(p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "line 2") {
			t.Fatalf("ReadEnvFile() error = %v, want the path and line 2", err)
		}
	})
	t.Run("written", func(t *testing.T) {
		p := filepath.Join(dir, "ok.env")
		want := Target{Region: "EU", Cloud: "eu.example", Generation: 4}
		if _, err := WriteEnvFile(p, want); err != nil {
			t.Fatal(err)
		}
		e, err := ReadEnvFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if e.Target() != want {
			t.Errorf("ReadEnvFile() target = %+v, want %+v", e.Target(), want)
		}
	})
}

func TestWriteEnvFile(t *testing.T) {
	eu := Target{Region: "EU", Cloud: "eu.example", Generation: 2}
	nam := Target{Region: "NAM", Cloud: "nam.example", Generation: 3}

	t.Run("create, unchanged, change", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "ext_cloud.env")
		changed, err := WriteEnvFile(p, eu)
		if err != nil || !changed {
			t.Fatalf("first write = %t, %v; want true, nil", changed, err)
		}
		before := statTest(t, p)
		changed, err = WriteEnvFile(p, eu)
		if err != nil || changed {
			t.Fatalf("same target = %t, %v; want false, nil", changed, err)
		}
		if after := statTest(t, p); !os.SameFile(before, after) {
			t.Error("same target replaced the file")
		}
		changed, err = WriteEnvFile(p, nam)
		if err != nil || !changed {
			t.Fatalf("new target = %t, %v; want true, nil", changed, err)
		}
		if got := readTestFile(t, p); got != string(Render(nam)) {
			t.Errorf("file = %q, want %q", got, Render(nam))
		}
		if after := statTest(t, p); os.SameFile(before, after) {
			t.Error("new target did not replace the file by rename")
		}
		assertOnlyFiles(t, dir, "ext_cloud.env")
	})

	t.Run("mode 0644 even over a 0600 file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "ext_cloud.env")
		writeTestFile(t, p, "EXT_CLOUD=old\n")
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := WriteEnvFile(p, eu); err != nil {
			t.Fatal(err)
		}
		if mode := statTest(t, p).Mode().Perm(); mode != 0o644 {
			t.Errorf("mode = %v, want 0644", mode)
		}
	})

	t.Run("stale generation refused", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "ext_cloud.env")
		if _, err := WriteEnvFile(p, nam); err != nil {
			t.Fatal(err)
		}
		changed, err := WriteEnvFile(p, eu)
		if !errors.Is(err, ErrStaleGeneration) || changed {
			t.Fatalf("older generation = %t, %v; want false, ErrStaleGeneration", changed, err)
		}
		if want := "holds generation 3, refusing generation 2"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
		if got := readTestFile(t, p); got != string(Render(nam)) {
			t.Errorf("stale write changed the file to %q", got)
		}
		assertOnlyFiles(t, dir, "ext_cloud.env")
	})

	t.Run("same generation other target is written", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "ext_cloud.env")
		if _, err := WriteEnvFile(p, eu); err != nil {
			t.Fatal(err)
		}
		other := Target{Region: "APAC", Cloud: "ap.example", Generation: eu.Generation}
		if changed, err := WriteEnvFile(p, other); err != nil || !changed {
			t.Fatalf("same generation = %t, %v; want true, nil", changed, err)
		}
	})

	t.Run("unparseable file is replaced", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "ext_cloud.env")
		writeTestFile(t, p, "EXT_CLOUD_GENERATION=99\ngarbage\n")
		if changed, err := WriteEnvFile(p, eu); err != nil || !changed {
			t.Fatalf("write = %t, %v; want true, nil", changed, err)
		}
	})

	t.Run("directory in place", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "ext_cloud.env")
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		changed, err := WriteEnvFile(p, eu)
		if err == nil || changed || !strings.Contains(err.Error(), p+": is a directory") || !strings.Contains(err.Error(), "change ENV_FILE") {
			t.Fatalf("write = %t, %v; want an error saying it is a directory", changed, err)
		}
		if !statTest(t, p).IsDir() {
			t.Error("directory was replaced")
		}
		assertOnlyFiles(t, dir, "ext_cloud.env")
	})

	t.Run("missing parent folder", func(t *testing.T) {
		parent := filepath.Join(t.TempDir(), "missing")
		p := filepath.Join(parent, "ext_cloud.env")
		_, err := WriteEnvFile(p, eu)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "parent folder "+parent) || !strings.Contains(err.Error(), "change ENV_FILE") {
			t.Fatalf("write error = %v, want one naming the parent folder", err)
		}
		if _, err := os.Stat(parent); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("parent folder was created: %v", err)
		}
	})

	t.Run("invalid target", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "ext_cloud.env")
		_, err := WriteEnvFile(p, Target{Region: "EU", Cloud: "x\nEXT_CLOUD_REGION=NAM"})
		if !errors.Is(err, ErrInvalidTarget) {
			t.Fatalf("write error = %v, want ErrInvalidTarget", err)
		}
		assertOnlyFiles(t, dir)
	})
}

func TestEnvFileMeans(t *testing.T) {
	eu := Target{Region: "EU", Cloud: "eu.example", Generation: 0}
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"shell", string(EnvShell.Render(eu)), true},
		{"plain", string(EnvPlain.Render(eu)), true},
		{"handler's two lines", "export EXT_CLOUD=eu.example\nexport EXT_REGION=EU\n", true},
		{"this tool's older three lines", "EXT_CLOUD=eu.example\nEXT_CLOUD_REGION=EU\nEXT_CLOUD_GENERATION=0\n", true},
		{"other cloud", "export EXT_CLOUD=nam.example\nexport EXT_REGION=EU\n", false},
		{"other region", "export EXT_CLOUD=eu.example\nexport EXT_REGION=NAM\n", false},
		{"other generation", "EXT_CLOUD=eu.example\nEXT_CLOUD_REGION=EU\nEXT_CLOUD_GENERATION=1\n", false},
		{"EXT_REGION hand-edited", "EXT_CLOUD=eu.example\nEXT_REGION=NAM\nEXT_CLOUD_REGION=EU\n", false},
		{"no cloud", "EXT_REGION=EU\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Means(eu); got != tt.want {
				t.Errorf("Means(%+v) of %+v = %t, want %t", eu, e, got, tt.want)
			}
		})
	}
}

func TestEnvFormatWrite(t *testing.T) {
	eu := Target{Region: "EU", Cloud: "eu.example", Generation: 0}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	tests := []struct {
		name   string
		before string // "" means no file
		format EnvFormat
		change EnvChange
		was    string
	}{
		{"missing", "", EnvShell, EnvCreated, ""},
		{"identical shell", string(EnvShell.Render(eu)), EnvShell, EnvUnchanged, ""},
		{"identical plain", string(EnvPlain.Render(eu)), EnvPlain, EnvUnchanged, ""},
		{"plain to shell", string(EnvPlain.Render(eu)), EnvShell, EnvReformatted, ""},
		{"shell to plain", string(EnvShell.Render(eu)), EnvPlain, EnvReformatted, ""},
		{"handler's file, same region", "export EXT_CLOUD=eu.example\nexport EXT_REGION=EU\n", EnvShell, EnvReformatted, ""},
		{"handler's file, other region", "export EXT_CLOUD=nam.example\nexport EXT_REGION=NAM\n", EnvShell, EnvReplaced,
			"region NAM, cloud nam.example, generation 0"},
		{"hand-edited EXT_REGION", "EXT_CLOUD=eu.example\nEXT_REGION=APAC\nEXT_CLOUD_REGION=EU\n", EnvPlain, EnvReplaced,
			"region EU, cloud eu.example, generation 0, but EXT_REGION=APAC"},
		{"unparseable", "garbage\n", EnvShell, EnvReplaced, `unparseable: line 1: missing "=" (want KEY=VALUE)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "ext_cloud.env")
			if tt.before != "" {
				writeTestFile(t, p, tt.before)
				if err := os.Chtimes(p, old, old); err != nil {
					t.Fatal(err)
				}
			}
			w, err := tt.format.Write(p, eu)
			if err != nil {
				t.Fatal(err)
			}
			if w.Change != tt.change || w.Was != tt.was {
				t.Errorf("Write() = change %d, was %q; want change %d, was %q", w.Change, w.Was, tt.change, tt.was)
			}
			if got := readTestFile(t, p); got != string(tt.format.Render(eu)) {
				t.Errorf("file = %q, want %q", got, tt.format.Render(eu))
			}
			mtime := statTest(t, p).ModTime()
			if !w.ModTime.Equal(mtime) {
				t.Errorf("ModTime = %v, file's is %v", w.ModTime, mtime)
			}
			// Same meaning: the time the programs are judged against stays.
			if kept := tt.change == EnvUnchanged || tt.change == EnvReformatted; kept != mtime.Equal(old) {
				t.Errorf("modification time %v, old %v: kept = %t, want %t", mtime, old, !kept, kept)
			}
			if tt.change.NeedsRestart() != (tt.change == EnvCreated || tt.change == EnvReplaced) {
				t.Errorf("NeedsRestart() = %t for change %d", tt.change.NeedsRestart(), tt.change)
			}
		})
	}
	t.Run("the handler's file never fences a push", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "ext_cloud.env")
		writeTestFile(t, p, "export EXT_CLOUD=nam.example\nexport EXT_REGION=NAM\n")
		if _, err := EnvShell.Write(p, eu); err != nil {
			t.Fatalf("generation 0 over the handler's file: %v", err)
		}
	})
	t.Run("a newer generation in plain format is fenced", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "ext_cloud.env")
		writeTestFile(t, p, string(EnvPlain.Render(Target{Region: "NAM", Cloud: "nam.example", Generation: 5})))
		if _, err := EnvShell.Write(p, Target{Region: "EU", Cloud: "eu.example", Generation: 4}); !errors.Is(err, ErrStaleGeneration) {
			t.Fatalf("older generation over a plain file: %v, want ErrStaleGeneration", err)
		}
	})
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readTestFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func statTest(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// assertOnlyFiles fails unless dir holds exactly names (no temp files left).
func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}
