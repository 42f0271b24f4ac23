// Package doctor checks the whole failover path without changing anything:
// every region's probe, the local-network guard, the env file's folder, the
// state, every supervisord and its programs on a host, and on Lambda the
// state item and the SSM targets. It reports one Result per check, as a
// checklist with the fix for each failure.
//
// It reaches the world only through the functions and small interfaces in
// Host and Lambda, which cmd/* fills in with the real prober, guard,
// supervisord client, store and SSM client. It writes no file and restarts
// nothing; it opens no file for writing (write access is asked of the
// kernel with access(2)).
package doctor
