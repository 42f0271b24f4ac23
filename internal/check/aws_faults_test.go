package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"extcloud-failover/internal/ident"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/remote/ssmpush"
	"extcloud-failover/internal/state"
	"extcloud-failover/internal/state/dynamo"
	"extcloud-failover/internal/testenv"
)

// The AWS part of the catalogue of faults, in process: check.Run with the
// Lambda's parts, dynamo.Store on dynalite (behind a front that injects
// DynamoDB faults) and ssmpush.Pusher on the local SSM endpoint (with its
// fault options). Each case fails over from NAM (down, past the threshold)
// and asserts the outcome, the state, the restarts, and that Run returns
// within its deadline.

const awsInstance = "i-0123456789abcdef0"

// stubCtl is a supervisorctl stand-in for push.sh: it reports every program
// RUNNING and counts starts in a file.
func stubCtl(t *testing.T, dir string) (path string, starts func() int) {
	t.Helper()
	path = filepath.Join(dir, "supervisorctl")
	log := filepath.Join(dir, "ctl.log")
	script := fmt.Sprintf("#!/bin/sh\necho \"$1\" >> %s\nif [ \"$1\" = status ]; then echo 'app RUNNING pid 1, uptime 0:00:01'; fi\n", log)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, func() int {
		data, _ := os.ReadFile(log)
		return strings.Count(string(data), "start\n")
	}
}

// dynamoFront sits between the store and dynalite and injects faults.
type dynamoFront struct {
	url           string
	throttleFirst int64 // answer the first N requests with throttling
	throttleAll   bool
	denied        bool
	hang          bool
	n             atomic.Int64
}

