// This file holds the command line: the table of subcommands, one
// flag.FlagSet per subcommand built from config's variable table plus the
// subcommand's own flags, and the usage text. config knows no flags.

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"extcloud-failover/internal/config"
)

// body runs a subcommand once the configuration is loaded and checked.
type body func(ctx context.Context, a *app) int

// command is one subcommand. flags registers the subcommand's own flags on
// fs and returns the body, which reads them once they are parsed.
type command struct {
	name     string
	synopsis string // the subcommand with its own flags, for usage
	help     string
	flags    func(fs *flag.FlagSet) body
}

// commands lists the subcommands, in usage order. A new subcommand is one
// line here; its flags and body live in its own file.
var commands = []command{
	{"check", "check", "run one invocation (the default)", noFlags((*app).check)},
	{"status", "status [--json]", "print the active region, outage, pending hosts, pause and audit trail", statusFlags},
	{"failover", "failover --to R", "force a switch to R (refused when R fails its pre-flight, unless --force)", failoverFlags},
	{"pause", "pause [--for D]", "hold automatic switches for D (default 1h, at most 7 days; --reason T)", pauseFlags},
	{"resume", "resume", "lift a pause", noFlags((*app).resume)},
	{"doctor", "doctor", "check the whole failover path without changing anything", noFlags((*app).doctor)},
	{"validate", "validate", "check the configuration and exit", noFlags((*app).validate)},
	{"watch", "watch", "run a check every PROBE_INTERVAL until SIGTERM (a container, a host without a timer)", noFlags((*app).watch)},
	{"simulate", "simulate", "replay a timeline through the decision engine (--timeline CSV or --log F|-; --json, --svg F): no network, state or restarts", simulateCommand},
}

// decisionOnly names the subcommands that only decide: they probe nothing
// and touch no host, so they need the failover list and the decision
// settings only (config.LoadDecision, and no ValidateHost).
var decisionOnly = map[string]bool{"simulate": true}

// defaultCommand runs when the first argument is not a subcommand's name.
const defaultCommand = "check"

// noFlags is the flags of a subcommand that has none of its own.
func noFlags(run func(*app, context.Context) int) func(*flag.FlagSet) body {
	return func(*flag.FlagSet) body {
		return func(ctx context.Context, a *app) int { return run(a, ctx) }
	}
}

func findCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// usageError is a bad command line: an unknown subcommand, a flag the
// subcommand does not take, or a stray argument. It is one line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// flagSet builds cmd's FlagSet: every configuration variable as a flag that
// appends to overrides (validation happens in config.Load, so errors name
// the flag as written), then cmd's own flags. own lists the latter, for
// usage.
func (cmd *command) flagSet(overrides *[]config.Override) (fs *flag.FlagSet, own []*flag.Flag, run body) {
	fs = flag.NewFlagSet("extcloud-failover "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, v := range config.Variables() {
		for _, f := range v.Flags {
			fs.Var(&overrideValue{overrides: overrides, env: v.Env, field: f, isBool: v.IsBool()}, strings.TrimLeft(f, "-"), v.Help)
		}
	}
	mine := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	run = cmd.flags(mine)
	mine.VisitAll(func(f *flag.Flag) {
		own = append(own, f)
		fs.Var(f.Value, f.Name, f.Usage)
	})
	return fs, own, run
}

// overrideValue is the flag of one configuration variable.
type overrideValue struct {
	overrides *[]config.Override
	env       string
	field     string // the flag with its dashes, as the usage text spells it
	isBool    bool
}

func (o *overrideValue) String() string { return "" }

func (o *overrideValue) Set(s string) error {
	*o.overrides = append(*o.overrides, config.Override{Env: o.env, Field: o.field, Value: s})
	return nil
}

func (o *overrideValue) IsBoolFlag() bool { return o.isBool }

// parseArgs finds the subcommand in args, parses its flags and loads the
// configuration. The subcommand comes first; flags before it are read as
// the default command's, and a subcommand's name after them still selects
// it (extcloud-failover --dry-run status). -h and --help return flag.ErrHelp
// before any value is checked, with the subcommand when one was named (nil
// for the general help); a bad command line returns a *usageError, a bad
// value a *config.Error.
func parseArgs(args []string, lookupEnv func(string) (string, bool)) (*command, body, *config.Config, error) {
	name, explicit := defaultCommand, false
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args, explicit = args[0], args[1:], true
	}
	cmd := findCommand(name)
	if cmd == nil {
		return nil, nil, nil, unknownCommand(name)
	}
	var overrides []config.Override
	fs, _, run := cmd.flagSet(&overrides)
	err := fs.Parse(args)
	if err == nil && !explicit && fs.NArg() > 0 {
		if next := findCommand(fs.Arg(0)); next != nil {
			cmd, explicit = next, true
			args = fs.Args()[1:]
			fs, _, run = cmd.flagSet(&overrides)
			err = fs.Parse(args)
		}
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		if !explicit {
			return nil, nil, nil, err
		}
		return cmd, nil, nil, err
	case err != nil:
		return cmd, nil, nil, &usageError{fmt.Sprintf("%s: %s (%sextcloud-failover %s --help lists its flags)", cmd.name, oneLine(err.Error()), flagHint(fs, args), cmd.name)}
	case fs.NArg() > 0:
		return cmd, nil, nil, unknownCommand(fs.Arg(0))
	}
	load := config.Load
	if decisionOnly[cmd.name] {
		load = config.LoadDecision
	}
	cfg, err := load(lookupEnv, overrides)
	if err != nil {
		return cmd, nil, nil, err
	}
	return cmd, run, cfg, nil
}

