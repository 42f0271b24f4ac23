package telemetry_test

import (
	"log/slog"
	"os"
	"time"

	"extcloud-failover/internal/telemetry"
)

func ExampleNewHandler() {
	now := func() time.Time { return time.Date(2026, 11, 24, 5, 0, 0, 123e6, time.UTC) }
	log := slog.New(telemetry.NewHandler(os.Stdout, telemetry.HandlerOptions{
		Service: "extcloud-failover",
		Secrets: []string{"s3cr3t"},
		Now:     now,
	}))
	log.Warn("restart failed", "region", "EU", "url", "http://admin:s3cr3t@10.0.0.7:9001/RPC2")
	// Output:
	// {"timestamp":"2026-11-24T05:00:00.123Z","level":"warn","message":"restart failed","service":"extcloud-failover","region":"EU","url":"http://admin:[REDACTED]@10.0.0.7:9001/RPC2"}
}

func ExampleRedact() {
	os.Stdout.WriteString(telemetry.Redact("dial https://bob:pw@host/x with key k123", []string{"k123"}) + "\n")
	// Output:
	// dial https://bob:[REDACTED]@host/x with key [REDACTED]
}
