// Package telemetry turns the checker's events into JSON log lines, Datadog
// log events and DogStatsD metrics.
//
// NewHandler writes one JSON object a line with the keys timestamp (RFC 3339,
// UTC, milliseconds), level (debug, info, warn, error), message and service,
// then the record's attributes (groups nest as JSON objects). Every string
// value, error and message is scrubbed of the configured secrets and of
// passwords in URL userinfo before it is written; see Redact.
//
// Intake sends a copy of the log records to the Datadog logs intake in one
// batch per Flush. Statsd sends metrics to a DogStatsD agent. Both drop what
// they cannot send: telemetry never blocks or fails a failover. Flush is
// bounded by its context and IntakeOptions.Timeout; Statsd never waits on the
// network except to resolve the agent's name in NewStatsd (at most a second)
// and in Close, which is bounded by the client's write timeout.
package telemetry
