// This file holds the SSM Run Command pusher: the script each host runs,
// how a push is split into SendCommand calls, and the polling of their
// invocations, by the call that sent them and by later ones (Poll).

package ssmpush

import (
	"context"
	_ "embed" // push.sh
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"extcloud-failover/internal/ident"
	"extcloud-failover/internal/remote"
)

// pushScript is the body of the script SSM runs on each host; SSMScript
// prepends the validated values it needs.
//
//go:embed push.sh
var pushScript string

// API is the part of the SSM API the SSM pusher uses; *ssm.Client
// satisfies it.
type API interface {
	SendCommand(ctx context.Context, in *ssm.SendCommandInput, optFns ...func(*ssm.Options)) (*ssm.SendCommandOutput, error)
	ListCommands(ctx context.Context, in *ssm.ListCommandsInput, optFns ...func(*ssm.Options)) (*ssm.ListCommandsOutput, error)
	ListCommandInvocations(ctx context.Context, in *ssm.ListCommandInvocationsInput, optFns ...func(*ssm.Options)) (*ssm.ListCommandInvocationsOutput, error)
	GetCommandInvocation(ctx context.Context, in *ssm.GetCommandInvocationInput, optFns ...func(*ssm.Options)) (*ssm.GetCommandInvocationOutput, error)
}

// Config configures an SSM pusher. Zero fields take the documented
// defaults.
type Config struct {
	// Targets are the hosts a push without explicit hosts goes to.
	Targets []ident.SSMTarget
	// EnvFile is the env file's absolute path on the hosts (see
	// ident.FilePath).
	EnvFile string
	// Programs are the supervisord programs restarted after the file
	// changes (name or group:name or group:*): stopped in reverse order,
	// then started in order. Empty means all.
	Programs []string
	// Format is how the env file is written (empty means remote.EnvShell).
	Format remote.EnvFormat
	// MaxConcurrency and MaxErrors are passed to SendCommand; defaults
	// "50" and "100%" (a bad host never stops the others).
	MaxConcurrency string
	MaxErrors      string
	// CommandTimeout is the pushed command's executionTimeout: how long SSM
	// lets the script run on a host before killing it; default 300s
	// (SSM_COMMAND_TIMEOUT). It is not tied to the caller's deadline: a
	// host that restarts slowly keeps running while later invocations poll
	// the command (Poll).
	CommandTimeout time.Duration
	// PollInterval is the wait between two polls of the invocations;
	// default 1s.
	PollInterval time.Duration
	// Comment prefixes the command's comment; default "extcloud-failover".
	Comment string
	// Now is the clock for deadline arithmetic; nil means time.Now.
	Now func() time.Time
}

// Pusher pushes a target to hosts with SSM Run Command (AWS-RunShellScript):
// the script writes the env file atomically and restarts the programs
// through supervisorctl, only when the generation was not applied yet.
// Safe for concurrent use.
type Pusher struct {
	api API
	c   Config
}

// Defaults of Config, and the wait used when ctx has no deadline.
const (
	DefaultMaxConcurrency = "50"
	DefaultMaxErrors      = "100%"
	DefaultPollInterval   = time.Second
	DefaultComment        = "extcloud-failover"
	DefaultCommandTimeout = 300 * time.Second
	// DeliveryTimeout is the command's TimeoutSeconds, SSM's minimum: a host
	// that has not received the command by then never runs it, and is sent
	// it again.
	DeliveryTimeout = 30 * time.Second
	defaultSSMWait  = 2 * time.Minute
	// ssmBatch is the most instance IDs one SendCommand accepts.
	ssmBatch = 50
)

