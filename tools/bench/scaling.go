// This file holds the scaling table: how the work grows with the number of
// hosts.

package main

import (
	"fmt"
	"math"
	"strings"

	"extcloud-failover/internal/check"
	"extcloud-failover/internal/remote/ssmpush"
)

// scaling writes the "Scaling" section: how the design holds at 10,000
// hosts, from this run's figures.
func (b *bench) scaling() {
	f := b.figs
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }
	kb := func(n int) string { return fmt.Sprintf("%.0f KB", float64(n)/1000) }

	p("How the design holds at 10,000 hosts, from the figures above. Host counts beyond the ones measured are arithmetic on them, and say so.")
	p("")
	p("**The steady state does not grow with the fleet.** A healthy check is one probe and one strongly consistent GetItem of one item per fleet (measured: 1 read, 0 writes per invocation), whatever the number of hosts: 6 checks a minute is 8,640 reads a day, a tenth of a read per second. DynamoDB on demand bills per request and a single item's partition serves thousands of reads per second, so the state table is nowhere near a limit. Writes happen only when something changes (an outage starts, recovers, fails over), and the compare-and-swap on one version keeps overlapping Step Functions executions (at most 6) to one writer each time.")
	p("")
	p("**SSM by tag sends one command for any fleet size** (measured: %.0f SendCommand for a tag matching 1,000 instances and %.0f for 10,000). Reading the results does grow: ListCommandInvocations returns 50 invocations a page, so one poll round over 10,000 hosts is %.0f calls (measured, in %.1f s against a local endpoint that answers at once). The pusher polls once a second until its deadline, so a 9-second invocation can make well over a thousand of these calls; SSM's API rate limits will throttle them first (the SDK retries with back-off, which only stretches the rounds).",
		f["ssm.tag1k.sends"], f["ssm.tag10k.sends"], f["ssm.tag10k.lists"], f["ssm.tag10k.seconds"])
	p("")
	waves := math.Ceil(10000 / 50.0)
	p("**MaxConcurrency waves against the Lambda timeout is what breaks first.** With SSM_MAX_CONCURRENCY at its default of 50, SSM runs the script on 10,000 hosts in %.0f waves. One host's work (write ext_cloud.env, `supervisorctl restart`) took %.0f ms here for the shell equivalent and %.0f ms for the host one-shot at the failover, before SSM's own delivery latency; even at one second a wave the rollout takes over %.0f minutes, while the function's timeout is 9 s. The invocation therefore stops polling before its deadline with most hosts not yet answered and records them as pending (by instance ID while at most %d are left, check.MaxPendingHosts, else as every target) together with the command IDs; the next checks poll those commands and send nothing while they run, and once they have ended only the hosts that failed, timed out or never received the command are sent it again (measured above: 1,000 hosts with 5 %% restarting in 60 s converged %.0f s after the failover with %.0f SendCommand, where the behaviour before spent %.0f without converging). A re-send goes with a tag target as one SendCommand; with instance-ID targets 50 IDs to a SendCommand, so at 10,000 hosts 200 sequential calls (%.0f for 1,000 IDs took %.2f s against the local endpoint; at tens of milliseconds a call in a real region the sends alone approach the 9-second budget). The push script is idempotent per generation, so hosts that already switched only exit early.",
		waves, f["failover.shell"]*1000, f["failover.ours"]*1000, math.Ceil(waves/60), check.MaxPendingHosts, f["slow.converged"], f["slow.sends"], f["slow.before.sends"], f["ssm.ids1k.sends"], f["ssm.ids1k.seconds"])
	p("")
	p("The same arithmetic applies well below 10,000: with the default of 50, any fleet that needs more waves than fit in 9 s (a few hundred hosts at a second or two a wave) already rolls out across several invocations. What to change, in order:")
	p("1. Set SSM_MAX_CONCURRENCY to a percentage (`10%%` is 10 waves at any fleet size) and SSM_MAX_ERRORS to match your tolerance.")
	p("2. Send the ID batches concurrently, bounded, like the supervisord fan-out, rather than one after another.")
	p("3. Raise SSM_COMMAND_TIMEOUT (default %.0f s) above your slowest restart: a host killed at its execution timeout fails and is sent the command again.", ssmpush.DefaultCommandTimeout.Seconds())
	p("")
	perID := float64(b.scalingItemBytes-b.scalingIdleBytes) / 10000
	limitIDs := int(math.Round((400*1024-float64(b.scalingIdleBytes))/perID/1000)) * 1000
	p("**The state item stays small.** The idle item is %d bytes. Pending hosts are kept by ID only up to %d (%.0f bytes an ID, so at most about %s); beyond that the pending push is recorded as every target, so the item never approaches DynamoDB's 400 KB limit and a strongly consistent read of it stays at 1 read unit. (Kept by ID, 10,000 pending instances would make a %s item costing %.0f read units a read, and about %s would pass the limit.)",
		b.scalingIdleBytes, check.MaxPendingHosts, perID, kb(b.scalingIdleBytes+int(perID*float64(check.MaxPendingHosts))),
		kb(b.scalingItemBytes), math.Ceil(float64(b.scalingItemBytes)/4096), thousands(limitIDs))
	p("")
	p("**The host path scales by running where the hosts are.** Each host runs its own one-shot against its own supervisord, so its cost stays that of the healthy check above. One checker driving many supervisords (SUPERVISOR_URL with a list) is bounded by PUSH_CONCURRENCY: %d supervisords at 50 ms a call took %.1f s at the default concurrency, %.1f s at 64 and %.1f s at 256 (see the ratios to the ideal above). At 10,000 supervisords that is about %.0f s at the default, past the default CHECK_TIMEOUT of 30 s, and about %.0f s at 256 (arithmetic, ×%.0f): raise PUSH_CONCURRENCY (file descriptors: one connection per supervisord in flight) or push from the Lambda with SSM instead.",
		b.o.hosts, f["fanout.default"], f["fanout.64"], f["fanout.256"], f["fanout.default"]*10000/float64(b.o.hosts), f["fanout.256"]*10000/float64(b.o.hosts), 10000/float64(b.o.hosts))
	b.report.touch("Scaling")
	b.report.texts["Scaling"] = w.String()
}

// thousands formats n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
