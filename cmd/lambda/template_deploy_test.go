package main

// Tests that template.yaml deploys twice in one account and region, refuses
// bad input at deploy time, pages through alarms, and renders a state machine
// definition that asl-validator accepts.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// physicalNames are the properties that name a resource in the account: a
// fixed value there makes a second stack fail to create.
var physicalNames = []string{"FunctionName", "LogGroupName", "TableName", "RoleName", "StateMachineName",
	"AlarmName", "TopicName", "Name", "ScheduleName", "FilterName"}

func TestTemplateNoFixedNames(t *testing.T) {
	_, raw := openTemplate(t)
	checked := 0
	for name, r := range asMap(raw["Resources"]) {
		props := asMap(asMap(r)["Properties"])
		for _, key := range physicalNames {
			v, ok := props[key]
			if !ok {
				continue
			}
			checked++
			if ref, _ := dig(v, "Ref").(string); asMap(raw["Resources"])[ref] != nil {
				continue // another resource's name, itself checked
			}
			if sub, _ := dig(v, "Fn::Sub").(string); !strings.Contains(sub, "${AWS::StackName}") {
				t.Errorf("%s.%s = %v: a fixed name; leave it out or derive it from ${AWS::StackName}", name, key, v)
			}
		}
		for ev, e := range asMap(props["Events"]) {
			ep := asMap(asMap(e)["Properties"])
			if _, ok := ep["Name"]; ok {
				t.Errorf("%s event %s sets Name: a fixed name", name, ev)
			}
			if asMap(e)["Type"] == "ScheduleV2" && ep["OmitName"] != true {
				t.Errorf("%s event %s: OmitName is not true, so SAM names the schedule after its logical ID", name, ev)
			}
		}
	}
	if checked < 3 {
		t.Fatalf("checked %d names; the function and both log groups are named", checked)
	}
}

func TestTemplateRetention(t *testing.T) {
	_, raw := openTemplate(t)
	res := asMap(raw["Resources"])
	if dig(res, "StateTable", "Properties", "DeletionProtectionEnabled") != true {
		t.Error("StateTable: DeletionProtectionEnabled is not true")
	}
	groups := 0
	for name, r := range res {
		if asMap(r)["Type"] != "AWS::Logs::LogGroup" && asMap(r)["Type"] != "AWS::DynamoDB::Table" {
			continue
		}
		if asMap(r)["Type"] == "AWS::Logs::LogGroup" {
			groups++
			if dig(r, "Properties", "RetentionInDays") == nil {
				t.Errorf("%s keeps its logs forever: no RetentionInDays", name)
			}
		}
		for _, p := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
			if asMap(r)[p] != "Retain" {
				t.Errorf("%s %s = %v, want Retain", name, p, asMap(r)[p])
			}
		}
	}
	if groups != 2 {
		t.Errorf("%d log groups, want 2 (the function's and the state machine's)", groups)
	}
	fn := asMap(dig(res, "CheckerFunction", "Properties"))
	if !reflect.DeepEqual(fn["ReservedConcurrentExecutions"], map[string]any{"Ref": "ReservedConcurrency"}) {
		t.Errorf("ReservedConcurrentExecutions = %v, want the ReservedConcurrency parameter", fn["ReservedConcurrentExecutions"])
	}
	if d := dig(raw, "Parameters", "ReservedConcurrency", "Default"); d != 5.0 {
		t.Errorf("ReservedConcurrency default %v, want 5", d)
	}
	logging := asMap(dig(res, "CheckerStateMachine", "Properties", "Logging"))
	if logging["Level"] != "ERROR" || !reflect.DeepEqual(dig(asSlice(logging["Destinations"])[0], "CloudWatchLogsLogGroup", "LogGroupArn"),
		map[string]any{"Fn::GetAtt": "CheckerStateMachineLogGroup.Arn"}) {
		t.Errorf("state machine logging %v, want Level ERROR to its own log group", logging)
	}
	if fn["Role"] == nil || fn["Policies"] != nil {
		t.Errorf("function role %v, policies %v: want its own role (SAM's default grants logs on *)", fn["Role"], fn["Policies"])
	}
}

