// Command bootstrap is the checker as an AWS Lambda function (provided.al2023,
// built with -tags lambda.norpc). Each invocation probes the active region
// once, keeps the outage clock in a DynamoDB item and, once an outage has
// lasted FAILOVER_THRESHOLD, points the fleet at the next healthy region with
// SSM Run Command. template.yaml runs it every 10 seconds.
//
// Configuration and AWS clients are built once, at start, and reused by warm
// invocations. An invalid configuration is logged once as one line and the
// process stays up: every invocation then fails fast with a ConfigError
// naming the field, rather than the runtime restarting a crashing process.
//
// Datadog metrics are sent through datadog-lambda-go when an API key is
// configured (DD_API_KEY or DD_KMS_API_KEY, or the Datadog extension is
// present); otherwise the handler is not wrapped at all and nothing is sent.
// Datadog never fails an invocation.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	ddlambda "github.com/DataDog/datadog-lambda-go"
	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"extcloud-failover/internal/check"
	"extcloud-failover/internal/config"
	"extcloud-failover/internal/probe"
	"extcloud-failover/internal/remote"
	"extcloud-failover/internal/remote/ssmpush"
	"extcloud-failover/internal/state/dynamo"
	"extcloud-failover/internal/telemetry"
)

const (
	// ddHTTPTimeout bounds the one metrics request after each check.
	ddHTTPTimeout = time.Second
	// responseMargin is kept back from the deadline to post the response.
	responseMargin = 300 * time.Millisecond
	// ddExtensionPath is where the Datadog Lambda extension lives when its
	// layer is attached; datadog-lambda-go then sends through it.
	ddExtensionPath = "/opt/extensions/datadog-agent"
	defaultService  = "extcloud-failover"
	// DryRunKeySuffix is added to STATE_KEY for the dry run's own item.
	DryRunKeySuffix = "#dry-run"
)

func main() {
	a := newApp(context.Background(), os.LookupEnv, os.Stdout)
	routeStdLog(a.log)
	lambda.Start(a.handler())
}

// handler is what lambda.Start runs: Handle, wrapped by datadog-lambda-go
// when metrics are sent.
func (a *app) handler() lambda.Handler {
	if a.dd == nil {
		return rawHandler{a}
	}
	return ddlambda.WrapLambdaHandlerInterface(rawHandler{a}, a.dd)
}

// rawHandler is Handle as aws-lambda-go calls it, with the payload as
// bytes: a payload that is not JSON at all then reaches decodeEvent and
// becomes an EventError, not aws-lambda-go's own untyped "errorString".
type rawHandler struct{ a *app }

// Invoke runs one invocation and encodes the decision record.
func (h rawHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	res, err := h.a.Handle(ctx, payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}

// newApp reads the configuration and builds the AWS clients, once. It never
// fails: a bad configuration becomes the ConfigError every invocation returns.
func newApp(ctx context.Context, lookupEnv func(string) (string, bool), stdout io.Writer) *app {
	a := &app{run: check.Run, force: check.Failover, margin: responseMargin}
	cfg, err := config.FromEnv(lookupEnv)
	if err == nil {
		err = cfg.ValidateLambda()
	}
	service, secrets := defaultService, []string(nil)
	if cfg != nil {
		if cfg.DDService != "" {
			service = cfg.DDService
		}
		secrets = cfg.Secrets()
	}
	a.log = slog.New(telemetry.NewHandler(stdout, telemetry.HandlerOptions{Service: service, Secrets: secrets}))
	if err != nil {
		return a.fail(err)
	}
	a.cfg = cfg

	// The SDK's own logger prints plain text to stderr.
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithLogger(sdkLog{a.log}))
	if err != nil {
		return a.fail(fmt.Errorf("aws sdk: %w", err))
	}
	ssmClient := ssm.NewFromConfig(awsCfg)
	ddb := dynamodb.NewFromConfig(awsCfg)
	a.deps = check.Deps{
		Store:       markedStore{dynamo.NewStore(ddb, cfg.StateTable, cfg.StateKey)},
		DryRunStore: markedStore{dynamo.NewStore(ddb, cfg.StateTable, cfg.StateKey+DryRunKeySuffix)},
		Pusher:      ssmpush.New(ssmClient, ssmConfig(cfg)),
		Prober:      probe.New(cfg),
		Preflight:   probe.NewPreflight(cfg),
		Guard:       probe.GuardFor(cfg),
		// No state item yet: record the primary and push generation 0 once.
		SeedFleet: true,
	}
	a.doctor = doctorFor(cfg, ssmClient)

	// template.yaml sets DD_KMS_API_KEY to "" when there is no key.
	kms, _ := lookupEnv(ddlambda.DatadogKMSAPIKeyEnvVar)
	if _, statErr := os.Stat(ddExtensionPath); cfg.DDAPIKey != "" || kms != "" || statErr == nil {
		a.dd = &ddlambda.Config{
			APIKey: cfg.DDAPIKey,
			Site:   cfg.DDSite, // a host name, or a base URL datadog-lambda-go posts to
			// Tracing needs a Lambda context and a tracer setup we do not
			// want; metrics are the point.
			DDTraceEnabled:    false,
			HTTPClientTimeout: ddHTTPTimeout,
		}
		a.deps.Metrics = ddMetrics{send: ddlambda.Metric, tags: ddTags(cfg), log: a.log}
		a.margin += ddHTTPTimeout
	}
	a.log.Info("ready", "regions", len(cfg.Regions), "primary", cfg.Primary(), "state_table", cfg.StateTable,
		"state_key", cfg.StateKey, "ssm_targets", len(cfg.SSMTargets), "datadog", a.dd != nil)
	return a
}

// fail records a configuration error: logged once here, returned by every
// invocation.
func (a *app) fail(err error) *app {
	a.initErr = &ConfigError{Err: err}
	a.log.Error("invalid configuration: "+err.Error(), "error_type", "ConfigError")
	return a
}

func ssmConfig(cfg *config.Config) ssmpush.Config {
	return ssmpush.Config{
		Targets:        cfg.SSMTargets,
		EnvFile:        cfg.EnvFile,
		Format:         remote.EnvFormat(cfg.EnvFileFormat),
		Programs:       cfg.SupervisorPrograms,
		MaxConcurrency: cfg.SSMMaxConcurrency,
		MaxErrors:      cfg.SSMMaxErrors,
		CommandTimeout: cfg.SSMCommandTimeout,
	}
}

// ddTags are added to every metric: the service and DD_TAGS.
func ddTags(cfg *config.Config) []string {
	tags := []string{"service:" + cfg.DDService}
	for _, t := range strings.Split(cfg.DDTags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

// ddMetrics sends the checker's figures as Datadog distribution metrics
// through the datadog-lambda-go wrapper of the current invocation. It never
// fails the invocation: a panic in the sender is logged and dropped.
type ddMetrics struct {
	send func(name string, value float64, tags ...string)
	tags []string
	log  *slog.Logger
}

func (m ddMetrics) Gauge(name string, value float64, tags ...string) { m.emit(name, value, tags) }
func (m ddMetrics) Count(name string, value int64, tags ...string) {
	m.emit(name, float64(value), tags)
}

func (m ddMetrics) emit(name string, value float64, tags []string) {
	defer func() {
		if r := recover(); r != nil {
			m.log.Warn("datadog metric dropped", "metric", name, "error", fmt.Sprint(r))
		}
	}()
	m.send(name, value, append(slices.Clip(tags), m.tags...)...)
}
