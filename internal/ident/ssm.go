// This file holds what SSM Run Command is given: instance IDs, SSM targets
// (SSM_TARGETS), the MaxConcurrency and MaxErrors limits and the command
// timeout (executionTimeout).

package ident

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// InstanceID checks an instance ID: an EC2 instance, i- and 8 or 17
// lower-case hex digits (i-0123456789abcdef0), or a managed instance of
// Systems Manager, mi- and 17 (mi-0123456789abcdef0). See
// IsManagedInstance: IAM names the two kinds with different ARNs.
func InstanceID(s string) error {
	hex, ok := strings.CutPrefix(s, "i-")
	if ok {
		ok = len(hex) == 8 || len(hex) == 17
	} else if hex, ok = strings.CutPrefix(s, "mi-"); ok {
		ok = len(hex) == 17
	}
	for i := 0; ok && i < len(hex); i++ {
		ok = lowerHex(hex[i])
	}
	if !ok {
		return fmt.Errorf("%s is not an instance ID (want i- and 8 or 17 lower-case hex digits, or mi- and 17, e.g. i-0123456789abcdef0)", Quote(s))
	}
	return nil
}

// IsManagedInstance reports whether a valid instance ID names a managed
// instance (mi-...), whose ARN is ...:managed-instance/mi-..., rather than
// an EC2 instance (...:instance/i-...).
func IsManagedInstance(id string) bool { return strings.HasPrefix(id, "mi-") }

// Longest tag key and value SSM accepts.
const (
	MaxTagKey   = 128
	MaxTagValue = 256
)

// SSMTarget selects hosts for SSM Run Command: a tag (TagKey, TagValue) or
// one InstanceID. It is one entry of SSM_TARGETS.
type SSMTarget struct {
	TagKey     string
	TagValue   string
	InstanceID string
}

// String returns the target as SSM_TARGETS spells it: tag:Key=Value or the
// instance ID.
func (t SSMTarget) String() string {
	if t.InstanceID != "" {
		return t.InstanceID
	}
	return "tag:" + t.TagKey + "=" + t.TagValue
}

// Check reports whether t is exactly one of a valid tag and a valid
// instance ID.
func (t SSMTarget) Check() error {
	switch {
	case t.InstanceID != "" && t.TagKey == "" && t.TagValue == "":
		return InstanceID(t.InstanceID)
	case t.InstanceID == "" && !strings.Contains(t.TagKey, "="):
		_, err := ParseSSMTarget(t.String())
		return err
	}
	return fmt.Errorf("tag key %s, tag value %s and instance ID %s (want a tag or an instance ID, not both)",
		Quote(t.TagKey), Quote(t.TagValue), Quote(t.InstanceID))
}

// ParseSSMTarget parses one entry of SSM_TARGETS: tag:Key=Value (a key of
// at most MaxTagKey and a value of at most MaxTagValue of
// A-Z a-z 0-9 _ . : / + @ = -) or an InstanceID.
func ParseSSMTarget(s string) (SSMTarget, error) {
	shown := Quote(s)
	tag, isTag := strings.CutPrefix(s, "tag:")
	if !isTag {
		if InstanceID(s) != nil {
			return SSMTarget{}, fmt.Errorf("%s: want tag:Key=Value or an instance ID (e.g. tag:Role=app or i-0123456789abcdef0)", shown)
		}
		return SSMTarget{InstanceID: s}, nil
	}
	if err := checkChars(tag, shown, tagChars); err != nil {
		return SSMTarget{}, err
	}
	k, v, ok := strings.Cut(tag, "=")
	if !ok || k == "" || v == "" || len(k) > MaxTagKey || len(v) > MaxTagValue {
		return SSMTarget{}, fmt.Errorf("%s: want tag:Key=Value (e.g. tag:Role=app)", shown)
	}
	return SSMTarget{TagKey: k, TagValue: v}, nil
}

// SSMMaxConcurrency checks SendCommand's MaxConcurrency: a count 1-999999
// or a percentage 1%-100%. 0 and 0% are refused, as SSM refuses them: they
// would send to no host.
func SSMMaxConcurrency(s string) error {
	if !ssmLimit(s, 1) {
		return fmt.Errorf("%s is not a count or percentage (want e.g. 50 or 10%%)", Quote(s))
	}
	return nil
}

// SSMMaxErrors checks SendCommand's MaxErrors: a count 0-999999 or a
// percentage 0%-100%.
func SSMMaxErrors(s string) error {
	if !ssmLimit(s, 0) {
		return fmt.Errorf("%s is not a count or percentage (want e.g. 0, 5 or 100%%)", Quote(s))
	}
	return nil
}

// ssmLimit reports whether s is a count of at most six digits or a
// percentage up to 100%, at least min, without leading zeros.
func ssmLimit(s string, min int) bool {
	n, pct := strings.CutSuffix(s, "%")
	if n == "" || len(n) > 6 || len(n) > 1 && n[0] == '0' {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !digit(n[i]) {
			return false
		}
	}
	v, err := strconv.Atoi(n)
	return err == nil && v >= min && (!pct || v <= 100)
}

// MaxSSMCommandTimeout is SSM's limit on a command's executionTimeout.
const MaxSSMCommandTimeout = 48 * time.Hour

// SSMCommandTimeout checks a command's executionTimeout: whole seconds from
// 1s to 48h, as AWS-RunShellScript takes it.
func SSMCommandTimeout(d time.Duration) error {
	if d < time.Second || d > MaxSSMCommandTimeout || d%time.Second != 0 {
		return fmt.Errorf("%s is out of range (want whole seconds from 1s to 48h, e.g. 300s)", d)
	}
	return nil
}