// alarms are the alarms the stack creates with a topic, by resource name,
// with what each must watch.
var alarms = map[string]struct {
	metric, op string
	threshold  float64
	missing    string
	filter     string // the metric filter's pattern, for the checker's own figures
}{
	"ErrorsAlarm":          {metric: "Errors", op: "GreaterThanOrEqualToThreshold", threshold: 1, missing: "notBreaching"},
	"ThrottlesAlarm":       {metric: "Throttles", op: "GreaterThanOrEqualToThreshold", threshold: 1, missing: "notBreaching"},
	"HeartbeatAlarm":       {metric: "Checks", op: "LessThanThreshold", threshold: 4, missing: "breaching", filter: `{ $.message = "check complete" }`},
	"FailoverAlarm":        {metric: "Failovers", op: "GreaterThanOrEqualToThreshold", threshold: 1, missing: "notBreaching", filter: `$.action = "failover"`},
	"AllDownAlarm":         {metric: "AllDown", op: "GreaterThanOrEqualToThreshold", threshold: 1, missing: "notBreaching", filter: `$.action = "all_down"`},
	"PushPendingAlarm":     {metric: "PendingPush", op: "GreaterThanOrEqualToThreshold", threshold: 1, missing: "notBreaching", filter: `$.action = "pending_push"`},
	"BudgetExhaustedAlarm": {metric: "BudgetExhausted", op: "GreaterThanOrEqualToThreshold", threshold: 1, missing: "notBreaching", filter: `$.action = "budget_exhausted"`},
}

func TestTemplateAlarms(t *testing.T) {
	_, raw := openTemplate(t)
	res := asMap(raw["Resources"])
	var present []string
	filters := map[string]string{} // metric name -> pattern
	for name, r := range res {
		switch asMap(r)["Type"] {
		case "AWS::CloudWatch::Alarm":
			present = append(present, name)
		case "AWS::Logs::MetricFilter":
			if !reflect.DeepEqual(dig(r, "Properties", "LogGroupName"), map[string]any{"Ref": "CheckerLogGroup"}) {
				t.Errorf("%s reads %v, want the function's log group", name, dig(r, "Properties", "LogGroupName"))
			}
			for _, m := range asSlice(dig(r, "Properties", "MetricTransformations")) {
				filters[fmt.Sprint(dig(m, "MetricName"))] = fmt.Sprint(dig(r, "Properties", "FilterPattern"))
			}
		}
	}
	slices.Sort(present)
	var want []string
	for name := range alarms {
		want = append(want, name)
	}
	slices.Sort(want)
	if !slices.Equal(present, want) {
		t.Fatalf("alarms %v, want %v", present, want)
	}
	for name, w := range alarms {
		p := asMap(dig(res, name, "Properties"))
		if p["MetricName"] != w.metric || p["ComparisonOperator"] != w.op || p["Threshold"] != w.threshold || p["TreatMissingData"] != w.missing {
			t.Errorf("%s watches %v %v %v (missing data %v), want %s %s %v (%s)", name, p["MetricName"], p["ComparisonOperator"],
				p["Threshold"], p["TreatMissingData"], w.metric, w.op, w.threshold, w.missing)
		}
		if w.filter != "" && !strings.Contains(filters[w.metric], w.filter) || w.filter != "" && !strings.Contains(filters[w.metric], `$.message = "check complete"`) {
			t.Errorf("%s: metric %s comes from the pattern %q, want one on check complete lines with %s", name, w.metric, filters[w.metric], w.filter)
		}
	}
	heartbeat := asMap(dig(res, "HeartbeatAlarm", "Properties"))
	if heartbeat["Period"] != 120.0 || heartbeat["EvaluationPeriods"] != 1.0 {
		t.Errorf("heartbeat over %v s x %v, want fewer than 4 in one 2-minute period", heartbeat["Period"], heartbeat["EvaluationPeriods"])
	}
	pending := asMap(dig(res, "PushPendingAlarm", "Properties"))
	if pending["Period"] != 60.0 || pending["EvaluationPeriods"] != 5.0 || pending["DatapointsToAlarm"] != 5.0 {
		t.Errorf("pending push alarm over %v s x %v (%v to alarm), want 5 minutes in a row", pending["Period"], pending["EvaluationPeriods"], pending["DatapointsToAlarm"])
	}

	const topic = "arn:aws:sns:us-east-1:123456789012:on-call"
	for _, tt := range []struct {
		name  string
		topic string
	}{{"with a topic", topic}, {"without a topic", ""}} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, raw, map[string]string{"AlarmTopicArn": tt.topic})
			for name, r := range res {
				kind := asMap(r)["Type"]
				if kind != "AWS::CloudWatch::Alarm" && kind != "AWS::Logs::MetricFilter" {
					continue
				}
				if got := s.has(t, name); got != (tt.topic != "") {
					t.Errorf("%s created: %v, want %v", name, got, tt.topic != "")
				}
				if kind != "AWS::CloudWatch::Alarm" || tt.topic == "" {
					continue
				}
				actions, err := s.eval(dig(r, "Properties", "AlarmActions"))
				if err != nil || !reflect.DeepEqual(actions, []any{topic}) {
					t.Errorf("%s AlarmActions = %v (%v), want [%s]", name, actions, err, topic)
				}
			}
		})
	}
}

