// Package supervisord starts a private supervisord for tests, the bench and
// the demo: it writes a supervisord.conf (unix socket or 127.0.0.1 HTTP
// server, the XML-RPC interface, a [supervisorctl] section, programs) into a
// fresh folder with a short path, runs supervisord in the foreground in its
// own process group, waits until XML-RPC says RUNNING, and stops it with
// SIGTERM, then SIGKILL to its process group after 10 s.
//
// It does not import testing; internal/testenv wraps it for tests. An
// Instance's Call, State and RunningPID are safe for concurrent use; Stop,
// Restart and Close are meant for one goroutine.
package supervisord
