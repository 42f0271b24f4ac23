// This file holds Region: a simulated cloud region on 127.0.0.1 whose health
// a test switches.

package testenv

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// Region is a simulated cloudlookup endpoint on 127.0.0.1 whose health the
// test switches. It answers GET /cloudlookup?orgId=org-1&txnId=txn-1 with a
// small JSON body, 503 while Down, and 400 to any other request, so a probe
// URL built wrongly fails the test instead of passing it.
type Region struct {
	Name   string
	Server *httptest.Server
	// Down makes the region answer 503.
	Down atomic.Bool
	// Hits counts the requests it received.
	Hits atomic.Int64
}

// StartRegion starts a region named name and stops it in t.Cleanup.
func StartRegion(t testing.TB, name string) *Region {
	t.Helper()
	r := &Region{Name: name}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.Hits.Add(1)
		q := req.URL.Query()
		if req.URL.Path != "/cloudlookup" || q.Get("orgId") != "org-1" || q.Get("txnId") != "txn-1" {
			http.Error(w, "bad request "+req.URL.String(), http.StatusBadRequest)
			return
		}
		if r.Down.Load() {
			http.Error(w, "region down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, `{"region":%q,"status":"ok"}`, name)
	}))
	t.Cleanup(r.Server.Close)
	return r
}

// Cloud is the region's host:port, as EXT_CLOUD_FAILOVER_LIST names it.
func (r *Region) Cloud() string { return strings.TrimPrefix(r.Server.URL, "http://") }