// TestTemplateDurationParameters: every duration parameter refuses at deploy
// time what is no Go duration, its default passes its own pattern, and its
// description says the default.
func TestTemplateDurationParameters(t *testing.T) {
	_, raw := openTemplate(t)
	params := asMap(raw["Parameters"])
	// The parameters that hold a Go duration, by the variable they set.
	var durations []string
	for name, p := range params {
		if d, ok := asMap(p)["Default"].(string); ok {
			if _, err := time.ParseDuration(d); err == nil {
				durations = append(durations, name)
			}
		}
	}
	slices.Sort(durations)
	want := []string{"FailbackAfter", "FailoverMinInterval", "FailoverThreshold", "LatencyInterval", "LatencyTimeout", "OutageMaxGap", "ProbeInterval", "ProbeTimeout", "SsmCommandTimeout"}
	for _, w := range want {
		if !slices.Contains(durations, w) {
			t.Errorf("%s is not a duration parameter with a duration default", w)
		}
	}
	notDurations := []string{"4 minutes", "5", "1d", "10 s", "-5s", "4m;reboot", "", "s", "1.s"}
	for _, name := range durations {
		p := asMap(params[name])
		pattern, _ := p["AllowedPattern"].(string)
		if pattern == "" {
			t.Errorf("%s has no AllowedPattern: a mistyped duration would deploy and fail every check", name)
			continue
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			t.Errorf("%s AllowedPattern %q: %v", name, pattern, err)
			continue
		}
		def := p["Default"].(string)
		if !re.MatchString(def) {
			t.Errorf("%s default %q does not match its own AllowedPattern %q", name, def, pattern)
		}
		if desc, _ := p["Description"].(string); !strings.Contains(desc, "Default "+def+".") {
			t.Errorf("%s description %q does not say its default (%q)", name, desc, "Default "+def+".")
		}
		if p["ConstraintDescription"] == nil {
			t.Errorf("%s has no ConstraintDescription: the deploy error would show the pattern", name)
		}
		for _, bad := range notDurations {
			if re.MatchString(bad) {
				t.Errorf("%s AllowedPattern accepts %q, which is no Go duration", name, bad)
			}
		}
	}
	// No accepted combination makes a failover impossible: PROBE_INTERVAL at
	// least the 10-second cadence, OUTAGE_MAX_GAP at least PROBE_INTERVAL
	// (the function's own rule) and longer than two checks, a threshold
	// spanning several checks.
	pattern := func(name string) *regexp.Regexp {
		return regexp.MustCompile(asMap(params[name])["AllowedPattern"].(string))
	}
	samples := []string{"0", "0s", "1s", "5s", "9s", "9.9s", "05s", "500ms", "10s", "15s", "30s", "59s", "60s", "1m", "61s", "90s",
		"1m30s", "2m", "4m", "120s", "5m", "10m", "1h", "2h"}
	accepted := func(name string) []time.Duration {
		var out []time.Duration
		for _, s := range samples {
			if pattern(name).MatchString(s) {
				d, err := time.ParseDuration(s)
				if err != nil {
					t.Fatalf("%s accepts %q: %v", name, s, err)
				}
				out = append(out, d)
			}
		}
		return out
	}
	intervals, gaps, thresholds := accepted("ProbeInterval"), accepted("OutageMaxGap"), accepted("FailoverThreshold")
	if !slices.Contains(intervals, 10*time.Second) || !slices.Contains(gaps, 90*time.Second) || !slices.Contains(thresholds, 4*time.Minute) {
		t.Fatalf("the defaults are refused: intervals %v, gaps %v, thresholds %v", intervals, gaps, thresholds)
	}
	const cadence = 10 * time.Second
	for _, i := range intervals {
		if i < cadence {
			t.Errorf("ProbeInterval accepts %v, below the %v cadence", i, cadence)
		}
		for _, g := range gaps {
			if g < i || g <= 2*cadence {
				t.Errorf("ProbeInterval %v with OutageMaxGap %v: the gap would restart the outage clock at every check", i, g)
			}
		}
		for _, th := range thresholds {
			if th < i {
				t.Errorf("ProbeInterval %v with FailoverThreshold %v: the function refuses a threshold below the interval", i, th)
			}
		}
	}
	// Every value the patterns accept is a duration the function accepts.
	for _, name := range durations {
		re := regexp.MustCompile(asMap(params[name])["AllowedPattern"].(string))
		for _, s := range []string{"0", "1s", "3s", "1500ms", "10s", "4m", "1h30m", "300s", "48h"} {
			if re.MatchString(s) {
				if _, err := time.ParseDuration(s); err != nil {
					t.Errorf("%s accepts %q, which is no Go duration", name, s)
				}
			}
		}
	}
}

