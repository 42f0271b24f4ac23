// Command extcloud-failover is the host checker: a one-shot to run every 10
// seconds from a systemd timer or crontab, or `watch`, which runs one check
// every PROBE_INTERVAL itself (a container whose PID 1 is supervisord). Each
// check makes ext_cloud.env say what the state says, probes the active
// region, keeps the outage clock in a local state file and, once an outage
// has lasted FAILOVER_THRESHOLD, rewrites ext_cloud.env and restarts the
// application through supervisord.
//
// Exit codes: 0 done, 1 runtime error, 2 bad configuration or usage.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runEnv(ctx, os.Args[1:], os.LookupEnv, os.Environ, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
