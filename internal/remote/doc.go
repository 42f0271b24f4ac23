// Package remote points application hosts at a region: it renders, parses and
// atomically writes ext_cloud.env, and restarts the application through
// supervisord XML-RPC (host path) or AWS SSM Run Command (fleet path).
//
// A push is idempotent per generation: pushing the same Target twice leaves
// the same file and, where it can tell, does not restart a program that
// already runs with it. The package knows nothing of state or decisions.
package remote
