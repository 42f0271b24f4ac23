package config_test

import (
	"errors"
	"flag"
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

	var asJSON bool
	cfg, rest, err := config.Load([]string{"-r", "EU", "--failover-threshold=2m", "--json", "status"}, lookup,
		func(fs *flag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON") })
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := cfg.ValidateHost(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("primary:", cfg.Primary(), "threshold:", cfg.FailoverThreshold, "json:", asJSON, "args:", rest)
	for _, r := range cfg.FailoverOrder(cfg.Primary()) {
		fmt.Println("candidate:", r.Name, cfg.ProbeURL(r))
	}

	// A bad value is an *Error naming the variable or flag as written.
	_, _, err = config.Load([]string{"--region=EUR"}, lookup, nil)
	var ce *config.Error
	if errors.As(err, &ce) {
		fmt.Println(ce.Field, "|", err)
	}
	// Output:
	// primary: EU threshold: 2m0s json: true args: [status]
	// candidate: NAM https://nam.example.com/cloudlookup?orgId=org-1&txnId=txn-1
	// candidate: APAC https://apac.example.com/cloudlookup?orgId=org-1&txnId=txn-1
	// --region | --region: unknown region "EUR" (want NAM, EU or APAC)
}
