// This file holds near misses: names a user set that are one or two
// letters from a name the tool reads (FAILOVER_TRESHOLD for
// FAILOVER_THRESHOLD, --probe-timout for --probe-timeout), found so that a
// typo does not silently leave a default in force.

package config

import (
	"sort"
	"strings"
)

// maxNearMiss bounds the names Closest compares: nobody types longer ones.
const maxNearMiss = 200

// Closest returns the name of names that s is a near miss of: one or two
// edits away (a letter added, dropped or changed, or two neighbours
// swapped), and fewer edits than half its length. It returns "" when none
// is that close, and for s itself.
func Closest(s string, names []string) string {
	if len(s) > maxNearMiss {
		return ""
	}
	best, bestDist := "", 3
	for _, n := range names {
		if n == s {
			return ""
		}
		if d := editDistance(s, n); d < bestDist && 2*d < len(s) {
			best, bestDist = n, d
		}
	}
	return best
}

// NearMiss is a variable set in the environment that Load does not read,
// and the one it reads that the name is close to.
type NearMiss struct {
	Name     string // as set, e.g. FAILOVER_TRESHOLD
	Variable string // e.g. FAILOVER_THRESHOLD
}

// NearMisses looks at environ (KEY=VALUE entries, as os.Environ gives
// them) for variables that Load does not read but that are near misses of
// one it does, in any case (failover_threshold too); sorted by name.
func NearMisses(environ []string) []NearMiss {
	names := make([]string, len(variables))
	for i := range variables {
		names[i] = variables[i].env
	}
	var out []NearMiss
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if byEnv(name) != nil {
			continue
		}
		up := strings.ToUpper(name)
		near := up
		if byEnv(up) == nil {
			near = Closest(up, names)
		}
		if near != "" {
			out = append(out, NearMiss{Name: name, Variable: near})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// editDistance is the optimal string alignment distance of a and b, in
// bytes: insertions, deletions, substitutions and swaps of two neighbours.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
