// Package lambdart is a local AWS Lambda Runtime API for running a real
// function binary (bin/bootstrap, or any custom runtime) outside Lambda: the
// end-to-end tests of cmd/lambda and tools/bench both drive the function
// through it.
//
// A Server listens on 127.0.0.1 and serves one function process at a time:
// Invoke queues an event, GET /2018-06-01/runtime/invocation/next hands it
// out with the headers the Lambda service sets, and the answer posted to
// .../invocation/{id}/response or /error is returned to the caller. Reports to
// /runtime/init/error are recorded, not acted on.
//
// It does not implement the Extensions or Telemetry APIs, response streaming,
// or the service's own timeout: a function that misses its deadline is not
// stopped, Invoke only gives up waiting.
//
// The package does not import testing, so that plain programs (tools/bench)
// can use it.
package lambdart