// New returns an SSM pusher that talks to api.
func New(api API, c Config) *Pusher {
	if c.MaxConcurrency == "" {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.MaxErrors == "" {
		c.MaxErrors = DefaultMaxErrors
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.Comment == "" {
		c.Comment = DefaultComment
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Pusher{api: api, c: c}
}

var (
	errNoAnswer   = errors.New("no answer from the host")
	errNoInstance = errors.New("no instance matched")
)

// ErrInvalid means an SSM push was refused before anything was sent: a
// value that would reach the hosts' shell is outside its character set.
var ErrInvalid = errors.New("remote: invalid ssm push")

// Script returns the shell script SSM runs on each host to point it at t:
// four single-quoted assignments (the base64 of remote.Render(t), envFile, the
// generation and the programs) followed by the embedded push.sh. Only values
// that passed validation reach the script text; anything else is refused
// with an error wrapping ErrInvalid or remote.ErrInvalidTarget. The env file
// is in the shell format; see ScriptAs.
func Script(t remote.Target, envFile string, programs []string) (string, error) {
	return ScriptAs(remote.EnvShell, t, envFile, programs)
}

// ScriptAs is Script with the env file rendered in format f.
func ScriptAs(f remote.EnvFormat, t remote.Target, envFile string, programs []string) (string, error) {
	if err := remote.ValidateTarget(t); err != nil {
		return "", err
	}
	if err := ident.FilePath(envFile, exampleEnvFile); err != nil {
		return "", fmt.Errorf("ENV_FILE: %w: %w", err, ErrInvalid)
	}
	for _, p := range programs {
		if err := ident.Program(p); err != nil {
			return "", fmt.Errorf("SUPERVISOR_PROGRAMS: program %w: %w", err, ErrInvalid)
		}
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&b, "ENV_B64='%s'\n", base64.StdEncoding.EncodeToString(f.Render(t)))
	fmt.Fprintf(&b, "ENV_FILE='%s'\n", envFile)
	fmt.Fprintf(&b, "GENERATION='%d'\n", t.Generation)
	fmt.Fprintf(&b, "PROGRAMS='%s'\n", strings.Join(programs, " "))
	b.WriteString(pushScript)
	return b.String(), nil
}

// exampleEnvFile is the example an ENV_FILE error shows.
const exampleEnvFile = "/opt/application/tmp/ext_cloud.env"

// plan splits the push into SendCommand calls.
func (s *Pusher) plan(hosts []string) ([]ssmSend, error) {
	var ids []string
	var sends []ssmSend
	if len(hosts) > 0 {
		for _, id := range hosts {
			if err := ident.InstanceID(id); err != nil {
				return nil, fmt.Errorf("pending host %w: %w", err, ErrInvalid)
			}
		}
		ids = hosts
	} else {
		byKey := map[string]*types.Target{}
		for i, tg := range s.c.Targets {
			if err := tg.Check(); err != nil {
				return nil, fmt.Errorf("SSM_TARGETS entry %d: %w: %w", i+1, err, ErrInvalid)
			}
			if tg.InstanceID != "" {
				ids = append(ids, tg.InstanceID)
			} else {
				// One call per key: values of one key are ORed by SSM,
				// while several keys in one call would be ANDed.
				key := "tag:" + tg.TagKey
				if byKey[key] == nil {
					byKey[key] = &types.Target{Key: aws.String(key)}
					sends = append(sends, ssmSend{tag: byKey[key]})
				}
				if !slices.Contains(byKey[key].Values, tg.TagValue) {
					byKey[key].Values = append(byKey[key].Values, tg.TagValue)
				}
			}
		}
	}
	seen := map[string]bool{}
	var uniq []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	for batch := range slices.Chunk(uniq, ssmBatch) {
		sends = append(sends, ssmSend{instances: batch})
	}
	if len(sends) == 0 {
		return nil, fmt.Errorf("SSM_TARGETS: empty (want tag:Key=Value or instance IDs, e.g. tag:Role=app): %w", ErrInvalid)
	}
	return sends, nil
}

// ssmSend is one SendCommand: either a tag or a batch of instance IDs.
type ssmSend struct {
	tag       *types.Target
	instances []string
}

func (s ssmSend) String() string {
	if s.tag != nil {
		return aws.ToString(s.tag.Key) + "=" + strings.Join(s.tag.Values, ",")
	}
	return strings.Join(s.instances, ",")
}

// ssmCommand is a sent command being followed.
type ssmCommand struct {
	id string
	// label says what it was sent to, for messages; the command ID when an
	// earlier call sent it.
	label string
	// instances are the instance IDs it was sent to; empty for a tag, or
	// for a command an earlier call sent.
	instances []string
	// until is when it has ended on every host whatever happens.
	until time.Time
	// seen holds the latest invocation of each host, by instance ID.
	seen map[string]types.CommandInvocation
	// ended is set once SSM says the command has ended, or until passed.
	ended bool
}

// window is how long one call may follow its commands: it stops polling a
// little before the caller's deadline, so that the caller can record the
// result, and reads why hosts failed in half of that margin.
type window struct {
	ctx     context.Context // polling stops when it is done
	collect time.Duration   // from the call's start, for reading failures
}

func (s *Pusher) window(ctx context.Context, now time.Time) (window, context.CancelFunc, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = now.Add(defaultSSMWait)
	}
	remaining := deadline.Sub(now)
	if remaining <= 0 {
		return window{}, func() {}, context.DeadlineExceeded
	}
	margin := min(remaining/10, 2*time.Second)
	waitCtx, cancel := context.WithTimeout(ctx, remaining-margin)
	return window{ctx: waitCtx, collect: remaining - margin/2}, cancel, nil
}

// Push points hosts at t: hosts lists instance IDs; empty means every
// configured target. It sends the script (one SendCommand per tag key,
// instance IDs 50 to a call) with executionTimeout CommandTimeout, then
// polls until every invocation ended or ctx's deadline is near. A host that
// ran the script converged; a host that refused a stale generation fails
// with an error wrapping remote.ErrStaleGeneration; a host still running
// the script is in Result.InProgress, and Result.Commands are what to poll
// (with Poll, in a later invocation) while one runs. The error is non-nil when
// nothing could be pushed, when a SendCommand failed (the hosts of the
// other calls are still reported), or when polling failed.
func (s *Pusher) Push(ctx context.Context, t remote.Target, hosts []string) (remote.Result, error) {
	script, err := ScriptAs(s.c.Format, t, s.c.EnvFile, s.c.Programs)
	if err != nil {
		return remote.Result{}, fmt.Errorf("ssm push: %w", err)
	}
	if err := ident.SSMMaxConcurrency(s.c.MaxConcurrency); err != nil {
		return remote.Result{}, fmt.Errorf("ssm push: SSM_MAX_CONCURRENCY: %w: %w", err, ErrInvalid)
	}
	if err := ident.SSMMaxErrors(s.c.MaxErrors); err != nil {
		return remote.Result{}, fmt.Errorf("ssm push: SSM_MAX_ERRORS: %w: %w", err, ErrInvalid)
	}
	if err := ident.SSMCommandTimeout(s.c.CommandTimeout); err != nil {
		return remote.Result{}, fmt.Errorf("ssm push: SSM_COMMAND_TIMEOUT: %w: %w", err, ErrInvalid)
	}
	sends, err := s.plan(hosts)
	if err != nil {
		return remote.Result{}, fmt.Errorf("ssm push: %w", err)
	}

	now := s.c.Now()
	w, cancel, err := s.window(ctx, now)
	defer cancel()
	if err != nil {
		return remote.Result{}, fmt.Errorf("ssm push: %w", err)
	}

	comment := fmt.Sprintf("%s: generation %d to %s", s.c.Comment, t.Generation, t.Region)
	if len(comment) > 100 { // the API's limit
		comment = comment[:100]
	}
	params := map[string][]string{
		"commands":         {script},
		"executionTimeout": {strconv.FormatInt(int64(s.c.CommandTimeout/time.Second), 10)},
	}
	until := now.Add(DeliveryTimeout + s.c.CommandTimeout)

	var cmds []*ssmCommand
	var sendErrs []error
	failed := map[string]error{}
	for _, sd := range sends {
		in := &ssm.SendCommandInput{
			DocumentName:   aws.String("AWS-RunShellScript"),
			Parameters:     params,
			Comment:        aws.String(comment),
			MaxConcurrency: aws.String(s.c.MaxConcurrency),
			MaxErrors:      aws.String(s.c.MaxErrors),
			TimeoutSeconds: aws.Int32(int32(DeliveryTimeout / time.Second)),
		}
		if sd.tag != nil {
			in.Targets = []types.Target{*sd.tag}
		} else {
			in.InstanceIds = sd.instances
		}
		out, err := s.api.SendCommand(w.ctx, in)
		if err == nil && (out.Command == nil || aws.ToString(out.Command.CommandId) == "") {
			err = errors.New("answer holds no command id")
		}
		if err != nil {
			err = fmt.Errorf("send command to %s: %w", sd, err)
			sendErrs = append(sendErrs, err)
			for _, id := range sd.instances {
				failed[id] = err
			}
			continue
		}
		cmds = append(cmds, &ssmCommand{id: aws.ToString(out.Command.CommandId), label: sd.String(), instances: sd.instances,
			until: until, seen: map[string]types.CommandInvocation{}})
	}

	res, err := s.follow(ctx, w, cmds, failed)
	if err := errors.Join(append(sendErrs, err)...); err != nil {
		return res, fmt.Errorf("ssm push: %w", err)
	}
	return res, nil
}

// Poll follows commands an earlier Push sent (its Result.Commands) until
// they end or ctx's deadline is near, and sends nothing. It reports their
// hosts as Push does. A command past its Until counts as ended: a host
// that has not finished it by then never will, and fails.
func (s *Pusher) Poll(ctx context.Context, running []remote.Command) (remote.Result, error) {
	w, cancel, err := s.window(ctx, s.c.Now())
	defer cancel()
	if err != nil {
		return remote.Result{}, fmt.Errorf("ssm poll: %w", err)
	}
	cmds := make([]*ssmCommand, 0, len(running))
	for _, rc := range running {
		if rc.ID == "" {
			return remote.Result{}, fmt.Errorf("ssm poll: empty command id: %w", ErrInvalid)
		}
		cmds = append(cmds, &ssmCommand{id: rc.ID, label: "command " + rc.ID, until: rc.Until, seen: map[string]types.CommandInvocation{}})
	}
	res, err := s.follow(ctx, w, cmds, map[string]error{})
	if err != nil {
		return res, fmt.Errorf("ssm poll: %w", err)
	}
	return res, nil
}

// follow polls cmds within w, then reads the outcome; failed holds hosts
// that failed before any invocation.
func (s *Pusher) follow(ctx context.Context, w window, cmds []*ssmCommand, failed map[string]error) (remote.Result, error) {
	pollErr := s.wait(w.ctx, cmds)
	collectCtx, cancel := context.WithTimeout(ctx, w.collect)
	defer cancel()
	res, emptyErr := s.collect(collectCtx, cmds, failed)
	var cancelErr error
	if errors.Is(ctx.Err(), context.Canceled) {
		cancelErr = ctx.Err()
	}
	return res, errors.Join(pollErr, emptyErr, cancelErr)
}

// wait polls the invocations of cmds until all ended or ctx is done. It
// returns an error only when the API failed (not when time ran out).
func (s *Pusher) wait(ctx context.Context, cmds []*ssmCommand) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		pending := 0
		for _, c := range cmds {
			if c.ended {
				continue
			}
			if err := s.poll(ctx, c); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("poll command %s: %w", c.id, err)
			}
			if !c.ended {
				pending++
			}
		}
		if pending == 0 {
			return nil
		}
		timer.Reset(s.c.PollInterval)
	}
}

