package ident_test

import (
	"fmt"

	"extcloud-failover/internal/ident"
)

// Each rule returns a message that starts with the value; the caller adds
// only the name of its setting.
func Example() {
	for _, cloud := range []string{"nam.example.com:8443", "[::1]:8443", "nam example.com"} {
		if err := ident.Cloud(cloud); err != nil {
			fmt.Println("EXT_CLOUD_FAILOVER_LIST: entry 1 (NAM): cloud", err)
			continue
		}
		fmt.Println("ok", cloud)
	}
	t, _ := ident.ParseSSMTarget("mi-0123456789abcdef0")
	fmt.Println(t.InstanceID, "managed:", ident.IsManagedInstance(t.InstanceID))
	if _, _, err := ident.Header("X-SIG-Sha256: secret,value"); err != nil {
		fmt.Println("PROBE_HEADERS: entry 1:", err)
	}
	// Output:
	// ok nam.example.com:8443
	// ok [::1]:8443
	// EXT_CLOUD_FAILOVER_LIST: entry 1 (NAM): cloud "nam example.com": character ' ' not allowed (want A-Z a-z 0-9 _ . : / -)
	// mi-0123456789abcdef0 managed: true
	// PROBE_HEADERS: entry 1: header X-SIG-Sha256: a comma at byte 7 not allowed (want visible ASCII without commas; value not shown)
}
