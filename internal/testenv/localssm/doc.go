// Package localssm is a local endpoint for the part of the AWS SSM API that
// Run Command uses (SendCommand, ListCommands, ListCommandInvocations,
// GetCommandInvocation) and doctor uses (DescribeInstanceInformation),
// speaking the AWS JSON 1.1 protocol on 127.0.0.1.
// SSM has no local emulator; this one really runs the pushed
// AWS-RunShellScript script with /bin/sh in each instance's sandbox folder,
// in the background, and reports Pending and InProgress meanwhile, as SSM
// does, so that a caller must poll for the outcome.
//
// It models what the pusher relies on: batching limits (50 instance IDs,
// 5 targets), tag targets, MaxConcurrency, the delivery timeout
// (TimeoutSeconds) and the executionTimeout parameter, pagination, the
// InvocationDoesNotExist of a just-finished command, throttling, access
// denied and a hanging endpoint. It does not check signatures, IAM or
// MaxErrors.
//
// The package does not import testing, so that plain programs (make bench,
// make invoke) can use it; testenv.StartSSM wraps it for tests.
package localssm
