// This file holds Config, the configuration package tests build the way
// users do, and HostOf, a test server's host:port as a cloud.

package testenv

import (
	"maps"
	"net/http/httptest"
	"strings"
	"testing"

	"extcloud-failover/internal/config"
)

// Config builds a configuration from the environment, the way users do:
// three loopback regions (NAM, EU, APAC), a cloudlookup URL with every
// placeholder, the keepalive IDs org-1 and txn-1 and a PROBE_TIMEOUT of 1s,
// with env's variables set over them. A configuration error fails the test.
func Config(t testing.TB, env map[string]string) *config.Config {
	t.Helper()
	base := map[string]string{
		"EXT_CLOUD_FAILOVER_LIST":     "NAM=127.0.0.1:1,EU=127.0.0.1:2,APAC=127.0.0.1:3",
		"CLOUDLOOKUP_URL":             "http://{cloud}/cloudlookup?orgId={org_id}&txnId={txn_id}&region={region}",
		"CONNECTION_KEEPALIVE_ORG_ID": "org-1",
		"CONNECTION_KEEPALIVE_TXN_ID": "txn-1",
		"PROBE_TIMEOUT":               "1s",
	}
	maps.Copy(base, env)
	cfg, err := config.FromEnv(func(k string) (string, bool) { v, ok := base[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// HostOf is srv's host:port, the form EXT_CLOUD_FAILOVER_LIST names a cloud
// in.
func HostOf(srv *httptest.Server) string {
	return strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://")
}
