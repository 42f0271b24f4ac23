// Package check owns the decisions of one invocation: it observes every
// region at once (through a RegionProber) and tells our own network's
// failure from the region's (through a Guard), decides (Decide, a pure
// function of state, observation, time and policy) and carries the decision
// out (Run, Failover) through the small interfaces it declares: Pusher
// (and Poller), RegionProber, Guard, Metrics, and state.Store.
// internal/probe holds the real prober and guard; cmd/* wires them in.
// Simulate runs the same Decide over a timeline in virtual time. The
// operator's controls live here too: Pause and Resume (compare-and-swap
// writes of the state's pause, with an audit event), Status (the report of
// status), and safe forced failovers (FailoverRequest: refused past a failed
// pre-flight unless forced).
//
// Guarantees: every write is a compare-and-swap on the version read, and a
// lost swap means another invocation acted, so this one pushes nothing and
// logs no switch; an intent is stored before it is pushed and claimed by
// the invocation that stored it until that invocation's deadline (or until
// hosts may still be running it), so overlapping invocations push a
// generation once, and exactly one logs and counts it; a push that outlives
// its invocation on the hosts (a Pusher that is a Poller: SSM) is polled by
// later invocations, with no new push while it runs, and sent again only to
// the hosts it did not converge; a crash at any point is repaired by a
// later invocation. No stored time can hold a switch back
// for longer than the rule that wrote it intended (see Policy.MaxSkew and
// Claim). While a pause is in force no automatic switch happens, and a
// forced one still does. A dry run (DRY_RUN) never touches Deps.Store or
// Pusher and only compares the env file (Env.Compare): it runs on
// Deps.DryRunStore and reports would_<action>.
// The package knows no AWS, HTTP, file or XML-RPC details, and
// reads no clock but Deps.Now.
package check
