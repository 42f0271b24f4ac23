// Package ssmpush points a fleet at a region with AWS SSM Run Command
// (AWS-RunShellScript). The script it sends (push.sh, embedded) takes the
// env file base64-encoded, refuses a stale generation, replaces the file
// atomically and restarts the supervisord programs; a re-push of the same
// generation restarts nothing. It is a package of its own so that the host
// binary does not link the AWS SDK.
package ssmpush
