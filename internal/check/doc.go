// Package check owns the decisions of one invocation: it observes the
// active region (through a RegionProber) and tells our own network's failure
// from the region's (through a Guard), decides (Decide, a pure function of
// state, observation, time and policy) and carries the decision out (Run,
// Failover) through the small interfaces it declares: Store, Pusher,
// RegionProber, Guard, Metrics. internal/probe holds the real prober and
// guard; cmd/* wires them in.
//
// Guarantees: every write is a compare-and-swap on the version read, and a
// lost swap means another invocation acted, so this one pushes nothing; an
// intent is stored before it is pushed and claimed by the invocation that
// stored it until that invocation's deadline (or until hosts may still be
// running it), so overlapping invocations push a generation once; a crash at
// any point is repaired by a later invocation. The package knows no AWS,
// HTTP, file or XML-RPC details, and reads no clock but Deps.Now.
package check
