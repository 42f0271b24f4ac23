package config

import (
	"reflect"
	"testing"
)

func TestClosest(t *testing.T) {
	t.Parallel()
	names := []string{"probe-timeout", "to", "json", "r", "failover-threshold"}
	for _, tt := range []struct{ in, want string }{
		{"probe-timout", "probe-timeout"},           // a letter dropped
		{"probe-timeoutt", "probe-timeout"},         // added
		{"failover-treshold", "failover-threshold"}, // dropped, in a long name
		{"jsno", "json"},                            // two neighbours swapped
		{"too", "to"},
		{"x", ""},                         // one edit, but the whole name
		{"probe-interval", ""},            // far from everything
		{"json", ""},                      // itself
		{string(make([]byte, 1<<20)), ""}, // too long to compare
	} {
		if got := Closest(tt.in, names); got != tt.want {
			t.Errorf("Closest(%.20q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestNearMisses: a variable set but not read, close to one that is read,
// is named with it; variables that are read, and names far from any, are
// not.
func TestNearMisses(t *testing.T) {
	t.Parallel()
	got := NearMisses([]string{
		"FAILOVER_TRESHOLD=2m",
		"PROBE_TIMEOUT=5s",
		"probe_interval=5s",
		"EXTCLOUD_FAILOVER_LIST=NAM=a,EU=b",
		"PATH=/usr/bin",
		"HOME=/root",
		"AWS_REGION=eu-west-1",
		"NOEQUALS",
	})
	want := []NearMiss{
		{"EXTCLOUD_FAILOVER_LIST", "EXT_CLOUD_FAILOVER_LIST"},
		{"FAILOVER_TRESHOLD", "FAILOVER_THRESHOLD"},
		{"probe_interval", "PROBE_INTERVAL"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NearMisses = %+v, want %+v", got, want)
	}
}
