// This file holds loading: collecting settings from defaults, the
// environment and flags, and building a Config from them (Load, FromEnv).

package config

import (
	"errors"
	"flag"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// setting is a value and the name it was given under.
type setting struct {
	value string
	field string
}

// loader collects settings: defaults, then the environment, then flags.
type loader struct {
	vals map[string]setting // by environment name
}

func newLoader(lookupEnv func(string) (string, bool)) *loader {
	l := &loader{vals: map[string]setting{}}
	if lookupEnv == nil {
		return l
	}
	for i := range variables {
		v := &variables[i]
		if s, ok := lookupEnv(v.env); ok && s != "" {
			l.vals[v.env] = setting{value: s, field: v.env}
		}
	}
	return l
}

// flagValue records a flag into the loader; validation happens after
// parsing, so the error names the flag the user wrote.
type flagValue struct {
	l     *loader
	v     *variable
	field string
}

func (f *flagValue) String() string { return "" }

func (f *flagValue) Set(s string) error {
	if s == "" {
		delete(f.l.vals, f.v.env) // empty means the default, as in the environment
		return nil
	}
	f.l.vals[f.v.env] = setting{value: s, field: f.field}
	return nil
}

func (f *flagValue) IsBoolFlag() bool { return f.v.isBool() }

func (l *loader) register(fs *flag.FlagSet) {
	for i := range variables {
		v := &variables[i]
		for _, name := range append([]string{v.flagName()}, v.aliases...) {
			fs.Var(&flagValue{l: l, v: v, field: dashed(name)}, name, v.help)
		}
	}
}

// lookup returns v's value, its default when unset, and the name to report.
func (l *loader) lookup(v *variable) (string, string) {
	if s, ok := l.vals[v.env]; ok {
		return s.value, s.field
	}
	return v.def, v.env
}

func (l *loader) field(env string) string {
	if s, ok := l.vals[env]; ok {
		return s.field
	}
	return env
}

func (l *loader) build() (*Config, error) {
	c := &Config{}
	for i := range variables {
		v := &variables[i]
		s, field := l.lookup(v)
		if len(s) > maxValue {
			return nil, errorf(field, "%d bytes (want at most %d)", len(s), maxValue)
		}
		if err := v.parse(c, s, field); err != nil {
			return nil, err
		}
	}
	if err := l.crossCheck(c); err != nil {
		return nil, err
	}
	return c, nil
}

// Load builds the Config for the host command: defaults, then lookupEnv
// (nil means an empty environment), then the flags in args. extra, when
// not nil, registers the command's own flags on the same FlagSet before
// parsing. It returns the positional arguments left after the flags.
//
// -h and --help return flag.ErrHelp, before any value is checked; any
// bad value or flag returns an *Error. Load does the checks common to both paths; see
// ValidateHost.
func Load(args []string, lookupEnv func(string) (string, bool), extra func(*flag.FlagSet)) (*Config, []string, error) {
	l := newLoader(lookupEnv)
	fs := flag.NewFlagSet("extcloud-failover", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	l.register(fs)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err
		}
		return nil, nil, flagError(err)
	}
	c, err := l.build()
	if err != nil {
		return nil, nil, err
	}
	return c, fs.Args(), nil
}

// FromEnv builds the Config for Lambda, which has no flags: defaults, then
// lookupEnv (nil means an empty environment). See ValidateLambda.
func FromEnv(lookupEnv func(string) (string, bool)) (*Config, error) {
	return newLoader(lookupEnv).build()
}

// flagError turns the flag package's parse errors into an *Error, quoting
// what the user typed.
func flagError(err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		if len(name) <= maxShown && name != "" && strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == "" {
			return errorf(dashed(name), "unknown flag (--help lists the flags)")
		}
		return errorf("flags", "unknown flag %s (--help lists the flags)", quote("-"+name))
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return errorf(dashed(name), "needs a value (e.g. %s=VALUE)", dashed(name))
	}
	if arg, ok := strings.CutPrefix(msg, "bad flag syntax: "); ok {
		return errorf("flags", "bad syntax %s (want --name=value)", quote(arg))
	}
	// A caller's own flag refused its value.
	if m := badBoolRE.FindStringSubmatch(msg); m != nil {
		if v, err := strconv.Unquote(m[1]); err == nil {
			return errorf(dashed(m[2]), "%s is not a boolean (want true or false)", quote(v))
		}
	}
	if m := badValueRE.FindStringSubmatch(msg); m != nil {
		if v, err := strconv.Unquote(m[1]); err == nil {
			return errorf(dashed(m[2]), "invalid value %s: %s", quote(v), quote(m[3]))
		}
	}
	return errorf("flags", "%s", quote(msg))
}

// The flag package's messages for values a Value refused.
var (
	badBoolRE  = regexp.MustCompile(`^invalid boolean value (".*") for -([A-Za-z0-9_.-]+): `)
	badValueRE = regexp.MustCompile(`^invalid value (".*") for flag -([A-Za-z0-9_.-]+): (.*)$`)
)
