// This file holds names and keys: keepalive IDs and the state key, DynamoDB
// table names, Datadog tags and service names, env file keys, and secrets.

package ident

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Limits of the values in this file.
const (
	MaxID    = 128
	MaxDDTag = 200
)

// ID checks a keepalive ID or a state key: at most MaxID of
// A-Z a-z 0-9 _ . : -, so it needs no quoting in a file or a shell and
// survives query escaping unchanged.
func ID(s string) error {
	if err := tooLong(s, MaxID); err != nil {
		return err
	}
	return checkChars(s, Quote(s), idChars)
}

// DynamoTable checks a DynamoDB table name: 3-255 of A-Z a-z 0-9 _ . -.
func DynamoTable(s string) error {
	if len(s) < 3 || len(s) > 255 || badChar(s, tableChars) != "" {
		return fmt.Errorf("%s is not a DynamoDB table name (want 3-255 of %s)", Quote(s), tableChars.desc)
	}
	return nil
}

// DDTag checks one Datadog tag (key:value) or a service name: at most
// MaxDDTag of A-Z a-z 0-9 _ . : / -, which Datadog keeps as written.
func DDTag(s string) error {
	shown := Quote(s)
	if err := checkChars(s, shown, ddTagChars); err != nil {
		return err
	}
	if err := tooLong(s, MaxDDTag); err != nil {
		return fmt.Errorf("%s: %w", shown, err)
	}
	return nil
}

// EnvKey checks a key of an env file line: letters, digits and _, not
// starting with a digit, as a shell variable name.
func EnvKey(s string) error {
	if s == "" || digit(s[0]) || badChar(s, envKeyChars) != "" {
		return fmt.Errorf("bad key %s (want %s)", Quote(s), envKeyChars.desc)
	}
	return nil
}

// Secret checks a password or API key without showing it: no space,
// control character or invalid UTF-8, which would break a header or a log
// line.
func Secret(s string) error {
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) {
			return errNotShown
		}
	}
	return nil
}

// UserName checks a basic-auth user name without showing it: a Secret
// without ":", which would end the name.
func UserName(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return errors.New(`must not contain ":" (value not shown)`)
		}
	}
	return Secret(s)
}
