// Package soak holds the soak test of the checker (build tag soak, run by
// `make soak`): thousands of invocations of check.Run against simulated
// regions that fail and recover at random, with injected crashes and
// concurrent invocations, checking the invariants after every step. It has
// no non-test code.
package soak
