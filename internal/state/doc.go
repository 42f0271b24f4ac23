// Package state keeps the checker's memory between invocations: the active
// region, the outage clock, the failover generation and any pending push.
//
// Two stores implement the same compare-and-swap contract: FileStore (a JSON
// file guarded by flock and replaced by atomic rename) and DynamoStore (one
// DynamoDB item written with conditional expressions). Every write names the
// version it read; a lost race is ErrConflict, never a silent overwrite.
// The package knows nothing of probes, hosts or pushes.
package state
