// This file holds describe, the one place that names why a request got no
// answer, for the prober and the guard alike, and the limit a timeout names.

package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// describe turns a transport error into the reason an SRE needs at 3 a.m.:
// a timeout (of the request or of ctx), a DNS or TLS failure, a refused,
// reset or dropped connection. Anything else is returned as it is.
func describe(ctx context.Context, err error, timeout limit) error {
	var (
		dnsErr     *net.DNSError
		certErr    *tls.CertificateVerificationError
		hostErr    x509.HostnameError
		authErr    x509.UnknownAuthorityError
		invalidErr x509.CertificateInvalidError
		netErr     net.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("timeout after %s: %w", timeout, err)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("dns: %w", err)
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &authErr), errors.As(err, &invalidErr):
		return fmt.Errorf("tls: %w", err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("connection refused: %w", err)
	case errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("connection reset: %w", err)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("connection closed without an answer: %w", err)
	}
	return err
}

// limit is how long a request had: its own timeout (PROBE_TIMEOUT,
// LATENCY_TIMEOUT), or what was left of the check's deadline when that
// came first. A timeout names it, so that a probe cut short by the check
// does not claim to have waited its whole timeout.
type limit struct {
	d        time.Duration
	deadline bool // the check's deadline came first
}

// limitOf is the limit of a request started now under ctx with timeout.
func limitOf(ctx context.Context, timeout time.Duration) limit {
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			return limit{d: max(left, 0).Round(time.Millisecond), deadline: true}
		}
	}
	return limit{d: timeout}
}

func (l limit) String() string {
	if l.deadline {
		return l.d.String() + " (the check's deadline)"
	}
	return l.d.String()
}
