// This file holds how a value is shown in a message (Quote, QuoteURL) and
// the character sets the rules are built from.

package ident

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxShown is how many bytes of a value a message quotes.
const MaxShown = 40

// Quote returns s quoted with %q, cut to its first MaxShown bytes (on a
// character boundary when s is UTF-8) and followed by "…" when cut.
func Quote(s string) string {
	if len(s) <= MaxShown {
		return strconv.Quote(s)
	}
	n := MaxShown
	for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); i++ {
		n--
	}
	return strconv.Quote(s[:n]) + "…"
}

// QuoteURL is Quote for a URL that may hold a password in its user info:
// the password is shown as "xxxxx".
func QuoteURL(s string) string {
	if start, user, pw, ok := userinfo(s); ok && pw != "" {
		i := start + len(user) + 1
		s = s[:i] + "xxxxx" + s[i+len(pw):]
	}
	return Quote(s)
}

// URLPassword returns the password in the user info of the URL s, as
// written (not decoded), or "". s need not parse: templates and bad values
// are searched by hand.
func URLPassword(s string) string {
	_, _, pw, _ := userinfo(s)
	return pw
}

// userinfo finds the user info of a URL by hand, since templates and bad
// values need not parse: it returns the authority's start, the user, the
// password as written and whether there is user info at all.
func userinfo(s string) (start int, user, pw string, ok bool) {
	i := strings.Index(s, "://")
	if i < 0 {
		return 0, "", "", false
	}
	start = i + 3
	auth := s[start:]
	if j := strings.IndexAny(auth, "/?#"); j >= 0 {
		auth = auth[:j]
	}
	at := strings.LastIndex(auth, "@")
	if at < 0 {
		return 0, "", "", false
	}
	user, pw, _ = strings.Cut(auth[:at], ":")
	return start, user, pw, true
}

// charset is a set of allowed bytes and how messages describe it.
type charset struct {
	desc string
	ok   func(byte) bool
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func digit(c byte) bool { return '0' <= c && c <= '9' }

func lowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// set is alnum plus the bytes in extra.
func set(desc, extra string) charset {
	return charset{desc, func(c byte) bool { return alnum(c) || strings.IndexByte(extra, c) >= 0 }}
}

var (
	idChars      = set("A-Z a-z 0-9 _ . : -", "_.:-")
	pathChars    = set("A-Z a-z 0-9 _ . / -", "_./-")
	cloudChars   = set("A-Z a-z 0-9 _ . : / -", "_.:/-")
	programChars = set("A-Z a-z 0-9 _ . - and group:name or group:*", "_.-:*")
	tagChars     = set("A-Z a-z 0-9 _ . : / + @ = -", "_.:/+@=-")
	ddTagChars   = set("A-Z a-z 0-9 _ . : / -", "_.:/-")
	tableChars   = set("A-Z a-z 0-9 _ . -", "_.-")
	envKeyChars  = set("letters, digits and _", "_")
	urlChars     = charset{"printable ASCII, no spaces", func(c byte) bool { return c > ' ' && c < 0x7f }}
	// tchar of RFC 7230, section 3.2.6.
	tokenChars = set("A-Z a-z 0-9 and ! # $ % & ' * + - . ^ _ ` | ~", "!#$%&'*+-.^_`|~")
)

// badChar describes the first byte of s that cs refuses, or returns "".
func badChar(s string, cs charset) string {
	for i := 0; i < len(s); i++ {
		if cs.ok(s[i]) {
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return fmt.Sprintf("byte 0x%02x (not UTF-8)", s[i])
		}
		return "character " + strconv.QuoteRune(r)
	}
	return ""
}

// checkChars returns `"s": character 'x' not allowed (want ...)` when s
// holds a byte outside cs; shown is s as the message shows it.
func checkChars(s, shown string, cs charset) error {
	if c := badChar(s, cs); c != "" {
		return fmt.Errorf("%s: %s not allowed (want %s)", shown, c, cs.desc)
	}
	return nil
}

// tooLong returns "N bytes (want at most max)" when s is longer than max.
func tooLong(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%d bytes (want at most %d)", len(s), max)
	}
	return nil
}

// URLChars checks that s, a URL or URL template, is printable ASCII
// without spaces; the message hides a password.
func URLChars(s string) error { return checkChars(s, QuoteURL(s), urlChars) }

// errNotShown is for values that are never shown.
var errNotShown = errors.New("has a space, control character or invalid UTF-8 (value not shown)")
