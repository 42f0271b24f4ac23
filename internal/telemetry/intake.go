// This file holds Intake: the log lines teed to the Datadog logs intake,
// batched and sent once per invocation.

package telemetry

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"
)

// Limits of one request to the logs intake, from the Datadog API.
const (
	MaxBatchItems = 1000
	MaxBatchBytes = 5 << 20 // uncompressed
	MaxItemBytes  = 1 << 20
)

// Source is the ddsource of every log event.
const Source = "extcloud-failover"

// DefaultIntakeTimeout bounds one Flush when IntakeOptions.Timeout is zero.
const DefaultIntakeTimeout = 2 * time.Second

// ErrBatchFull is returned by Flush, possibly joined with a send error, when
// records were dropped because the batch reached a limit of the API.
var ErrBatchFull = errors.New("telemetry: logs intake batch full")

// retryDelay is the pause before the one retry.
const retryDelay = 200 * time.Millisecond

// reserved are the item keys the intake sets; record attributes with these
// names at the top level are renamed with an "attr_" prefix.
var reserved = map[string]bool{
	"ddsource": true, "ddtags": true, "hostname": true, "service": true,
	"status": true, "message": true, "timestamp": true,
}

// IntakeOptions configures NewIntake.
type IntakeOptions struct {
	// APIKey is DD_API_KEY; empty makes the Intake a no-op.
	APIKey string
	// Site is DD_SITE; default datadoghq.com.
	Site string
	// URL is DD_LOGS_INTAKE_URL; it overrides the URL derived from Site.
	URL string
	// Service, Hostname and Tags (DD_TAGS, comma-separated) are set on every
	// event.
	Service  string
	Hostname string
	Tags     string
	// Timeout bounds one Flush; default DefaultIntakeTimeout.
	Timeout time.Duration
	// Secrets are removed from every message and string value.
	Secrets []string
	// Now stamps the events; nil keeps the time the logger set.
	Now func() time.Time
}

// Intake buffers log records and sends them to the Datadog logs intake. It
// is safe for concurrent use. Records are kept only until the next Flush,
// which sends them once whatever the outcome.
type Intake struct {
	o      IntakeOptions
	url    string
	client *http.Client
	red    *redactor

	mu      sync.Mutex
	items   [][]byte
	size    int
	dropped int
}

// NewIntake returns an Intake for o.
func NewIntake(o IntakeOptions) *Intake {
	if o.Site == "" {
		o.Site = "datadoghq.com"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultIntakeTimeout
	}
	u := o.URL
	if u == "" {
		u = "https://http-intake.logs." + o.Site + "/api/v2/logs"
	}
	// A client and transport of its own: nothing another package does to
	// the default ones reaches the intake.
	c := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	return &Intake{o: o, url: u, client: c, red: newRedactor(o.Secrets)}
}

// URL is where Flush posts.
func (in *Intake) URL() string { return in.url }

// Handler returns a handler that passes every record to next and keeps a
// redacted copy for the next Flush. Without an API key it returns next.
func (in *Intake) Handler(next slog.Handler) slog.Handler {
	if in.o.APIKey == "" {
		return next
	}
	return &teeHandler{in: in, next: next}
}

// Flush sends the buffered records in one POST, retrying once on 408, 429,
// 5xx or a transport error. It returns by the earlier of ctx's deadline and
// IntakeOptions.Timeout. The records are dropped whatever the outcome; the
// error is for the caller to log locally.
func (in *Intake) Flush(ctx context.Context) error {
	in.mu.Lock()
	items, dropped := in.items, in.dropped
	in.items, in.size, in.dropped = nil, 0, 0
	in.mu.Unlock()

	var full error
	if dropped > 0 {
		full = fmt.Errorf("%w: %d events dropped", ErrBatchFull, dropped)
	}
	if in.o.APIKey == "" || len(items) == 0 {
		return full
	}
	body, err := gzipArray(items)
	if err != nil {
		return errors.Join(fmt.Errorf("telemetry: encode logs: %w", err), full)
	}
	ctx, cancel := context.WithTimeout(ctx, in.o.Timeout)
	defer cancel()
	err = in.post(ctx, body)
	if err != nil && retryable(err) && ctx.Err() == nil {
		t := time.NewTimer(retryDelay)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
			err = in.post(ctx, body)
		}
	}
	if err != nil {
		err = fmt.Errorf("telemetry: send %d log events: %w", len(items), err)
	}
	return errors.Join(err, full)
}

// statusError is a response the intake did not accept.
type statusError struct {
	code int
	url  string // redacted
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("logs intake %s: status %d", e.url, e.code)
	switch e.code {
	case http.StatusUnauthorized, http.StatusForbidden:
		msg += " (DD_API_KEY refused: check the key, and that DD_SITE is the key's Datadog site)"
	case http.StatusNotFound:
		msg += " (no logs intake there: check DD_SITE, or DD_LOGS_INTAKE_URL when set)"
	}
	return msg
}