func newDynamoFront(t *testing.T, dynalite string, f *dynamoFront) *dynamoFront {
	t.Helper()
	target, err := url.Parse(dynalite)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.n.Add(1)
		fault := func(code, msg string) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"%s","message":"%s"}`, code, msg)
		}
		switch {
		case f.hang:
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		case f.denied:
			fault("com.amazon.coral.service#AccessDeniedException", "not authorized to perform: dynamodb:GetItem")
		case f.throttleAll || n <= f.throttleFirst:
			fault("com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", "Rate exceeded")
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// fastDynamo is a DynamoDB client with short back-offs.
func fastDynamo(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:     retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 20 * time.Millisecond }),
	})
}

// competingStore lets another invocation write first, once: the Swap then
// meets a real conditional-check failure in dynalite.
type competingStore struct {
	*dynamo.Store
	other *dynamo.Store
	done  atomic.Bool
}

func (s *competingStore) Swap(ctx context.Context, old, next state.State) (state.State, error) {
	if s.done.CompareAndSwap(false, true) {
		rival := old
		rival.LastProbeAt = old.LastProbeAt.Add(time.Second)
		if _, err := s.other.Swap(ctx, old, rival); err != nil {
			return state.State{}, fmt.Errorf("rival write: %w", err)
		}
	}
	return s.Store.Swap(ctx, old, next)
}

func TestAWSFaults(t *testing.T) {
	t.Parallel()
	dynalite := testenv.Dynalite(t)
	{
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dynamo.CreateTable(ctx, testenv.DynamoClient(t, dynalite), crashTable); err != nil {
			t.Fatal(err)
		}
	}
	type outcome struct {
		errIs    error  // nil: Run returns no error
		errHas   string // the error contains this
		action   Action
		pending  bool // a push is pending afterwards
		written  bool // the state's version moved
		restarts int
		commands int // commands of a round still running, to poll
	}
	tests := []struct {
		name  string
		ssm   testenv.SSMOptions
		front *dynamoFront // nil: dynalite directly
		rival bool         // another invocation writes between Load and Swap
		want  outcome
	}{
		{name: "ssm throttling is retried", ssm: testenv.SSMOptions{ThrottleFirst: 2},
			want: outcome{action: ActionFailover, written: true, restarts: 1}},
		{name: "ssm InvocationDoesNotExist right after SendCommand", ssm: testenv.SSMOptions{NotYetPolls: 2},
			want: outcome{action: ActionFailover, written: true, restarts: 1}},
		// Still within SSM's delivery timeout: in progress, polled by later
		// checks, not a failure yet (TestRunPollsAPushInFlight follows it).
		{name: "ssm instance never answers", ssm: testenv.SSMOptions{},
			want: outcome{action: ActionFailover, pending: true, written: true, commands: 1}},
		{name: "ssm AccessDenied", ssm: testenv.SSMOptions{AccessDenied: true},
			want: outcome{errIs: ErrPushIncomplete, errHas: "AccessDenied", action: ActionFailover, pending: true, written: true}},
		{name: "ssm endpoint hangs", ssm: testenv.SSMOptions{Hang: true},
			want: outcome{errIs: ErrPushIncomplete, action: ActionFailover, pending: true, written: true}},
		{name: "dynamodb conditional failure: another invocation acted", rival: true,
			want: outcome{action: ActionNone, written: true}},
		{name: "dynamodb throttling is retried", front: &dynamoFront{throttleFirst: 2},
			want: outcome{action: ActionFailover, written: true, restarts: 1}},
		{name: "dynamodb throttling persists", front: &dynamoFront{throttleAll: true},
			want: outcome{errHas: "ProvisionedThroughputExceeded", action: ActionNone}},
		{name: "dynamodb AccessDenied", front: &dynamoFront{denied: true},
			want: outcome{errHas: "AccessDenied", action: ActionNone}},
		{name: "dynamodb endpoint hangs", front: &dynamoFront{hang: true},
			want: outcome{errIs: context.DeadlineExceeded, action: ActionNone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ctl, starts := stubCtl(t, dir)
			inst := testenv.SSMInstance{Dir: dir, Env: []string{"SUPERVISORCTL=" + ctl}}
			inst.NeverAnswer = tt.name == "ssm instance never answers"
			tt.ssm.Instances = map[string]testenv.SSMInstance{awsInstance: inst}
			srv := testenv.StartSSM(t, tt.ssm)
			envFile := filepath.Join(dir, "ext_cloud.env")
			pusher := ssmpush.New(testenv.SSMClient(t, srv.URL), ssmpush.Config{
				Targets: []ident.SSMTarget{{InstanceID: awsInstance}}, EnvFile: envFile, Programs: []string{"app"},
				PollInterval: 20 * time.Millisecond,
			})

			key := t.Name()
			direct := dynamo.NewStore(fastDynamo(dynalite), crashTable, key)
			var store state.Store = direct
			if tt.front != nil {
				store = dynamo.NewStore(fastDynamo(newDynamoFront(t, dynalite, tt.front).url), crashTable, key)
			}
			if tt.rival {
				store = &competingStore{Store: direct, other: dynamo.NewStore(fastDynamo(dynalite), crashTable, key)}
			}

			w := newWorld(t)
			w.up["NAM"].Store(false)
			planted, err := direct.Swap(context.Background(), state.State{},
				state.State{ActiveRegion: "NAM", OutageStartedAt: w.now.Add(-5 * time.Minute), LastProbeAt: w.now.Add(-5 * time.Second)})
			if err != nil {
				t.Fatal(err)
			}
			deps := w.deps()
			deps.Store, deps.Pusher = store, pusher

			const deadline = 4 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			res, err := Run(ctx, testenv.Config(t, w.env), deps)
			if took := time.Since(start); took > deadline+time.Second {
				t.Errorf("Run took %v past its %v deadline", took, deadline)
			}
			switch {
			case tt.want.errIs == nil && tt.want.errHas == "" && err != nil:
				t.Fatalf("Run = %+v, %v; want no error", res, err)
			case tt.want.errIs != nil && !errors.Is(err, tt.want.errIs):
				t.Fatalf("Run error %v, want %v", err, tt.want.errIs)
			case tt.want.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.want.errHas)):
				t.Fatalf("Run error %v, want containing %q", err, tt.want.errHas)
			}
			if res.Action != tt.want.action {
				t.Errorf("action %q, want %q", res.Action, tt.want.action)
			}
			got, lerr := direct.Load(context.Background())
			if lerr != nil {
				t.Fatalf("state unreadable afterwards: %v", lerr)
			}
			if (got.Version != planted.Version) != tt.want.written {
				t.Errorf("state version %d -> %d, want written = %v", planted.Version, got.Version, tt.want.written)
			}
			if (got.Pending != nil) != tt.want.pending {
				t.Errorf("pending %+v, want pending = %v", got.Pending, tt.want.pending)
			}
			if got.Pending != nil && len(got.Pending.Commands) != tt.want.commands {
				t.Errorf("pending commands %+v, want %d", got.Pending.Commands, tt.want.commands)
			}
			if n := starts(); n != tt.want.restarts {
				t.Errorf("app restarted %d times, want %d", n, tt.want.restarts)
			}
			if tt.want.restarts > 0 {
				if env, err := remote.ReadEnvFile(envFile); err != nil || env.Region != "EU" {
					t.Errorf("env file %+v, %v; want EU", env, err)
				}
			}
		})
	}
}