// poll reads every invocation of c once, page by page, and decides whether
// c has ended: past its Until, or every host it lists has ended and SSM
// says the command has (only the command knows whether a tag target is
// still being resolved into more hosts).
func (s *Pusher) poll(ctx context.Context, c *ssmCommand) error {
	pages := ssm.NewListCommandInvocationsPaginator(s.api, &ssm.ListCommandInvocationsInput{CommandId: aws.String(c.id), MaxResults: aws.Int32(50)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, inv := range out.CommandInvocations {
			if id := aws.ToString(inv.InstanceId); id != "" {
				c.seen[id] = inv
			}
		}
	}
	if !s.c.Now().Before(c.until) {
		c.ended = true
		return nil
	}
	for _, inv := range c.seen {
		if !ssmTerminal(inv) {
			return nil
		}
	}
	for _, id := range c.instances {
		if _, ok := c.seen[id]; !ok {
			return nil
		}
	}
	out, err := s.api.ListCommands(ctx, &ssm.ListCommandsInput{CommandId: aws.String(c.id)})
	if err != nil {
		return err
	}
	for _, cmd := range out.Commands {
		switch cmd.Status {
		case types.CommandStatusSuccess, types.CommandStatusFailed, types.CommandStatusTimedOut, types.CommandStatusCancelled:
			c.ended = true
		}
	}
	return nil
}

// ssmTerminal reports whether an invocation has ended, one way or another.
func ssmTerminal(inv types.CommandInvocation) bool {
	switch inv.Status {
	case types.CommandInvocationStatusSuccess, types.CommandInvocationStatusFailed,
		types.CommandInvocationStatusCancelled, types.CommandInvocationStatusTimedOut:
		return true
	}
	switch aws.ToString(inv.StatusDetails) {
	case "Undeliverable", "Terminated", "DeliveryTimedOut", "ExecutionTimedOut",
		"Delivery Timed Out", "Execution Timed Out", "InvalidPlatform", "AccessDenied":
		return true
	}
	return false
}

// collect turns the invocations into a remote.Result; failed holds hosts that
// failed before any invocation. A host converged in one command is
// converged; otherwise a host still running one is in progress. The error
// names commands that ended without running anywhere (a tag that matched
// no host): the caller cannot know which hosts to retry, so it retries all.
func (s *Pusher) collect(ctx context.Context, cmds []*ssmCommand, failed map[string]error) (remote.Result, error) {
	var res remote.Result
	var errs []error
	converged, running := map[string]bool{}, map[string]bool{}
	fail := func(id string, err error) {
		if _, ok := failed[id]; !ok {
			failed[id] = err
		}
	}
	for _, c := range cmds {
		res.Commands = append(res.Commands, remote.Command{ID: c.id, Until: c.until, Ended: c.ended})
		for _, id := range c.instances {
			if _, ok := c.seen[id]; ok {
				continue
			}
			if c.ended {
				fail(id, fmt.Errorf("ssm command %s: the host never received it: %w", c.id, errNoAnswer))
			} else {
				running[id] = true
			}
		}
		if c.ended && len(c.seen) == 0 && len(c.instances) == 0 {
			errs = append(errs, fmt.Errorf("command %s to %s: %w", c.id, c.label, errNoInstance))
			continue
		}
		for id, inv := range c.seen {
			switch {
			case inv.Status == types.CommandInvocationStatusSuccess:
				converged[id] = true
			case !ssmTerminal(inv) && !c.ended:
				running[id] = true
			case !ssmTerminal(inv):
				fail(id, fmt.Errorf("ssm command %s: still %s past its execution timeout: %w", c.id, inv.Status, errNoAnswer))
			default:
				fail(id, s.invocationError(ctx, c.id, id, inv))
			}
		}
	}
	for id := range converged {
		res.Converged = append(res.Converged, id)
		delete(failed, id)
		delete(running, id)
	}
	for id := range running {
		res.InProgress = append(res.InProgress, id)
		delete(failed, id)
	}
	slices.Sort(res.Converged)
	slices.Sort(res.InProgress)
	if len(failed) > 0 {
		res.Failed = failed
	}
	return res, errors.Join(errs...)
}

// invocationError explains why the invocation on one host failed, from its
// exit code and output.
func (s *Pusher) invocationError(ctx context.Context, cmdID, instanceID string, inv types.CommandInvocation) error {
	status := string(inv.Status)
	if d := aws.ToString(inv.StatusDetails); d != "" && d != status {
		status += " (" + d + ")"
	}
	out, err := s.invocation(ctx, cmdID, instanceID)
	if err != nil {
		return fmt.Errorf("ssm command %s: %s; output unavailable: %w", cmdID, status, err)
	}
	stdout := aws.ToString(out.StandardOutputContent)
	stderr := aws.ToString(out.StandardErrorContent)
	if out.ResponseCode == 3 {
		for line := range strings.Lines(stdout) {
			if strings.HasPrefix(line, "stale:") {
				return fmt.Errorf("%w: %s", remote.ErrStaleGeneration, strings.TrimSpace(line))
			}
		}
	}
	snippet := ssmSnip(stderr)
	if snippet == "" {
		snippet = ssmSnip(stdout)
	}
	return fmt.Errorf("ssm command %s: %s, exit code %d: %s", cmdID, status, out.ResponseCode, snippet)
}

// invocation reads one invocation's output. Right after a command ends the
// API may not know the invocation yet (InvocationDoesNotExist): it asks
// again after the poll interval, until ctx is done.
func (s *Pusher) invocation(ctx context.Context, cmdID, instanceID string) (*ssm.GetCommandInvocationOutput, error) {
	in := &ssm.GetCommandInvocationInput{CommandId: aws.String(cmdID), InstanceId: aws.String(instanceID)}
	for {
		out, err := s.api.GetCommandInvocation(ctx, in)
		var notYet *types.InvocationDoesNotExist
		if err == nil || !errors.As(err, &notYet) {
			return out, err
		}
		t := time.NewTimer(s.c.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// ssmSnip returns the last few hundred bytes of s, on one line.
func ssmSnip(s string) string {
	s = strings.TrimSpace(s)
	const n = 300
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return strings.Join(strings.Fields(s), " ")
}