// redactedError shows a scrubbed text and keeps the cause for errors.Is.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.code == http.StatusRequestTimeout || se.code == http.StatusTooManyRequests || se.code >= 500
	}
	return true // transport error
}

func (in *Intake) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("logs intake: %w", err)
	}
	req.Header.Set("DD-API-KEY", in.o.APIKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := in.client.Do(req)
	if err != nil {
		// The URL may carry credentials and the error text names it.
		return &redactedError{msg: in.red.redact(err.Error()), err: err}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &statusError{code: resp.StatusCode, url: in.red.redact(in.url)}
	}
	return nil
}

func gzipArray(items [][]byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte{'['})
	for i, it := range items {
		if i > 0 {
			_, _ = zw.Write([]byte{','})
		}
		_, _ = zw.Write(it)
	}
	_, _ = zw.Write([]byte{']'})
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// add buffers one encoded item within the batch limits.
func (in *Intake) add(item []byte) {
	in.mu.Lock()
	defer in.mu.Unlock()
	// +1 for the comma or bracket around it.
	if len(item) > MaxItemBytes || len(in.items) >= MaxBatchItems || in.size+len(item)+1 > MaxBatchBytes-1 {
		in.dropped++
		return
	}
	in.items = append(in.items, item)
	in.size += len(item) + 1
}

// teeHandler passes records on and keeps a copy for the intake.
type teeHandler struct {
	in     *Intake
	next   slog.Handler
	groups []string    // open groups, outermost first
	attrs  []groupedKV // from WithAttrs, in order
}

// groupedKV is attributes added under a group path.
type groupedKV struct {
	groups []string
	attrs  []slog.Attr
}

func (h *teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *teeHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.next.Handle(ctx, r)
	if b, merr := h.item(r); merr == nil {
		h.in.add(b)
	}
	return err
}

func (h *teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	c := *h
	c.next = h.next.WithAttrs(as)
	c.attrs = append(h.attrs[:len(h.attrs):len(h.attrs)], groupedKV{groups: h.groups, attrs: as})
	return &c
}

func (h *teeHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next = h.next.WithGroup(name)
	c.groups = append(h.groups[:len(h.groups):len(h.groups)], name)
	return &c
}

// item encodes r as one intake event.
func (h *teeHandler) item(r slog.Record) ([]byte, error) {
	root := map[string]any{}
	for _, kv := range h.attrs {
		h.put(root, kv.groups, kv.attrs)
	}
	var as []slog.Attr
	r.Attrs(func(a slog.Attr) bool {
		as = append(as, a)
		return true
	})
	h.put(root, h.groups, as)
	for k := range reserved {
		if v, ok := root[k]; ok {
			delete(root, k)
			root["attr_"+k] = v
		}
	}
	o := h.in.o
	t := r.Time
	if o.Now != nil {
		t = o.Now()
	}
	root["ddsource"] = Source
	root["ddtags"] = o.Tags
	root["hostname"] = o.Hostname
	root["service"] = o.Service
	root["status"] = levelName(r.Level)
	root["message"] = h.in.red.redact(r.Message)
	if !t.IsZero() {
		root["timestamp"] = t.UTC().Format(TimeFormat)
	}
	return json.Marshal(root)
}

// put adds attributes to m under the group path, following slog's rules:
// empty keys are dropped, except groups which are inlined; empty groups are
// dropped.
func (h *teeHandler) put(m map[string]any, groups []string, as []slog.Attr) {
	if len(as) == 0 {
		return
	}
	for _, g := range groups {
		sub, ok := m[g].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[g] = sub
		}
		m = sub
	}
	for _, a := range as {
		v := a.Value.Resolve()
		if v.Kind() == slog.KindGroup {
			members := v.Group()
			if len(members) == 0 {
				continue
			}
			if a.Key == "" {
				h.put(m, nil, members)
			} else {
				h.put(m, []string{a.Key}, members)
			}
			continue
		}
		if a.Key == "" {
			continue
		}
		m[a.Key] = h.value(v)
	}
}

// value converts a resolved, non-group value to what encoding/json writes,
// scrubbed of secrets.
func (h *teeHandler) value(v slog.Value) any {
	switch v.Kind() {
	case slog.KindString:
		return h.in.red.redact(v.String())
	case slog.KindInt64:
		return v.Int64()
	case slog.KindUint64:
		return v.Uint64()
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprint(f)
		}
		return f
	case slog.KindBool:
		return v.Bool()
	case slog.KindDuration:
		return int64(v.Duration())
	case slog.KindTime:
		return v.Time().UTC().Format(time.RFC3339Nano)
	}
	sv := h.in.red.any(v.Any())
	if sv.Kind() == slog.KindString {
		return sv.String()
	}
	switch a := sv.Any().(type) {
	case nil:
		return nil
	case json.RawMessage:
		return a
	default:
		// Not marshallable: keep its text, scrubbed.
		return h.in.red.redact(fmt.Sprintf("%+v", a))
	}
}
