package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"

	"extcloud-failover/internal/config"
	"extcloud-failover/internal/ident"
)

const templatePath = "../../template.yaml"

// openTemplate parses template.yaml twice: typed, with the intrinsics
// resolved as goformation does, and raw (short-form tags turned into their
// long form, nothing resolved) for what the typed model drops: Fn::If
// branches, Refs and the state machine's events.
func openTemplate(t *testing.T) (*cloudformation.Template, map[string]any) {
	t.Helper()
	typed, err := goformation.Open(templatePath)
	if err != nil {
		t.Fatalf("goformation.Open(%s): %v", templatePath, err)
	}
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	js, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatalf("parse %s: %v", templatePath, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(js, &raw); err != nil {
		t.Fatal(err)
	}
	return typed, raw
}

func TestTemplateFunction(t *testing.T) {
	tmpl, _ := openTemplate(t)
	fn, err := tmpl.GetServerlessFunctionWithName("CheckerFunction")
	if err != nil {
		t.Fatalf("CheckerFunction (the Makefile's build-CheckerFunction target needs this logical ID): %v", err)
	}
	if got := deref(fn.Runtime); got != "provided.al2023" {
		t.Errorf("Runtime = %q, want provided.al2023", got)
	}
	if !slices.Equal(fn.Architectures, []string{"arm64"}) {
		t.Errorf("Architectures = %v, want [arm64] (build-CheckerFunction builds GOARCH=arm64)", fn.Architectures)
	}
	if got := deref(fn.Handler); got != "bootstrap" {
		t.Errorf("Handler = %q, want bootstrap", got)
	}
	if got := fn.AWSCloudFormationMetadata["BuildMethod"]; got != "makefile" {
		t.Errorf("Metadata.BuildMethod = %v, want makefile", got)
	}
	if fn.Timeout == nil || *fn.Timeout >= 10 || *fn.Timeout < 3 {
		t.Errorf("Timeout = %v, want 3..9 seconds (below the 10s cadence)", fn.Timeout)
	}
	if fn.MemorySize == nil || *fn.MemorySize != 128 {
		t.Errorf("MemorySize = %v, want 128", fn.MemorySize)
	}
}

func TestTemplateTable(t *testing.T) {
	tmpl, _ := openTemplate(t)
	tables := tmpl.GetAllDynamoDBTableResources()
	if len(tables) != 1 {
		t.Fatalf("%d DynamoDB tables, want 1", len(tables))
	}
	for name, tb := range tables {
		if got := deref(tb.BillingMode); got != "PAY_PER_REQUEST" {
			t.Errorf("%s BillingMode = %q, want PAY_PER_REQUEST", name, got)
		}
		if len(tb.KeySchema) != 1 || tb.KeySchema[0].AttributeName != "pk" || tb.KeySchema[0].KeyType != "HASH" {
			t.Errorf("%s KeySchema = %+v, want pk HASH only", name, tb.KeySchema)
		}
		if len(tb.AttributeDefinitions) != 1 || tb.AttributeDefinitions[0].AttributeName != "pk" || tb.AttributeDefinitions[0].AttributeType != "S" {
			t.Errorf("%s AttributeDefinitions = %+v, want pk S only", name, tb.AttributeDefinitions)
		}
	}
}

func TestTemplateStateMachine(t *testing.T) {
	tmpl, raw := openTemplate(t)
	sm, err := tmpl.GetServerlessStateMachineWithName("CheckerStateMachine")
	if err != nil {
		t.Fatal(err)
	}
	if got := deref(sm.Type); got != "EXPRESS" {
		t.Errorf("Type = %q, want EXPRESS", got)
	}

	props := asMap(dig(raw, "Resources", "CheckerStateMachine", "Properties"))
	if got := dig(props, "DefinitionSubstitutions", "CheckerFunctionArn"); !reflect.DeepEqual(got, map[string]any{"Fn::GetAtt": "CheckerFunction.Arn"}) {
		t.Errorf("DefinitionSubstitutions.CheckerFunctionArn = %v, want !GetAtt CheckerFunction.Arn", got)
	}

	var schedules []string
	for name, ev := range asMap(props["Events"]) {
		if dig(ev, "Type") == "ScheduleV2" {
			schedules = append(schedules, fmt.Sprint(dig(ev, "Properties", "ScheduleExpression")))
		} else {
			t.Errorf("event %s has type %v, want only ScheduleV2", name, dig(ev, "Type"))
		}
	}
	if !slices.Equal(schedules, []string{"rate(1 minute)"}) {
		t.Errorf("schedules = %v, want one ScheduleV2 rate(1 minute)", schedules)
	}

	// Run the definition on paper: which payloads reach the function, after
	// which waits, and what protects each invocation.
	invokes := simulate(t, asMap(props["Definition"]), map[string]any{})
	want := []string{}
	for off := 0; off < 60; off += 10 {
		want = append(want, fmt.Sprintf(`wait %ds, invoke ${CheckerFunctionArn} with {"offset":%d}`, off, off))
	}
	got := []string{}
	for _, inv := range invokes {
		got = append(got, inv.String())
		if !slices.Contains(inv.retryOn, "Lambda.TooManyRequestsException") || !slices.Contains(inv.retryOn, "Lambda.ServiceException") {
			t.Errorf("invoke retries on %v, want Lambda.TooManyRequestsException and Lambda.ServiceException", inv.retryOn)
		}
		if !slices.Contains(inv.catch, "States.ALL") {
			t.Errorf("invoke catches %v, want States.ALL so one failed check does not fail the others", inv.catch)
		}
		if inv.maxConcurrency != 6 {
			t.Errorf("Map MaxConcurrency = %d, want 6", inv.maxConcurrency)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("the state machine invokes\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestTemplatePolicies(t *testing.T) {
	_, raw := openTemplate(t)
	// Actions whose APIs take no resource ARN: the only ones allowed on "*".
	noResourceLevel := []string{"ssm:ListCommands", "ssm:ListCommandInvocations", "ssm:GetCommandInvocation", "ssm:DescribeInstanceInformation",
		"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
		"logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"}

	var statements []map[string]any
	walk(raw["Resources"], func(m map[string]any) {
		if _, ok := m["Effect"]; ok {
			statements = append(statements, m)
		}
	})
	if len(statements) < 5 {
		t.Fatalf("found %d policy statements; the walk is broken", len(statements))
	}
	actions := map[string][]any{} // action -> resources
	for _, st := range statements {
		if _, ok := st["NotAction"]; ok {
			t.Errorf("statement %v uses NotAction", st["Sid"])
		}
		if _, ok := st["NotResource"]; ok {
			t.Errorf("statement %v uses NotResource", st["Sid"])
		}
		if st["Effect"] != "Allow" {
			continue
		}
		for _, a := range strs(st["Action"]) {
			if strings.Contains(a, "*") {
				t.Errorf("statement %v allows action %q: no wildcard actions", st["Sid"], a)
			}
			actions[a] = append(actions[a], st["Resource"])
			for _, r := range asSlice(st["Resource"]) {
				if r == "*" && !slices.Contains(noResourceLevel, a) {
					t.Errorf("statement %v allows %s on every resource", st["Sid"], a)
				}
			}
		}
	}

	var names []string
	for a := range actions {
		names = append(names, a)
	}
	sort.Strings(names)
	want := slices.Concat([]string{"dynamodb:GetItem", "dynamodb:PutItem", "kms:Decrypt", "lambda:InvokeFunction",
		"logs:CreateLogStream", "logs:PutLogEvents", "ssm:SendCommand", "sts:AssumeRole"}, noResourceLevel)
	sort.Strings(want)
	if !slices.Equal(names, want) {
		t.Errorf("actions = %v, want exactly %v", names, want)
	}
	tableArn := map[string]any{"Fn::GetAtt": "StateTable.Arn"}
	for _, a := range []string{"dynamodb:GetItem", "dynamodb:PutItem"} {
		if !reflect.DeepEqual(actions[a], []any{tableArn}) {
			t.Errorf("%s on %v, want only the state table's ARN", a, actions[a])
		}
	}
	// The function writes only to its own log group, not logs:* on *.
	logGroup := map[string]any{"Fn::GetAtt": "CheckerLogGroup.Arn"}
	for _, a := range []string{"logs:CreateLogStream", "logs:PutLogEvents"} {
		if !reflect.DeepEqual(actions[a], []any{logGroup}) {
			t.Errorf("%s on %v, want only the function's log group", a, actions[a])
		}
	}
	if got := actions["lambda:InvokeFunction"]; !reflect.DeepEqual(got, []any{map[string]any{"Fn::GetAtt": "CheckerFunction.Arn"}}) {
		t.Errorf("lambda:InvokeFunction on %v, want only the checker's ARN", got)
	}
	for _, st := range statements {
		if st["Sid"] == "StateItem" && !reflect.DeepEqual(dig(st, "Condition", "ForAllValues:StringEquals", "dynamodb:LeadingKeys"), []any{map[string]any{"Ref": "StateKey"}}) {
			t.Errorf("StateItem condition %v, want dynamodb:LeadingKeys limited to the state key", st["Condition"])
		}
	}

	// SendCommand reaches exactly the fleet: evaluate the role's policy for
	// tag targets, and for instance IDs as a person types them (spaces after
	// the commas), with and without managed instances.
	tests := []struct {
		name   string
		ids    string
		want   []string
		tagged bool
	}{
		{name: "tag", want: []string{
			"arn:aws:ec2:us-east-1:123456789012:instance/*",
			"arn:aws:ssm:us-east-1:123456789012:managed-instance/mi-*",
			"arn:aws:ssm:us-east-1::document/AWS-RunShellScript",
		}, tagged: true},
		{name: "instance IDs", ids: "i-0123456789abcdef0, i-0fedcba9876543210", want: []string{
			"arn:*:ec2:*:*:instance/i-0123456789abcdef0",
			"arn:*:ec2:*:*:instance/i-0fedcba9876543210",
			"arn:aws:ssm:us-east-1::document/AWS-RunShellScript",
		}},
		{name: "managed instances", ids: "i-0123456789abcdef0 , mi-0123456789abcdef0", want: []string{
			"arn:*:ec2:*:*:instance/i-0123456789abcdef0",
			"arn:*:ec2:*:*:instance/mi-0123456789abcdef0",
			"arn:*:ssm:*:*:managed-instance/i-0123456789abcdef0",
			"arn:*:ssm:*:*:managed-instance/mi-0123456789abcdef0",
			"arn:aws:ssm:us-east-1::document/AWS-RunShellScript",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, raw, map[string]string{"SsmTargetInstanceIds": tt.ids})
			policies, err := s.eval(dig(raw, "Resources", "CheckerRole", "Properties", "Policies"))
			if err != nil {
				t.Fatal(err)
			}
			var sendOn []string
			tagged := false
			walk(policies, func(m map[string]any) {
				if !slices.Contains(strs(m["Action"]), "ssm:SendCommand") {
					return
				}
				sendOn = append(sendOn, strs(m["Resource"])...)
				if c := dig(m, "Condition", "StringEquals", "ssm:resourceTag/ExtCloudFailover"); c != nil {
					tagged = c == "app"
				}
			})
			sort.Strings(sendOn)
			if !slices.Equal(sendOn, tt.want) {
				t.Errorf("ssm:SendCommand on\n  %s\nwant\n  %s", strings.Join(sendOn, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if tagged != tt.tagged {
				t.Errorf("conditioned on the tag ExtCloudFailover=app: %v, want %v", tagged, tt.tagged)
			}
			env, err := s.eval(dig(raw, "Resources", "CheckerFunction", "Properties", "Environment", "Variables", "SSM_TARGETS"))
			if err != nil {
				t.Fatal(err)
			}
			if wantEnv := strings.ReplaceAll(tt.ids, " ", ""); tt.ids != "" && env != wantEnv {
				t.Errorf("SSM_TARGETS = %q, want the trimmed list %q", env, wantEnv)
			}
		})
	}
}

// refPattern finds ${Name} in Fn::Sub strings (not ${!Literal}).
var refPattern = regexp.MustCompile(`\$\{([A-Za-z0-9:]+)(\.[A-Za-z]+)?\}`)

func TestTemplateEnvironmentFromParameters(t *testing.T) {
	_, raw := openTemplate(t)
	params := asMap(raw["Parameters"])
	resources := asMap(raw["Resources"])
	vars := asMap(dig(resources, "CheckerFunction", "Properties", "Environment", "Variables"))

	for _, name := range []string{
		"EXT_CLOUD_FAILOVER_LIST", "EXT_CLOUD_REGION", "CONNECTION_KEEPALIVE_ORG_ID", "CONNECTION_KEEPALIVE_TXN_ID",
		"CLOUDLOOKUP_URL", "PROBE_TIMEOUT", "FAILOVER_THRESHOLD", "FAILOVER_MIN_INTERVAL", "STATE_TABLE", "STATE_KEY",
		"ENV_FILE", "SUPERVISOR_PROGRAMS", "SSM_TARGETS", "SSM_MAX_CONCURRENCY", "SSM_MAX_ERRORS", "LATENCY_CHECK",
		"LATENCY_SERVER", "WITNESS_URL", "DD_SITE", "DD_SERVICE", "SSM_COMMAND_TIMEOUT", "OUTAGE_MAX_GAP", "RECOVERY_PROBES",
		"FAILBACK", "FAILBACK_AFTER", "FAILOVER_BUDGET", "PREFLIGHT_URL", "ENV_FILE_FORMAT",
	} {
		if _, ok := vars[name]; !ok {
			t.Errorf("environment variable %s is not set", name)
		}
	}
	if _, ok := vars["DD_API_KEY"]; ok {
		t.Error("DD_API_KEY is set: the plain key must never be a parameter (use DD_KMS_API_KEY)")
	}

	used := map[string]bool{}
	walk(resources, func(m map[string]any) {
		for _, n := range refs(m) {
			used[n] = true
		}
	})
	walk(raw["Conditions"], func(m map[string]any) {
		for _, n := range refs(m) {
			used[n] = true
		}
	})
	for name, v := range vars {
		var names []string
		if s, ok := v.(string); ok {
			t.Errorf("%s = %q is a literal; every value comes from a parameter", name, s)
			continue
		}
		walk(v, func(m map[string]any) { names = append(names, refs(m)...) })
		if len(names) == 0 {
			t.Errorf("%s = %v names no parameter", name, v)
		}
		for _, n := range names {
			_, isParam := params[n]
			_, isResource := resources[n]
			if !isParam && !isResource && !strings.HasPrefix(n, "AWS::") {
				t.Errorf("%s refers to %q, which is neither a parameter nor a resource", name, n)
			}
		}
	}
	for name := range params {
		if !used[name] {
			t.Errorf("parameter %s is never used", name)
		}
	}
}

// refs returns the names m refers to itself (not in its children): a Ref, an
// Fn::GetAtt, the ${Name} of an Fn::Sub.
func refs(m map[string]any) []string {
	var out []string
	if r, ok := m["Ref"].(string); ok {
		out = append(out, r)
	}
	if g, ok := m["Fn::GetAtt"].(string); ok {
		out = append(out, strings.SplitN(g, ".", 2)[0])
	}
	sub := m["Fn::Sub"]
	if l, ok := sub.([]any); ok && len(l) > 0 {
		sub = l[0] // the variables of the long form are walked as children
	}
	if s, ok := sub.(string); ok {
		for _, mm := range refPattern.FindAllStringSubmatch(s, -1) {
			out = append(out, mm[1])
		}
	}
	return out
}

// invocation is one Lambda invocation the state machine makes.
type invocation struct {
	waited         int
	function       string
	payload        map[string]any
	retryOn        []string
	catch          []string
	maxConcurrency int
}

func (inv invocation) String() string {
	p, _ := json.Marshal(inv.payload)
	return fmt.Sprintf("wait %ds, invoke %s with %s", inv.waited, inv.function, p)
}

// simulate runs an Amazon States Language definition just far enough for this
// template: Pass, Map (ItemsPath, ItemSelector), Wait (SecondsPath) and Task
// (lambda:invoke with Parameters), following Next until End.
func simulate(t *testing.T, def map[string]any, input any) []invocation {
	t.Helper()
	var out []invocation
	var run func(def map[string]any, input any, waited int, maxConc int)
	run = func(def map[string]any, input any, waited int, maxConc int) {
		states := asMap(def["States"])
		name, _ := def["StartAt"].(string)
		for steps := 0; name != "" && steps < 20; steps++ {
			st := asMap(states[name])
			if st == nil {
				t.Fatalf("state %q does not exist", name)
			}
			switch st["Type"] {
			case "Pass":
				if r, ok := st["Result"]; ok {
					input = r
				}
			case "Map":
				items := asSlice(path(t, st["ItemsPath"], input, nil))
				if len(items) == 0 {
					t.Fatalf("Map %s: ItemsPath %v selects no items from %v", name, st["ItemsPath"], input)
				}
				proc := asMap(st["ItemProcessor"])
				if proc == nil {
					proc = asMap(st["Iterator"])
				}
				conc, _ := st["MaxConcurrency"].(float64)
				for _, item := range items {
					in := item
					if sel := asMap(st["ItemSelector"]); sel != nil {
						in = render(t, sel, input, map[string]any{"Map": map[string]any{"Item": map[string]any{"Value": item}}})
					}
					run(proc, in, waited, int(conc))
				}
			case "Wait":
				secs, ok := path(t, st["SecondsPath"], input, nil).(float64)
				if !ok {
					s, _ := st["Seconds"].(float64)
					secs = s
				}
				waited += int(secs)
			case "Task":
				if st["Resource"] != "arn:aws:states:::lambda:invoke" {
					t.Fatalf("Task %s: resource %v, want arn:aws:states:::lambda:invoke", name, st["Resource"])
				}
				params := render(t, asMap(st["Parameters"]), input, nil)
				inv := invocation{waited: waited, function: fmt.Sprint(params["FunctionName"]), payload: asMap(params["Payload"]), maxConcurrency: maxConc}
				for _, r := range asSlice(st["Retry"]) {
					inv.retryOn = append(inv.retryOn, strs(asMap(r)["ErrorEquals"])...)
				}
				for _, c := range asSlice(st["Catch"]) {
					inv.catch = append(inv.catch, strs(asMap(c)["ErrorEquals"])...)
				}
				out = append(out, inv)
			default:
				t.Fatalf("state %s: type %v is not simulated", name, st["Type"])
			}
			if st["End"] == true {
				return
			}
			name, _ = st["Next"].(string)
		}
		t.Fatalf("state machine did not reach End")
	}
	run(def, input, 0, 0)
	return out
}

// render evaluates a Parameters/ItemSelector template: keys ending in .$ are
// paths into input ($.x) or the context object ($$.x).
func render(t *testing.T, tmpl map[string]any, input, ctxObj any) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, v := range tmpl {
		switch {
		case strings.HasSuffix(k, ".$"):
			out[strings.TrimSuffix(k, ".$")] = path(t, v, input, ctxObj)
		case asMap(v) != nil:
			out[k] = render(t, asMap(v), input, ctxObj)
		default:
			out[k] = v
		}
	}
	return out
}

// path evaluates the dotted JSONPath subset $.a.b and $$.a.b.
func path(t *testing.T, p, input, ctxObj any) any {
	t.Helper()
	s, _ := p.(string)
	cur := input
	switch {
	case strings.HasPrefix(s, "$$."):
		cur, s = ctxObj, s[3:]
	case strings.HasPrefix(s, "$."):
		s = s[2:]
	case s == "$":
		return input
	default:
		return nil
	}
	for _, part := range strings.Split(s, ".") {
		cur = asMap(cur)[part]
	}
	return cur
}

func walk(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(x)
		for _, c := range x {
			walk(c, fn)
		}
	case []any:
		for _, c := range x {
			walk(c, fn)
		}
	}
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		v = asMap(v)[k]
	}
	return v
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func asSlice(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// strs reads an IAM Action or ErrorEquals: a string or a list of strings.
func strs(v any) []string {
	var out []string
	for _, x := range asSlice(v) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// TestTemplateDefaultsAreValid resolves the function's environment from the
// parameters' defaults (and sample values for the required ones) and loads
// it as the function does: every variable must be one the function reads,
// and the defaults must make a valid configuration.
func TestTemplateDefaultsAreValid(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]string
		want      func(*config.Config) string
	}{
		{name: "tag targets", overrides: map[string]string{},
			want: func(c *config.Config) string {
				if len(c.SSMTargets) != 1 || c.SSMTargets[0] != (ident.SSMTarget{TagKey: "ExtCloudFailover", TagValue: "app"}) {
					return fmt.Sprintf("SSM targets %+v, want tag:ExtCloudFailover=app", c.SSMTargets)
				}
				return ""
			}},
		{name: "instance targets", overrides: map[string]string{"SsmTargetInstanceIds": "i-0123456789abcdef0, i-0123456789abcdef1"},
			want: func(c *config.Config) string {
				if len(c.SSMTargets) != 2 || c.SSMTargets[1].InstanceID != "i-0123456789abcdef1" {
					return fmt.Sprintf("SSM targets %+v, want the two instances", c.SSMTargets)
				}
				return ""
			}},
	}
	var usage strings.Builder
	for _, v := range config.Variables() {
		usage.WriteString("(env " + v.Env + ")\n")
	}
	readByDatadog := []string{"DD_KMS_API_KEY", "DD_ENHANCED_METRICS"} // datadog-lambda-go reads them itself
	_, raw := openTemplate(t)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			overrides := map[string]string{"FailoverList": "NAM=nam.example.net,EU=eu.example.net,APAC=apac.example.net", "OrgId": "1234", "TxnId": "keepalive-1"}
			maps.Copy(overrides, tt.overrides)
			vars, err := newStack(t, raw, overrides).eval(dig(raw, "Resources", "CheckerFunction", "Properties", "Environment", "Variables"))
			if err != nil {
				t.Fatal(err)
			}
			env := map[string]string{}
			for name, v := range asMap(vars) {
				env[name] = fmt.Sprint(v)
				if !strings.Contains(usage.String(), "(env "+name+")") && !slices.Contains(readByDatadog, name) {
					t.Errorf("template sets %s, which the function does not read", name)
				}
			}
			if env["STATE_TABLE"] != "<StateTable>" {
				t.Fatalf("STATE_TABLE = %q, want the table's Ref", env["STATE_TABLE"])
			}
			env["STATE_TABLE"] = "stack-StateTable-ABC123" // the Ref, as CloudFormation resolves it
			cfg, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if err == nil {
				err = cfg.ValidateLambda()
			}
			if err != nil {
				t.Fatalf("the template's defaults are not a valid configuration: %v", err)
			}
			if msg := tt.want(cfg); msg != "" {
				t.Error(msg)
			}
			if cfg.FailoverThreshold != 4*time.Minute || cfg.ProbeTimeout >= 9*time.Second {
				t.Errorf("threshold %v, probe timeout %v: want 4m and below the function timeout", cfg.FailoverThreshold, cfg.ProbeTimeout)
			}
			if cfg.SSMCommandTimeout != 300*time.Second {
				t.Errorf("SSM command timeout %v, want 300s", cfg.SSMCommandTimeout)
			}
		})
	}
}
