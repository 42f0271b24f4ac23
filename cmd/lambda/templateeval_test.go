package main

// A small evaluator of the raw template's intrinsic functions for given
// parameter values, as CloudFormation would resolve them: enough for this
// template's policies, conditions, rules and environment. goformation's own
// evaluation replaces a resource that has a Condition by the condition's
// value, so it cannot tell which resources a stack gets.

import (
	"fmt"
	"maps"
	"strings"
	"testing"
)

// noValue is what Ref AWS::NoValue evaluates to; lists and maps drop it.
type noValueT struct{}

var noValue = noValueT{}

// stack evaluates one template for one set of parameter values.
type stack struct {
	raw    map[string]any
	params map[string]string
	lists  map[string]bool // CommaDelimitedList parameters
}

// newStack applies overrides to the parameters' defaults. A parameter with
// neither a default nor an override evaluates to an error.
func newStack(t *testing.T, raw map[string]any, overrides map[string]string) *stack {
	t.Helper()
	s := &stack{raw: raw, params: map[string]string{}, lists: map[string]bool{}}
	for name, p := range asMap(raw["Parameters"]) {
		if d, ok := asMap(p)["Default"]; ok {
			s.params[name] = fmt.Sprint(d)
		}
		if asMap(p)["Type"] == "CommaDelimitedList" {
			s.lists[name] = true
		}
	}
	maps.Copy(s.params, overrides)
	return s
}

// pseudo are the pseudo parameters, as placeholders.
var pseudo = map[string]string{
	"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::StackName": "fleet-a",
}

// ref resolves Ref name: a parameter's value (a CommaDelimitedList is split
// and each entry trimmed of spaces, as CloudFormation does), a pseudo
// parameter, or a resource's placeholder "<Name>".
func (s *stack) ref(name string) (any, error) {
	if name == "AWS::NoValue" {
		return noValue, nil
	}
	if v, ok := pseudo[name]; ok {
		return v, nil
	}
	if v, ok := s.params[name]; ok {
		if !s.lists[name] {
			return v, nil
		}
		var out []any
		for _, e := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(e))
		}
		return out, nil
	}
	if _, ok := asMap(s.raw["Resources"])[name]; ok {
		return "<" + name + ">", nil
	}
	return nil, fmt.Errorf("Ref %s: no such parameter or resource", name)
}

// condition evaluates the named condition.
func (s *stack) condition(name string) (bool, error) {
	c, ok := asMap(s.raw["Conditions"])[name]
	if !ok {
		return false, fmt.Errorf("condition %s does not exist", name)
	}
	return s.boolean(c)
}

func (s *stack) boolean(v any) (bool, error) {
	// The YAML reader turns the short form !Condition Name into the bare
	// string Name.
	if name, ok := v.(string); ok {
		return s.condition(name)
	}
	r, err := s.eval(v)
	if err != nil {
		return false, err
	}
	b, ok := r.(bool)
	if !ok {
		return false, fmt.Errorf("%v is not a condition", v)
	}
	return b, nil
}

// has reports whether the stack gets the resource: it has no Condition, or
// its condition holds.
func (s *stack) has(t *testing.T, resource string) bool {
	t.Helper()
	r := asMap(asMap(s.raw["Resources"])[resource])
	c, ok := r["Condition"].(string)
	if !ok {
		return r != nil
	}
	b, err := s.condition(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eval resolves every intrinsic function in v.
func (s *stack) eval(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			r, err := s.eval(e)
			if err != nil {
				return nil, err
			}
			if r != noValue {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]any:
		if len(v) == 1 {
			for fn, arg := range v {
				if r, ok, err := s.function(fn, arg); ok {
					return r, err
				}
			}
		}
		out := map[string]any{}
		for k, e := range v {
			r, err := s.eval(e)
			if err != nil {
				return nil, err
			}
			if r != noValue {
				out[k] = r
			}
		}
		return out, nil
	}
	return v, nil
}

// function evaluates one intrinsic function; ok is false when fn is none.
func (s *stack) function(fn string, arg any) (any, bool, error) {
	args := asSlice(arg)
	evalArgs := func() ([]any, error) {
		out := make([]any, len(args))
		for i, a := range args {
			r, err := s.eval(a)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	switch fn {
	case "Ref":
		r, err := s.ref(fmt.Sprint(arg))
		return r, true, err
	case "Condition":
		b, err := s.condition(fmt.Sprint(arg))
		return b, true, err
	case "Fn::GetAtt":
		return "<" + fmt.Sprint(arg) + ">", true, nil
	case "Fn::Sub":
		str, _ := arg.(string)
		var err error
		out := refPattern.ReplaceAllStringFunc(str, func(m string) string {
			name := strings.TrimSuffix(strings.TrimPrefix(m, "${"), "}")
			if strings.Contains(name, ".") {
				return "<" + name + ">"
			}
			r, rerr := s.ref(name)
			if rerr != nil {
				err = rerr
			}
			return fmt.Sprint(r)
		})
		return out, true, err
	case "Fn::Join":
		a, err := evalArgs()
		if err != nil || len(a) != 2 {
			return nil, true, fmt.Errorf("Fn::Join %v: %v", arg, err)
		}
		return strings.Join(strs(a[1]), fmt.Sprint(a[0])), true, nil
	case "Fn::Split":
		a, err := evalArgs()
		if err != nil || len(a) != 2 {
			return nil, true, fmt.Errorf("Fn::Split %v: %v", arg, err)
		}
		var out []any
		for _, p := range strings.Split(fmt.Sprint(a[1]), fmt.Sprint(a[0])) {
			out = append(out, p)
		}
		return out, true, nil
	case "Fn::Equals":
		a, err := evalArgs()
		if err != nil || len(a) != 2 {
			return nil, true, fmt.Errorf("Fn::Equals %v: %v", arg, err)
		}
		return fmt.Sprint(a[0]) == fmt.Sprint(a[1]), true, nil
	case "Fn::Not", "Fn::And", "Fn::Or":
		var bs []bool
		for _, a := range args {
			b, err := s.boolean(a)
			if err != nil {
				return nil, true, err
			}
			bs = append(bs, b)
		}
		switch fn {
		case "Fn::Not":
			return len(bs) == 1 && !bs[0], true, nil
		case "Fn::And":
			for _, b := range bs {
				if !b {
					return false, true, nil
				}
			}
			return true, true, nil
		default:
			for _, b := range bs {
				if b {
					return true, true, nil
				}
			}
			return false, true, nil
		}
	case "Fn::If":
		if len(args) != 3 {
			return nil, true, fmt.Errorf("Fn::If %v: want 3 arguments", arg)
		}
		b, err := s.condition(fmt.Sprint(args[0]))
		if err != nil {
			return nil, true, err
		}
		if b {
			r, err := s.eval(args[1])
			return r, true, err
		}
		r, err := s.eval(args[2])
		return r, true, err
	}
	return nil, false, nil
}
