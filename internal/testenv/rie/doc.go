// Package rie runs a function binary (bin/bootstrap) under the real AWS
// Lambda Runtime Interface Emulator, aws-lambda-rie, as `sam local invoke`
// does inside its container, but without Docker: the end-to-end tests of
// cmd/lambda, `make invoke` and `make bench` all drive the function through
// it.
//
// An Emulator is one aws-lambda-rie process on two free ports of 127.0.0.1
// (its invocation endpoint and the Runtime API it gives the function). It
// starts the function at the first invocation, as Lambda does, and serves one
// invocation at a time; for concurrent invocations start several emulators.
// The function's timeout is AWS_LAMBDA_FUNCTION_TIMEOUT, whole seconds: the
// emulator stops waiting at the deadline and answers "Task timed out".
//
// The emulator writes the function's stdout and stderr, between its own
// START, END and REPORT lines, to its stdout, and its own diagnostics to
// stderr. Invoke returns the lines the function wrote during the invocation,
// without the emulator's.
//
// `make tools` builds aws-lambda-rie into tools/rie/bin (see the Makefile
// for the pinned version); Find locates it. The package does not import
// testing, so that plain programs can use it.
package rie
