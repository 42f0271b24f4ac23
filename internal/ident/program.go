// This file holds supervisord programs as SUPERVISOR_PROGRAMS names them.

package ident

import "fmt"

// Program checks a supervisord program: name, group:name or group:*, each
// name of A-Z a-z 0-9 _ . -. Such a value is safe in an XML-RPC call and,
// unquoted, in a shell command line (with globbing off, for group:*).
func Program(p string) error {
	shown := Quote(p)
	if err := checkChars(p, shown, programChars); err != nil {
		return err
	}
	group, name, grouped := cut(p, ':')
	if !programName(group) || grouped && name != "*" && !programName(name) {
		return fmt.Errorf("%s: want name, group:name or group:* (e.g. app or web:*)", shown)
	}
	return nil
}

func programName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// cut is strings.Cut for a byte.
func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
