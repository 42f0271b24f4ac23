// stdlog.go: the standard library logger, which aws-lambda-go (each error a
// handler returns) and datadog-lambda-go (its warnings) print to, routed
// through the function's JSON handler, so that every line is one JSON object.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log"
	"log/slog"
	"strings"
)

// routeStdLog sends every message of the standard logger to l, without the
// logger's own date prefix.
func routeStdLog(l *slog.Logger) {
	log.SetFlags(0)
	log.SetPrefix("")
	log.SetOutput(stdLog{l})
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
