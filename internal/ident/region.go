// This file holds regions: the upper-case names of EXT_CLOUD_FAILOVER_LIST.

package ident

import "fmt"

// MaxRegion is the longest region name.
const MaxRegion = 16

// Region checks a region name: an upper-case letter, then up to 15 of A-Z,
// 0-9 and _ (NAM, EU, APAC, EU_2).
func Region(s string) error {
	ok := s != "" && len(s) <= MaxRegion && 'A' <= s[0] && s[0] <= 'Z'
	for i := 1; ok && i < len(s); i++ {
		c := s[i]
		ok = 'A' <= c && c <= 'Z' || digit(c) || c == '_'
	}
	if !ok {
		return fmt.Errorf("%s is not an upper-case name (want A-Z, 0-9 and _, starting with a letter, at most %d, e.g. EU)", Quote(s), MaxRegion)
	}
	return nil
}
