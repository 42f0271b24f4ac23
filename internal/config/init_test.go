package config

import (
	"strings"
	"testing"
)

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
