// stdlog.go: the libraries' own loggers routed through the function's JSON
// handler, so that every line is one JSON object: the standard library
// logger, which aws-lambda-go (each error a handler returns) and
// datadog-lambda-go (its warnings) print to; dd-trace-go's logger, which
// datadog-lambda-go brings (stderr, "Datadog Tracer v1 WARN: ..."); and the
// AWS SDK's (stderr, "SDK <date> WARN ...", set per client config).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"strings"

	"github.com/aws/smithy-go/logging"
	"gopkg.in/DataDog/dd-trace-go.v1/ddtrace"
)

// routeStdLog sends every message of the standard logger and of
// dd-trace-go's logger to l, without the loggers' own date prefix.
func routeStdLog(l *slog.Logger) {
	log.SetFlags(0)
	log.SetPrefix("")
	log.SetOutput(stdLog{l})
	ddtrace.UseLogger(traceLog{l})
}

// sdkLog is the AWS SDK's logger (aws.Config.Logger): one record a message.
type sdkLog struct{ log *slog.Logger }

// Logf logs one message of the SDK at its classification's level.
func (s sdkLog) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelInfo
	switch c {
	case logging.Warn:
		level = slog.LevelWarn
	case logging.Debug:
		level = slog.LevelDebug
	}
	s.log.Log(context.Background(), level, fmt.Sprintf(format, v...), "source", "aws-sdk-go-v2")
}

// traceLog is dd-trace-go's logger. Its messages read "Datadog Tracer
// vX LEVEL: text"; the level is taken from them.
type traceLog struct{ log *slog.Logger }

// Log logs one message of dd-trace-go.
func (t traceLog) Log(msg string) {
	level := slog.LevelInfo
	for word, l := range map[string]slog.Level{" ERROR: ": slog.LevelError, " WARN: ": slog.LevelWarn, " DEBUG: ": slog.LevelDebug} {
		if strings.Contains(msg, word) {
			level = l
			break
		}
	}
	t.log.Log(context.Background(), level, strings.TrimSpace(msg), "source", "dd-trace-go")
}

// stdLog turns one message of the standard logger (one Write) into one log
// record. It knows the two JSON shapes the libraries print: aws-lambda-go's
// error document and datadog-lambda-go's {"status","message"}; anything else
// is a warning with the text as its message.
type stdLog struct{ log *slog.Logger }

func (w stdLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if msg == "" {
		return len(p), nil
	}
	if bytes.HasPrefix(bytes.TrimSpace(p), []byte("{")) {
		var doc struct {
			ErrorType    string `json:"errorType"`
			ErrorMessage string `json:"errorMessage"`
			Status       string `json:"status"`
			Message      string `json:"message"`
		}
		if json.Unmarshal(p, &doc) == nil {
			switch {
			case doc.ErrorType != "":
				w.log.Error("invocation failed: "+doc.ErrorMessage, "error_type", doc.ErrorType, "source", "aws-lambda-go")
				return len(p), nil
			case doc.Status != "" && doc.Message != "":
				w.log.Log(context.Background(), ddLevel(doc.Status), doc.Message, "source", "datadog-lambda-go")
				return len(p), nil
			}
		}
	}
	w.log.Warn(msg, "source", "log")
	return len(p), nil
}

// ddLevel maps datadog-lambda-go's status to a level.
func ddLevel(status string) slog.Level {
	switch status {
	case "error":
		return slog.LevelError
	case "warning":
		return slog.LevelWarn
	case "debug":
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
