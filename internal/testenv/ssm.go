// ssm.go: the local SSM endpoint (package localssm) for tests, stopped by
// t.Cleanup.
package testenv

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"extcloud-failover/internal/testenv/localssm"
)

// The local SSM endpoint's types, under the names tests use.
type (
	// SSMInstance is one managed instance of the endpoint.
	SSMInstance = localssm.Instance
	// SSMOptions configures StartSSM.
	SSMOptions = localssm.Options
	// SSMServer is the endpoint.
	SSMServer = localssm.Server
	// SSMCommand is a command the endpoint accepted.
	SSMCommand = localssm.Command
	// SSMInvocation is one command on one instance.
	SSMInvocation = localssm.Invocation
	// SSMTargetSpec is one entry of SendCommand's Targets or of
	// DescribeInstanceInformation's Filters.
	SSMTargetSpec = localssm.TargetSpec
)

// StartSSM starts a local SSM endpoint on 127.0.0.1 and stops it in
// t.Cleanup, killing scripts still running.
func StartSSM(t testing.TB, opts SSMOptions) *SSMServer {
	t.Helper()
	s, err := localssm.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// SSMClient returns an SSM client for the endpoint at url (see
// localssm.Client).
func SSMClient(t testing.TB, url string) *ssm.Client {
	t.Helper()
	return localssm.Client(url)
}
