// This file holds HTTP request headers: names, values and the "Name: value"
// entries of PROBE_HEADERS.

package ident

import (
	"errors"
	"fmt"
	"strings"
)

// Limits of a header.
const (
	MaxHeaderName  = 256
	MaxHeaderValue = 4096
)

// HeaderName checks a header name: an RFC 7230 token, 1 to MaxHeaderName
// of A-Z a-z 0-9 and ! # $ % & ' * + - . ^ _ ` | ~.
func HeaderName(s string) error {
	shown := Quote(s)
	if s == "" {
		return fmt.Errorf("%s: want a header name (an HTTP token, e.g. X-SIG-Sha256)", shown)
	}
	if err := tooLong(s, MaxHeaderName); err != nil {
		return fmt.Errorf("%s: %w", shown, err)
	}
	return checkChars(s, shown, tokenChars)
}

// HeaderValue checks a header value without showing it, since values are
// often credentials: 1 to MaxHeaderValue bytes of visible ASCII (0x21-0x7e)
// without commas, with spaces allowed between visible characters
// (Bearer abc) but not at either end. A comma is refused because a list
// of headers is comma-separated.
func HeaderValue(s string) error {
	if s == "" {
		return errors.New("empty (want visible ASCII without commas; value not shown)")
	}
	if err := tooLong(s, MaxHeaderValue); err != nil {
		return fmt.Errorf("%w; value not shown", err)
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return errors.New("starts or ends with a space (want visible ASCII without commas; value not shown)")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c > ' ' && c < 0x7f && c != ',' {
			continue
		}
		what := fmt.Sprintf("byte 0x%02x", c)
		if c == ',' {
			what = "a comma"
		}
		return fmt.Errorf("%s at byte %d not allowed (want visible ASCII without commas; value not shown)", what, i+1)
	}
	return nil
}

// Header parses a "Name: value" entry such as PROBE_HEADERS holds
// (X-SIG-Sha256: e3b0...): spaces around the name and the value are
// dropped, then both are checked. The value is never shown: a message
// names the header only.
func Header(entry string) (name, value string, err error) {
	name, value, ok := strings.Cut(entry, ":")
	if !ok {
		return "", "", errors.New("want Name: value (e.g. X-SIG-Sha256: e3b0c442...; entry not shown)")
	}
	name, value = strings.Trim(name, " "), strings.Trim(value, " ")
	if err := HeaderName(name); err != nil {
		return "", "", err
	}
	if err := HeaderValue(value); err != nil {
		return "", "", fmt.Errorf("header %s: %w", name, err)
	}
	return name, value, nil
}
