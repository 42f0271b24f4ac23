// Package dynamo keeps the checker's state.State in one DynamoDB item, with
// the same compare-and-swap contract as state.FileStore: reads are strongly
// consistent, every write is conditional on the version read, and a lost
// condition is state.ErrConflict. It is a package of its own so that the
// host binary does not link the AWS SDK.
package dynamo
