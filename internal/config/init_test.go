package config

import (
	"regexp"
	"strings"
	"testing"
)

// TestRegexpsCompileCheaply keeps the package's regular expressions, which
// every run of the host binary compiles before main, cheap: a counted
// repeat such as {3,255} compiles into one state per count.
func TestRegexpsCompileCheaply(t *testing.T) {
	for _, re := range []*regexp.Regexp{regionRE, programRE, instanceRE, tableRE, ssmConcRE, ssmErrorsRE, placeRE} {
		t.Run(re.String(), func(t *testing.T) {
			if n := testing.AllocsPerRun(3, func() { regexp.MustCompile(re.String()) }); n > 500 {
				t.Errorf("compiling %s allocates %v times, want at most 500", re, n)
			}
		})
	}
}

func TestStateTableLength(t *testing.T) {
	tests := []struct {
		name, table string
		ok          bool
	}{
		{"shortest", "abc", true},
		{"longest", strings.Repeat("a", 255), true},
		{"too short", "ab", false},
		{"too long", strings.Repeat("a", 256), false},
		{"bad character", "state table", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := validEnv()
			env["STATE_TABLE"] = tc.table
			_, err := FromEnv(mapEnv(env))
			if (err == nil) != tc.ok {
				t.Fatalf("STATE_TABLE of %d bytes: error %v, want ok=%v", len(tc.table), err, tc.ok)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "STATE_TABLE: ") {
				t.Errorf("error %q does not name STATE_TABLE", err)
			}
		})
	}
}
