package config_test

import (
	"errors"
	"fmt"

	"extcloud-failover/internal/config"
)

func Example() {
	env := map[string]string{
		"EXT_CLOUD_FAILOVER_LIST":     "NAM=nam.example.com,EU=eu.example.com,APAC=apac.example.com",
		"CONNECTION_KEEPALIVE_ORG_ID": "org-1",
		"CONNECTION_KEEPALIVE_TXN_ID": "txn-1",
		"SUPERVISOR_PROGRAMS":         "app",
		"FAILOVER_THRESHOLD":          "5m",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	// The command line (cmd/cron) turns -r EU --failover-threshold=2m into
	// overrides; the flag names come from config.Variables.
	cfg, err := config.Load(lookup, []config.Override{
		{Env: "EXT_CLOUD_REGION", Field: "-r", Value: "EU"},
		{Env: "FAILOVER_THRESHOLD", Field: "--failover-threshold", Value: "2m"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := cfg.ValidateHost(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("primary:", cfg.Primary(), "threshold:", cfg.FailoverThreshold)
	for _, r := range cfg.FailoverOrder(cfg.Primary()) {
		fmt.Println("candidate:", r.Name, cfg.ProbeURL(r))
	}

	// A bad value is an *Error naming the variable or flag as written.
	_, err = config.Load(lookup, []config.Override{{Env: "EXT_CLOUD_REGION", Field: "--region", Value: "EUR"}})
	var ce *config.Error
	if errors.As(err, &ce) {
		fmt.Println(ce.Field, "|", err)
	}
	// Output:
	// primary: EU threshold: 2m0s
	// candidate: NAM https://nam.example.com/cloudlookup?orgId=org-1&txnId=txn-1
	// candidate: APAC https://apac.example.com/cloudlookup?orgId=org-1&txnId=txn-1
	// --region | --region: unknown region "EUR" (want NAM, EU or APAC)
}
