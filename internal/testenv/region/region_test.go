package region

import (
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestRegion pins what the tests, the bench and the demo rely on: 200 and
// a JSON body for the probe URL, 503 while Down, 400 for a URL built
// wrongly, every request counted, nothing after Close.
func TestRegion(t *testing.T) {
	t.Parallel()
	r, err := Start("EU", "org-9", "txn-9")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, r.URL()); code != 200 || body != `{"region":"EU","status":"ok"}` {
		t.Errorf("probe URL: %d %q", code, body)
	}
	if !strings.HasPrefix(r.URL(), "http://"+r.Cloud()+"/cloudlookup?") || !strings.HasPrefix(r.Cloud(), "127.0.0.1:") {
		t.Errorf("URL %q, cloud %q", r.URL(), r.Cloud())
	}
	if code, _ := get(t, "http://"+r.Cloud()+"/cloudlookup?orgId=org-1&txnId=txn-9"); code != http.StatusBadRequest {
		t.Errorf("wrong orgId: %d, want 400", code)
	}
	r.Down.Store(true)
	if code, _ := get(t, r.URL()); code != http.StatusServiceUnavailable {
		t.Errorf("down: %d, want 503", code)
	}
	if n := r.Hits.Load(); n != 3 {
		t.Errorf("hits %d, want 3", n)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(r.URL()); err == nil {
		t.Error("the region answers after Close")
	}
}

// TestNoTesting: make demo and make bench are plain programs; the region
// they share with the tests must not link the testing package.
func TestNoTesting(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".", "../../../tools/demo").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "extcloud-failover/internal/testenv/region") || slices.Contains(deps, "testing") {
		t.Errorf("the region or the demo links testing, or the demo does not use the region:\n%s", out)
	}
}