func unknownCommand(name string) error {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return &usageError{fmt.Sprintf("unknown command or argument %s (want %s; --help lists the flags)", quote(name), strings.Join(names, ", "))}
}

// maxShown bounds the user input a usage error shows.
const maxShown = 200

// quote returns s quoted, cut to maxShown bytes.
func quote(s string) string {
	if len(s) > maxShown {
		return strconv.Quote(s[:maxShown]) + "…"
	}
	return strconv.Quote(s)
}

// oneLine makes a message from the flag package safe to print as one line:
// control characters and bytes that are not UTF-8 are escaped, and the
// message is cut to a few hundred bytes, since it may quote what the user
// typed.
func oneLine(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if b.Len() > 2*maxShown {
			b.WriteString("…")
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unicode.IsPrint(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// usage writes --help. Without a subcommand (nil): every subcommand. With
// one: its synopsis, what it does and its own flags. Then every
// configuration flag with its variable, default and meaning.
func usage(w io.Writer, cmd *command) {
	if cmd == nil {
		fmt.Fprint(w, "usage: extcloud-failover [command] [flags]\n\ncommands:\n")
		for _, c := range commands {
			fmt.Fprintf(w, "  %-18s %s\n", c.synopsis, c.help)
		}
	} else {
		fmt.Fprintf(w, "usage: extcloud-failover %s [flags]\n\n%s\n", cmd.synopsis, cmd.help)
		if _, own, _ := cmd.flagSet(new([]config.Override)); len(own) > 0 {
			fmt.Fprintf(w, "\n%s flags:\n", cmd.name)
			for _, f := range own {
				meta, text := ownMeta(f)
				fmt.Fprintf(w, "  --%s%s\n        %s\n", f.Name, meta, text)
			}
		}
	}
	fmt.Fprint(w, "\nflags (each overrides the environment variable of the same name):\n")
	for _, v := range config.Variables() {
		head := "  " + strings.Join(v.Flags, ", ")
		if !v.IsBool() {
			head += " " + v.Meta
		}
		fmt.Fprintf(w, "%s  (env %s)\n", head, v.Env)
		fmt.Fprintf(w, "        %s%s\n", v.Help, defaultNote(v))
	}
}

func defaultNote(v config.Variable) string {
	switch {
	case v.DefaultDoc != "":
		return " (default: " + v.DefaultDoc + ")"
	case v.Default != "":
		return " (default " + v.Default + ")"
	}
	return ""
}

// ownMeta is what a subcommand's own flag takes, for usage (nothing for a
// boolean, else the `NAME` its usage backquotes, or VALUE), and its usage
// without the backquotes.
func ownMeta(f *flag.Flag) (meta, text string) {
	name, text := flag.UnquoteUsage(f)
	if isBoolFlag(f) {
		return "", text
	}
	if name == "" || name == "value" || name == "string" {
		name = "value"
	}
	return " " + strings.ToUpper(name), text
}

// flagHint helps with the first flag in args that fs does not define: the
// other subcommands that take it, or the flag of this one it is a letter or
// two from. It ends in "; " or " " when it says something.
func flagHint(fs *flag.FlagSet, args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			return ""
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if f := fs.Lookup(name); f != nil {
			if !hasValue && !isBoolFlag(f) {
				i++ // its value
			}
			continue
		}
		var takers []string
		for _, c := range commands {
			other := flag.NewFlagSet(c.name, flag.ContinueOnError)
			c.flags(other)
			if other.Lookup(name) != nil {
				takers = append(takers, c.name)
			}
		}
		if len(takers) > 0 {
			return fmt.Sprintf("--%s is a flag of %s; ", name, strings.Join(takers, " and "))
		}
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if best := config.Closest(name, names); best != "" {
			return "did you mean --" + best + "? "
		}
		return ""
	}
	return ""
}

// isBoolFlag reports whether f takes no value (--json, --force).
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
