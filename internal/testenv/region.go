// This file holds Region: a simulated cloud region on 127.0.0.1 whose health
// a test switches (the region subpackage, stopped in t.Cleanup).

package testenv

import (
	"testing"

	"extcloud-failover/internal/testenv/region"
)

// Region is a simulated cloudlookup endpoint on 127.0.0.1 whose health the
// test switches. It answers GET /cloudlookup?orgId=org-1&txnId=txn-1 with a
// small JSON body, 503 while Down, and 400 to any other request, so a probe
// URL built wrongly fails the test instead of passing it.
type Region = region.Region

// StartRegion starts a region named name and stops it in t.Cleanup.
func StartRegion(t testing.TB, name string) *Region {
	t.Helper()
	r, err := region.Start(name, "org-1", "txn-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}
