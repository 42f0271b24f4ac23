package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/testenv"
)

const sigHeader = "X-SIG-Sha256"
const emptySHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// headerServer answers 200 only to requests carrying the handler's header,
// and records the paths it was asked for.
func headerServer(t *testing.T, tlsOn bool) (srv *httptest.Server, paths chan string) {
	t.Helper()
	paths = make(chan string, 16)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.Path
		if r.Header.Get(sigHeader) != emptySHA || r.Header.Get("Authorization") != "Bearer t0k" {
			w.WriteHeader(http.StatusForbidden)
		}
	})
	if tlsOn {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, paths
}

func TestProbeThroughTheLocalChainAndPreflightDirectly(t *testing.T) {
	t.Parallel()
	tunnel, tunnelPaths := headerServer(t, true) // the local tunnel, self-signed TLS
	eu, euPaths := headerServer(t, false)        // a candidate's cloud
	cfg := testenv.Config(t, map[string]string{
		"EXT_CLOUD_FAILOVER_LIST":    "NAM=127.0.0.1:1,EU=" + testenv.HostOf(eu),
		"CLOUDLOOKUP_URL":            "https://" + testenv.HostOf(tunnel) + "/v2/{org_id}/cloudlookup/{txn_id}",
		"PREFLIGHT_URL":              "http://{cloud}/v2/{org_id}/cloudlookup/{txn_id}",
		"PROBE_HEADERS":              sigHeader + ": " + emptySHA + ", Authorization: Bearer t0k",
		"PROBE_INSECURE_SKIP_VERIFY": "true",
	})
	ctx := context.Background()
	nam := config.Region{Name: "NAM", Cloud: "127.0.0.1:1"}

	// The active region through the tunnel: NAM's own cloud is never dialed.
	if res := New(cfg).Probe(ctx, nam); !res.Healthy {
		t.Fatalf("probe through the tunnel: %+v", res)
	}
	if got := <-tunnelPaths; got != "/v2/org-1/cloudlookup/txn-1" {
		t.Errorf("tunnel asked for %s", got)
	}
	// A candidate directly at its cloud, with the same headers.
	if res := NewPreflight(cfg).Probe(ctx, config.Region{Name: "EU", Cloud: testenv.HostOf(eu)}); !res.Healthy {
		t.Fatalf("pre-flight of EU: %+v", res)
	}
	if got := <-euPaths; got != "/v2/org-1/cloudlookup/txn-1" {
		t.Errorf("EU asked for %s", got)
	}

	t.Run("without the headers the tunnel refuses", func(t *testing.T) {
		bare := testenv.Config(t, map[string]string{
			"EXT_CLOUD_FAILOVER_LIST":    "NAM=127.0.0.1:1,EU=" + testenv.HostOf(eu),
			"CLOUDLOOKUP_URL":            "https://" + testenv.HostOf(tunnel) + "/v2/{org_id}/cloudlookup/{txn_id}",
			"PREFLIGHT_URL":              "http://{cloud}/",
			"PROBE_INSECURE_SKIP_VERIFY": "true",
		})
		res := New(bare).Probe(ctx, nam)
		<-tunnelPaths
		if res.Healthy || res.Status != http.StatusForbidden {
			t.Errorf("probe without PROBE_HEADERS = %+v, want status 403", res)
		}
	})
}

func TestPreflightVerifiesTLSOfARealCloud(t *testing.T) {
	t.Parallel()
	tunnel, _ := headerServer(t, true)
	cfg := testenv.Config(t, map[string]string{
		// A candidate cloud that is not loopback: its pre-flight must verify
		// TLS even though the local tunnel's probe skips it.
		"EXT_CLOUD_FAILOVER_LIST":    "NAM=127.0.0.1:1,EU=eu.cloud.invalid",
		"CLOUDLOOKUP_URL":            "https://" + testenv.HostOf(tunnel) + "/x",
		"PREFLIGHT_URL":              "https://{cloud}/x",
		"PROBE_INSECURE_SKIP_VERIFY": "true",
	})
	if tr := New(cfg).client.Transport.(*http.Transport); !tr.TLSClientConfig.InsecureSkipVerify {
		t.Error("the tunnel's prober verifies TLS although PROBE_INSECURE_SKIP_VERIFY is set for loopback")
	}
	if tr := NewPreflight(cfg).client.Transport.(*http.Transport); tr.TLSClientConfig.InsecureSkipVerify {
		t.Error("the pre-flight of a real cloud skips TLS verification")
	}
	loop := testenv.Config(t, map[string]string{"PROBE_INSECURE_SKIP_VERIFY": "true"})
	if tr := NewPreflight(loop).client.Transport.(*http.Transport); !tr.TLSClientConfig.InsecureSkipVerify {
		t.Error("loopback pre-flights verify TLS although PROBE_INSECURE_SKIP_VERIFY is set")
	}
}

func TestProbeHeaderValueNotInErrors(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, map[string]string{
		"EXT_CLOUD_FAILOVER_LIST": "NAM=127.0.0.1:1,EU=127.0.0.1:2",
		"PROBE_HEADERS":           "X-Key: very-secret-value",
	})
	res := New(cfg).Probe(context.Background(), config.Region{Name: "NAM", Cloud: "127.0.0.1:1"})
	if res.Healthy || res.Err == nil || strings.Contains(res.Err.Error(), "very-secret-value") {
		t.Errorf("probe of a closed port = %+v", res)
	}
	if !strings.Contains(strings.Join(cfg.Secrets(), " "), "very-secret-value") {
		t.Error("the header value is not among the secrets the log redacts")
	}
}
