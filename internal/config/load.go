// This file holds loading: collecting settings from defaults, the
// environment and the command line's overrides, and building a Config from
// them (Load, LoadDecision, FromEnv).

package config

// Override is one value the command line gives a variable. Field is the
// flag that set it (-r, --region), which errors name. An empty
// Value means the default, as an empty environment variable does.
type Override struct {
	Env   string // the variable's environment name, e.g. PROBE_TIMEOUT
	Field string // the flag, e.g. --probe-timeout
	Value string
}

// setting is a value and the name it was given under.
type setting struct {
	value string
	field string
}

// loader collects settings: defaults, then the environment, then overrides.
type loader struct {
	vals map[string]setting // by environment name
	// decisionOnly skips what only probing needs (see LoadDecision).
	decisionOnly bool
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

// override applies the command line's values in order: the last one for a
// variable wins.
func (l *loader) override(overrides []Override) error {
	for _, o := range overrides {
		if byEnv(o.Env) == nil {
			return errorf(o.Field, "sets unknown variable %s", quote(o.Env))
		}
		if o.Value == "" {
			delete(l.vals, o.Env) // empty means the default, as in the environment
			continue
		}
		l.vals[o.Env] = setting{value: o.Value, field: o.Field}
	}
	return nil
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
// (nil means an empty environment), then overrides, the command line's
// values (see Variables). A bad value returns an *Error naming the variable,
// or the flag when an override set it. Load does the checks common to both
// paths; see ValidateHost.
func Load(lookupEnv func(string) (string, bool), overrides []Override) (*Config, error) {
	l := newLoader(lookupEnv)
	if err := l.override(overrides); err != nil {
		return nil, err
	}
	return l.build()
}

// FromEnv builds the Config for Lambda, which has no command line: defaults,
// then lookupEnv (nil means an empty environment). See ValidateLambda.
func FromEnv(lookupEnv func(string) (string, bool)) (*Config, error) {
	return Load(lookupEnv, nil)
}

// LoadDecision is Load for what only decides (simulate): it probes and
// pushes nothing, so the ids and PREFLIGHT_URL that filling the probe URLs
// needs are not required. Every value given is still checked.
func LoadDecision(lookupEnv func(string) (string, bool), overrides []Override) (*Config, error) {
	l := newLoader(lookupEnv)
	l.decisionOnly = true
	if err := l.override(overrides); err != nil {
		return nil, err
	}
	return l.build()
}
