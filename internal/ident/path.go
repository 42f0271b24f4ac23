// This file holds file paths: ENV_FILE, STATE_FILE and supervisord sockets.

package ident

import (
	"fmt"
	"path"
	"strings"
)

// FilePath checks the path of a file: absolute, clean, not "/", of
// A-Z a-z 0-9 _ . / -, so it is safe unquoted in a shell word. example is
// shown in the message when the path is relative or "/".
func FilePath(s, example string) error {
	shown := Quote(s)
	if err := checkChars(s, shown, pathChars); err != nil {
		return err
	}
	if !strings.HasPrefix(s, "/") {
		return fmt.Errorf("%s is not an absolute path (e.g. %s)", shown, example)
	}
	if c := path.Clean(s); c != s {
		return fmt.Errorf("%s is not a clean path (want %s)", shown, Quote(c))
	}
	if s == "/" {
		return fmt.Errorf("\"/\" names no file (e.g. %s)", example)
	}
	return nil
}