func TestTemplateRules(t *testing.T) {
	_, raw := openTemplate(t)
	asserts := asSlice(dig(raw, "Rules", "DatadogKeyWithItsKmsKey", "Assertions"))
	if len(asserts) != 1 {
		t.Fatalf("DatadogKeyWithItsKmsKey assertions %v, want one", asserts)
	}
	const key, arn = "AQICAHh...", "arn:aws:kms:us-east-1:123456789012:key/0b6f"
	for _, tt := range []struct {
		key, arn string
		ok       bool
	}{{"", "", true}, {key, arn, true}, {key, "", false}, {"", arn, false}} {
		s := newStack(t, raw, map[string]string{"DatadogKmsApiKey": tt.key, "DatadogKmsKeyArn": tt.arn})
		ok, err := s.boolean(asMap(asserts[0])["Assert"])
		if err != nil {
			t.Fatal(err)
		}
		if ok != tt.ok {
			t.Errorf("key %q, key ARN %q: rule holds %v, want %v", tt.key, tt.arn, ok, tt.ok)
		}
	}
	for _, bad := range []string{"i-0123 4", "i-xyz", "mi-0123", "i-0123456789abcdef0;reboot"} {
		re := regexp.MustCompile(dig(raw, "Parameters", "SsmTargetInstanceIds", "AllowedPattern").(string))
		if re.MatchString(bad) {
			t.Errorf("SsmTargetInstanceIds accepts the entry %q", bad)
		}
	}
}

// aslValidator is the pinned asl-validator `make tools` installs.
const aslValidator = "../../tools/asl-validator/node_modules/.bin/asl-validator"

// TestTemplateStateMachineDefinitionValid renders the definition as
// CloudFormation does (DefinitionSubstitutions applied) and runs
// asl-validator on it; a broken copy must be refused, or the check proves
// nothing.
func TestTemplateStateMachineDefinitionValid(t *testing.T) {
	if _, err := os.Stat(aslValidator); err != nil {
		t.Fatalf("asl-validator not installed (run `make tools`): %v", err)
	}
	_, raw := openTemplate(t)
	props := asMap(dig(raw, "Resources", "CheckerStateMachine", "Properties"))
	def, err := json.Marshal(props["Definition"])
	if err != nil {
		t.Fatal(err)
	}
	rendered := string(def)
	for name := range asMap(props["DefinitionSubstitutions"]) {
		rendered = strings.ReplaceAll(rendered, "${"+name+"}", "arn:aws:lambda:us-east-1:123456789012:function:fleet-a-checker")
	}
	if strings.Contains(rendered, "${") {
		t.Fatalf("rendered definition still holds a substitution: %s", rendered)
	}
	validate := func(doc string) (string, error) {
		p := filepath.Join(t.TempDir(), "definition.json")
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(aslValidator, "--json-path", p).CombinedOutput()
		return string(out), err
	}
	if out, err := validate(rendered); err != nil {
		t.Fatalf("asl-validator refuses the definition: %v\n%s\n%s", err, out, rendered)
	}
	broken := strings.Replace(rendered, `"Next":"EveryTenSeconds"`, `"Next":"NoSuchState"`, 1)
	if broken == rendered {
		t.Fatal("could not break the definition for the control case")
	}
	if out, err := validate(broken); err == nil {
		t.Fatalf("asl-validator accepts a definition whose Next names no state:\n%s", out)
	}
}
