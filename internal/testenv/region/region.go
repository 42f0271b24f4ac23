// Package region is a simulated cloud region on 127.0.0.1 whose health the
// caller switches: what the tests (testenv.StartRegion), make bench and
// make demo probe. It does not import testing, so plain programs use it.
package region

import (
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Region is a simulated cloudlookup endpoint on 127.0.0.1. It answers
// GET /cloudlookup?orgId=<org>&txnId=<txn> with a small JSON body, 503
// while Down, and 400 to any other request, so a probe URL built wrongly
// fails instead of passing.
type Region struct {
	Name string
	// Down makes the region answer 503.
	Down atomic.Bool
	// Hits counts the requests it received.
	Hits atomic.Int64

	addr, orgID, txnID string
	srv                *http.Server
}

// Start starts a region named name that expects the probe's orgId and
// txnId (CONNECTION_KEEPALIVE_ORG_ID, CONNECTION_KEEPALIVE_TXN_ID). Close
// stops it.
func Start(name, orgID, txnID string) (*Region, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("region %s: %w", name, err)
	}
	r := &Region{Name: name, addr: ln.Addr().String(), orgID: orgID, txnID: txnID}
	r.srv = &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(r.serve)}
	go func() { _ = r.srv.Serve(ln) }() // ends at Close
	return r, nil
}

func (r *Region) serve(w http.ResponseWriter, req *http.Request) {
	r.Hits.Add(1)
	q := req.URL.Query()
	if req.URL.Path != "/cloudlookup" || q.Get("orgId") != r.orgID || q.Get("txnId") != r.txnID {
		http.Error(w, "bad request "+req.URL.String(), http.StatusBadRequest)
		return
	}
	if r.Down.Load() {
		http.Error(w, "region down", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintf(w, `{"region":%q,"status":"ok"}`, r.Name)
}

// Cloud is the region's host:port, as EXT_CLOUD_FAILOVER_LIST names it.
func (r *Region) Cloud() string { return r.addr }

// URL is the probe URL the region answers.
func (r *Region) URL() string {
	return "http://" + r.addr + "/cloudlookup?orgId=" + r.orgID + "&txnId=" + r.txnID
}

// Close stops the region, closing its connections.
func (r *Region) Close() error { return r.srv.Close() }
