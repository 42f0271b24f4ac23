package ident

import (
	"strings"
	"testing"
	"time"
)

// rule is one validator under test, with its accepted values and the exact
// message of each refused one ("" in bad means any refusal).
type rule struct {
	name  string
	check func(string) error
	good  []string
	bad   map[string]string
}

func (r rule) run(t *testing.T) {
	t.Helper()
	t.Run(r.name, func(t *testing.T) {
		t.Parallel()
		for _, s := range r.good {
			if err := r.check(s); err != nil {
				t.Errorf("%s(%q) = %v, want nil", r.name, s, err)
			}
		}
		for s, want := range r.bad {
			err := r.check(s)
			if err == nil {
				t.Errorf("%s(%q) accepted", r.name, s)
				continue
			}
			if want != "" && err.Error() != want {
				t.Errorf("%s(%.60q)\n got: %s\nwant: %s", r.name, s, err, want)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\n\r\x00") || len(msg) > 300 {
				t.Errorf("%s(%.60q): message not one short line: %q", r.name, s, msg)
			}
		}
	})
}

func TestRules(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 300)
	rules := []rule{
		{name: "Region", check: Region,
			good: []string{"NAM", "EU", "APAC", "EU_2", "A", "ABCDEFGHIJKLMNOP"},
			bad: map[string]string{
				"":                  `"" is not an upper-case name (want A-Z, 0-9 and _, starting with a letter, at most 16, e.g. EU)`,
				"eu":                `"eu" is not an upper-case name (want A-Z, 0-9 and _, starting with a letter, at most 16, e.g. EU)`,
				"1EU":               `"1EU" is not an upper-case name (want A-Z, 0-9 and _, starting with a letter, at most 16, e.g. EU)`,
				"_EU":               `"_EU" is not an upper-case name (want A-Z, 0-9 and _, starting with a letter, at most 16, e.g. EU)`,
				"ABCDEFGHIJKLMNOPQ": `"ABCDEFGHIJKLMNOPQ" is not an upper-case name (want A-Z, 0-9 and _, starting with a letter, at most 16, e.g. EU)`,
				"EU;reboot":         `"EU;reboot" is not an upper-case name (want A-Z, 0-9 and _, starting with a letter, at most 16, e.g. EU)`,
				"EU-2":              `"EU-2" is not an upper-case name (want A-Z, 0-9 and _, starting with a letter, at most 16, e.g. EU)`,
			}},
		{name: "Cloud", check: Cloud,
			good: []string{"nam.example.com", "nam.example.com:8443", "127.0.0.1", "127.0.0.1:8443", "localhost", "c",
				"[::1]:8443", "[::1]", "[2001:db8::1]:443", "https://eu.example.com/base", "http://127.0.0.1:8080/nam",
				"http://[::1]:8080/nam", "https://[::1]", "https://eu.example.com/a_b/c-d.e"},
			bad: map[string]string{
				"":                         `"": want a host name (letters, digits, . and -; e.g. eu.example.com)`,
				"nam example.com":          `"nam example.com": character ' ' not allowed (want A-Z a-z 0-9 _ . : / -)`,
				"nam.example.com:70000":    `"nam.example.com:70000": port must be 1-65535`,
				"nam.example.com:0":        `"nam.example.com:0": port must be 1-65535`,
				"nam.example.com:08443":    `"nam.example.com:08443": port must be 1-65535`,
				"-nam.example.com":         `"-nam.example.com": want a host name (letters, digits, . and -; e.g. eu.example.com)`,
				"nam..example.com":         `"nam..example.com": want a host name (letters, digits, . and -; e.g. eu.example.com)`,
				"ftp://nam.example.com":    `"ftp://nam.example.com": scheme must be http or https`,
				"https://u:p@nam.example":  `"https://u:p@nam.example": character '@' not allowed (want A-Z a-z 0-9 _ . : / -)`,
				"nam.example.com/x":        `"nam.example.com/x": want host[:port] or http(s)://host[:port][/path]`,
				"https:///x":               `"https:///x": want a host name (letters, digits, . and -; e.g. eu.example.com)`,
				"$(reboot)":                `"$(reboot)": character '$' not allowed (want A-Z a-z 0-9 _ . : / -)`,
				"a.example.com\nEU=b":      `"a.example.com\nEU=b": character '\n' not allowed (want A-Z a-z 0-9 _ . : / -)`,
				"a.example\xff":            `"a.example\xff": byte 0xff (not UTF-8) not allowed (want A-Z a-z 0-9 _ . : / -)`,
				long:                       `"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"…: 300 bytes (want at most 255)`,
				"::1:8443":                 `"::1:8443": want a host name (letters, digits, . and -; e.g. eu.example.com)`,
				"[::1]:0":                  `"[::1]:0": port must be 1-65535`,
				"[::1]8443":                `"[::1]8443": want [IPv6]:port (e.g. [::1]:8443)`,
				"[127.0.0.1]:8443":         `"[127.0.0.1]:8443": want an IPv6 address in brackets (e.g. [::1]:8443)`,
				"[::1":                     `"[::1": want an IPv6 address in brackets (e.g. [::1]:8443)`,
				"[nope]:1":                 `"[nope]:1": want an IPv6 address in brackets (e.g. [::1]:8443)`,
				"[fe80::1%eth0]:8443":      `"[fe80::1%eth0]:8443": character '%' not allowed (want A-Z a-z 0-9 _ . : / -)`,
				"https://h.example/[x]":    `"https://h.example/[x]": character '[' not allowed (want A-Z a-z 0-9 _ . : / -)`,
				"https://[::1]/p[":         `"https://[::1]/p[": character '[' not allowed (want A-Z a-z 0-9 _ . : / -)`,
				"a[b":                      `"a[b": character '[' not allowed (want A-Z a-z 0-9 _ . : / -)`,
				"[::1]:8443/x":             `"[::1]:8443/x": want host[:port] or http(s)://host[:port][/path]`,
				"https://[::1]]:8443/":     `"https://[::1]]:8443/": character ']' not allowed (want A-Z a-z 0-9 _ . : / -)`,
				"https://nam.example.com:": `"https://nam.example.com:": port must be 1-65535`,
			}},
		{name: "HostPort", check: HostPort,
			good: []string{"dd-agent", "dd-agent:8125", "a.b:1234", "127.0.0.1:8125", "[::1]:8125", "[::1]"},
			bad: map[string]string{
				"agent:x": "port must be 1-65535",
				"agent:":  "port must be 1-65535",
				"":        "want a host name (letters, digits, . and -; e.g. eu.example.com)",
				"a_b:1":   "want a host name (letters, digits, . and -; e.g. eu.example.com)",
				"[::1]:x": "port must be 1-65535",
				"[::1]x":  "want [IPv6]:port (e.g. [::1]:8443)",
				"[zz]:1":  "want an IPv6 address in brackets (e.g. [::1]:8443)",
				"a:1:2":   "port must be 1-65535",
			}},
		{name: "Program", check: Program,
			good: []string{"app", "web:*", "worker:w1", "app:stunnel", "a.b-c_d", "G:n.1"},
			bad: map[string]string{
				"":           `"": want name, group:name or group:* (e.g. app or web:*)`,
				"we$b":       `"we$b": character '$' not allowed (want A-Z a-z 0-9 _ . - and group:name or group:*)`,
				"a:b:c":      `"a:b:c": want name, group:name or group:* (e.g. app or web:*)`,
				"*":          `"*": want name, group:name or group:* (e.g. app or web:*)`,
				":app":       `":app": want name, group:name or group:* (e.g. app or web:*)`,
				"app:":       `"app:": want name, group:name or group:* (e.g. app or web:*)`,
				"a*":         `"a*": want name, group:name or group:* (e.g. app or web:*)`,
				"web:a*":     `"web:a*": want name, group:name or group:* (e.g. app or web:*)`,
				"`reboot`":   "\"`reboot`\": character '`' not allowed (want A-Z a-z 0-9 _ . - and group:name or group:*)",
				"app web":    `"app web": character ' ' not allowed (want A-Z a-z 0-9 _ . - and group:name or group:*)`,
				"app;reboot": `"app;reboot": character ';' not allowed (want A-Z a-z 0-9 _ . - and group:name or group:*)`,
			}},
		{name: "InstanceID", check: InstanceID,
			good: []string{"i-01234567", "i-0123456789abcdef0", "mi-0123456789abcdef0"},
			bad: map[string]string{
				"i-123":                 `"i-123" is not an instance ID (want i- and 8 or 17 lower-case hex digits, or mi- and 17, e.g. i-0123456789abcdef0)`,
				"i-0123456789ABCDEF0":   `"i-0123456789ABCDEF0" is not an instance ID (want i- and 8 or 17 lower-case hex digits, or mi- and 17, e.g. i-0123456789abcdef0)`,
				"i-0123456789abcdefg":   `"i-0123456789abcdefg" is not an instance ID (want i- and 8 or 17 lower-case hex digits, or mi- and 17, e.g. i-0123456789abcdef0)`,
				"mi-01234567":           `"mi-01234567" is not an instance ID (want i- and 8 or 17 lower-case hex digits, or mi- and 17, e.g. i-0123456789abcdef0)`,
				"i-0123456789abcdef00":  `"i-0123456789abcdef00" is not an instance ID (want i- and 8 or 17 lower-case hex digits, or mi- and 17, e.g. i-0123456789abcdef0)`,
				" i-0123456789abcdef0":  `" i-0123456789abcdef0" is not an instance ID (want i- and 8 or 17 lower-case hex digits, or mi- and 17, e.g. i-0123456789abcdef0)`,
				"i-1;reboot":            `"i-1;reboot" is not an instance ID (want i- and 8 or 17 lower-case hex digits, or mi- and 17, e.g. i-0123456789abcdef0)`,
				"":                      `"" is not an instance ID (want i- and 8 or 17 lower-case hex digits, or mi- and 17, e.g. i-0123456789abcdef0)`,
				"web-1":                 "",
				"arn:aws:ec2:i-0123456": "",
			}},
		{name: "SSMMaxConcurrency", check: SSMMaxConcurrency,
			good: []string{"1", "50", "999999", "1%", "10%", "99%", "100%"},
			bad: map[string]string{
				"0":       `"0" is not a count or percentage (want e.g. 50 or 10%)`,
				"0%":      `"0%" is not a count or percentage (want e.g. 50 or 10%)`,
				"101%":    `"101%" is not a count or percentage (want e.g. 50 or 10%)`,
				"1000000": `"1000000" is not a count or percentage (want e.g. 50 or 10%)`,
				"050":     `"050" is not a count or percentage (want e.g. 50 or 10%)`,
				"":        `"" is not a count or percentage (want e.g. 50 or 10%)`,
				"%":       `"%" is not a count or percentage (want e.g. 50 or 10%)`,
				"50 x":    `"50 x" is not a count or percentage (want e.g. 50 or 10%)`,
				"-1":      `"-1" is not a count or percentage (want e.g. 50 or 10%)`,
				"+5":      `"+5" is not a count or percentage (want e.g. 50 or 10%)`,
				"10%%":    `"10%%" is not a count or percentage (want e.g. 50 or 10%)`,
			}},
		{name: "SSMMaxErrors", check: SSMMaxErrors,
			good: []string{"0", "0%", "5", "999999", "9%", "100%"},
			bad: map[string]string{
				"101%": `"101%" is not a count or percentage (want e.g. 0, 5 or 100%)`,
				"00":   `"00" is not a count or percentage (want e.g. 0, 5 or 100%)`,
				"1;x":  `"1;x" is not a count or percentage (want e.g. 0, 5 or 100%)`,
				"":     `"" is not a count or percentage (want e.g. 0, 5 or 100%)`,
			}},
		{name: "FilePath", check: func(s string) error { return FilePath(s, "/opt/application/tmp/ext_cloud.env") },
			good: []string{"/opt/application/tmp/ext_cloud.env", "/a", "/srv/x-y_z/app.env"},
			bad: map[string]string{
				"tmp/ext_cloud.env":             `"tmp/ext_cloud.env" is not an absolute path (e.g. /opt/application/tmp/ext_cloud.env)`,
				"/opt/app $HOME/ext_cloud.env":  `"/opt/app $HOME/ext_cloud.env": character ' ' not allowed (want A-Z a-z 0-9 _ . / -)`,
				"/opt/../etc/ext_cloud.env":     `"/opt/../etc/ext_cloud.env" is not a clean path (want "/etc/ext_cloud.env")`,
				"/opt//x.env":                   `"/opt//x.env" is not a clean path (want "/opt/x.env")`,
				"/opt/x/":                       `"/opt/x/" is not a clean path (want "/opt/x")`,
				"/":                             `"/" names no file (e.g. /opt/application/tmp/ext_cloud.env)`,
				"":                              `"" is not an absolute path (e.g. /opt/application/tmp/ext_cloud.env)`,
				"/tmp/x';reboot;'":              `"/tmp/x';reboot;'": character '\'' not allowed (want A-Z a-z 0-9 _ . / -)`,
				"/tmp/\xff.env":                 `"/tmp/\xff.env": byte 0xff (not UTF-8) not allowed (want A-Z a-z 0-9 _ . / -)`,
				"/opt/\"x\".env":                `"/opt/\"x\".env": character '"' not allowed (want A-Z a-z 0-9 _ . / -)`,
				"/opt/application/tmp/é.env":    `"/opt/application/tmp/é.env": character 'é' not allowed (want A-Z a-z 0-9 _ . / -)`,
				"/opt/application/tmp/\x00.env": `"/opt/application/tmp/\x00.env": character '\x00' not allowed (want A-Z a-z 0-9 _ . / -)`,
			}},
		{name: "ID", check: ID,
			good: []string{"", "org-1", "org:1", "txn.1", "A_b", strings.Repeat("1", 128)},
			bad: map[string]string{
				"org 1":                  `"org 1": character ' ' not allowed (want A-Z a-z 0-9 _ . : -)`,
				strings.Repeat("1", 129): `129 bytes (want at most 128)`,
				"a/b":                    `"a/b": character '/' not allowed (want A-Z a-z 0-9 _ . : -)`,
				"o'1":                    `"o'1": character '\'' not allowed (want A-Z a-z 0-9 _ . : -)`,
			}},
		{name: "DynamoTable", check: DynamoTable,
			good: []string{"abc", "failover-state", "a.b_c", strings.Repeat("a", 255)},
			bad: map[string]string{
				"t":                      `"t" is not a DynamoDB table name (want 3-255 of A-Z a-z 0-9 _ . -)`,
				strings.Repeat("a", 256): `"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"… is not a DynamoDB table name (want 3-255 of A-Z a-z 0-9 _ . -)`,
				"state table":            `"state table" is not a DynamoDB table name (want 3-255 of A-Z a-z 0-9 _ . -)`,
			}},
		{name: "DDTag", check: DDTag,
			good: []string{"env:prod", "team:sre", "failover", "a/b.c-d_e"},
			bad: map[string]string{
				"team:a;b":               `"team:a;b": character ';' not allowed (want A-Z a-z 0-9 _ . : / -)`,
				"my service":             `"my service": character ' ' not allowed (want A-Z a-z 0-9 _ . : / -)`,
				strings.Repeat("a", 201): `"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"…: 201 bytes (want at most 200)`,
			}},
		{name: "EnvKey", check: EnvKey,
			good: []string{"EXT_CLOUD", "a", "_x", "A1"},
			bad: map[string]string{
				"1X":  `bad key "1X" (want letters, digits and _)`,
				"":    `bad key "" (want letters, digits and _)`,
				"A B": `bad key "A B" (want letters, digits and _)`,
				"A-B": `bad key "A-B" (want letters, digits and _)`,
			}},
		{name: "Secret", check: Secret,
			good: []string{"", "s3cret", "pässwörd", "a:b"},
			bad: map[string]string{
				"hunter2 x":   "has a space, control character or invalid UTF-8 (value not shown)",
				"hunter2\n":   "has a space, control character or invalid UTF-8 (value not shown)",
				"hunter2\xff": "has a space, control character or invalid UTF-8 (value not shown)",
				"a\u00a0b":    "has a space, control character or invalid UTF-8 (value not shown)",
			}},
		{name: "UserName", check: UserName,
			good: []string{"", "admin", "ops.1"},
			bad: map[string]string{
				"a:b": `must not contain ":" (value not shown)`,
				"a b": "has a space, control character or invalid UTF-8 (value not shown)",
			}},
		{name: "URLChars", check: URLChars,
			good: []string{"https://{cloud}/x?a=b&c={org_id}", "http://u:p@h/"},
			bad: map[string]string{
				"https://{cloud}/a b":          `"https://{cloud}/a b": character ' ' not allowed (want printable ASCII, no spaces)`,
				"https://u:tsecret@{cloud}/ x": `"https://u:xxxxx@{cloud}/ x": character ' ' not allowed (want printable ASCII, no spaces)`,
				"http://h/\x7f":                `"http://h/\x7f": character '\x7f' not allowed (want printable ASCII, no spaces)`,
			}},
		{name: "HTTPURL", check: HTTPURL,
			good: []string{"https://www.example.com/", "http://127.0.0.1:9999/v1/input", "http://[::1]:8080/x", "https://u:p@h.example/"},
			bad: map[string]string{
				"speedtest.example.com":       `"speedtest.example.com": want an http:// or https:// URL with a host`,
				"ftp://u:wsecret@example.com": `"ftp://u:xxxxx@example.com": want an http:// or https:// URL with a host`,
				"http://example.com:99999":    `"http://example.com:99999": port must be 1-65535`,
				"http://a b":                  `"http://a b": character ' ' not allowed (want printable ASCII, no spaces)`,
				"https:///x":                  `"https:///x": want an http:// or https:// URL with a host`,
			}},
		{name: "DatadogSite", check: DatadogSite,
			good: []string{"datadoghq.com", "datadoghq.eu", "us5.datadoghq.com", "https://proxy.example.com:8443", "https://proxy.example.com:8443/", "http://127.0.0.1:9000", "http://[::1]:9000"},
			bad: map[string]string{
				"datadoghq.com/":                  `"datadoghq.com/" is not a host name (want e.g. datadoghq.com or datadoghq.eu)`,
				"evil.example/$(id)":              `"evil.example/$(id)" is not a host name (want e.g. datadoghq.com or datadoghq.eu)`,
				"":                                `"" is not a host name (want e.g. datadoghq.com or datadoghq.eu)`,
				"https://proxy.example.com/api":   `"https://proxy.example.com/api" is neither a host name nor a base URL (want e.g. datadoghq.com or https://proxy.example.com:8443)`,
				"https://u:dsecret@proxy.example": `"https://u:xxxxx@proxy.example" is neither a host name nor a base URL (want e.g. datadoghq.com or https://proxy.example.com:8443)`,
				"ftp://proxy.example.com":         `"ftp://proxy.example.com" is neither a host name nor a base URL (want e.g. datadoghq.com or https://proxy.example.com:8443)`,
				"https://proxy.example.com?x=1":   `"https://proxy.example.com?x=1" is neither a host name nor a base URL (want e.g. datadoghq.com or https://proxy.example.com:8443)`,
				"https://proxy.example.com:0":     `"https://proxy.example.com:0" is neither a host name nor a base URL (want e.g. datadoghq.com or https://proxy.example.com:8443)`,
				"https://":                        `"https://" is neither a host name nor a base URL (want e.g. datadoghq.com or https://proxy.example.com:8443)`,
			}},
		{name: "SupervisorURL", check: SupervisorURL,
			good: []string{"unix:///var/run/supervisor.sock", "http://127.0.0.1:9001/RPC2", "https://h.example:9001", "http://u:p@h:1/"},
			bad: map[string]string{
				"ftp://x":                           `"ftp://x": want unix:///path/to/supervisor.sock or http(s)://host:port[/RPC2]`,
				"unix://var/run/supervisor.sock":    `"unix://var/run/supervisor.sock": want an absolute socket path (e.g. unix:///var/run/supervisor.sock)`,
				"unix:///var/run/super visor.sock":  `"unix:///var/run/super visor.sock": character ' ' not allowed in a socket path (want A-Z a-z 0-9 _ . / -)`,
				"http://127.0.0.1:9001/x":           `"http://127.0.0.1:9001/x": path must be empty or /RPC2`,
				"http://h:hsecret@127.0.0.1:0/RPC2": `"http://h:xxxxx@127.0.0.1:0/RPC2": port must be 1-65535`,
				"http://127.0.0.1:9001/RPC2?x=1":    `"http://127.0.0.1:9001/RPC2?x=1": no query or fragment`,
				"http:///RPC2":                      `"http:///RPC2": want a host (e.g. http://127.0.0.1:9001/RPC2)`,
				"":                                  `"": want unix:///path/to/supervisor.sock or http(s)://host:port[/RPC2]`,
				"unix:///":                          `"unix:///": want an absolute socket path (e.g. unix:///var/run/supervisor.sock)`,
			}},
		{name: "DogStatsdURL", check: DogStatsdURL,
			good: []string{"udp://127.0.0.1:8125", "udp://agent", "unix:///var/run/datadog/dsd.socket", "unixgram:///a.sock"},
			bad: map[string]string{
				"tcp://agent:8125":  `"tcp://agent:8125": want udp://host:port or unix:///path/to/dsd.socket`,
				"unix://dsd.socket": `"unix://dsd.socket": want udp://host:port or unix:///path/to/dsd.socket`,
				"udp://agent:0":     `"udp://agent:0": want udp://host:port or unix:///path/to/dsd.socket`,
			}},
		{name: "HeaderName", check: HeaderName,
			good: []string{"X-SIG-Sha256", "Authorization", "x", "!#$%&'*+-.^_`|~09azAZ"},
			bad: map[string]string{
				"":                       `"": want a header name (an HTTP token, e.g. X-SIG-Sha256)`,
				"X Sig":                  "\"X Sig\": character ' ' not allowed (want A-Z a-z 0-9 and ! # $ % & ' * + - . ^ _ ` | ~)",
				"X-Sig:":                 "\"X-Sig:\": character ':' not allowed (want A-Z a-z 0-9 and ! # $ % & ' * + - . ^ _ ` | ~)",
				"X\nY":                   "\"X\\nY\": character '\\n' not allowed (want A-Z a-z 0-9 and ! # $ % & ' * + - . ^ _ ` | ~)",
				"(x)":                    "\"(x)\": character '(' not allowed (want A-Z a-z 0-9 and ! # $ % & ' * + - . ^ _ ` | ~)",
				"Ä":                      "\"Ä\": character 'Ä' not allowed (want A-Z a-z 0-9 and ! # $ % & ' * + - . ^ _ ` | ~)",
				strings.Repeat("x", 257): `"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"…: 257 bytes (want at most 256)`,
			}},
		{name: "HeaderValue", check: HeaderValue,
			good: []string{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "Bearer abc.def", "a", `"quoted";q=1`, "~!@#$%^&*()"},
			bad: map[string]string{
				"":                        "empty (want visible ASCII without commas; value not shown)",
				"a,b":                     "a comma at byte 2 not allowed (want visible ASCII without commas; value not shown)",
				" secret":                 "starts or ends with a space (want visible ASCII without commas; value not shown)",
				"secret ":                 "starts or ends with a space (want visible ASCII without commas; value not shown)",
				"sec\tret":                "byte 0x09 at byte 4 not allowed (want visible ASCII without commas; value not shown)",
				"secret\r\nX-Evil: 1":     "byte 0x0d at byte 7 not allowed (want visible ASCII without commas; value not shown)",
				"sécret":                  "byte 0xc3 at byte 2 not allowed (want visible ASCII without commas; value not shown)",
				"s\x7f":                   "byte 0x7f at byte 2 not allowed (want visible ASCII without commas; value not shown)",
				strings.Repeat("x", 4097): "4097 bytes (want at most 4096); value not shown",
			}},
	}
	for _, r := range rules {
		r.run(t)
	}
}

func TestHeader(t *testing.T) {
	t.Parallel()
	sig := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	for _, tt := range []struct{ entry, name, value string }{
		{"X-SIG-Sha256: " + sig, "X-SIG-Sha256", sig},
		{"  X-SIG-Sha256:" + sig + "  ", "X-SIG-Sha256", sig},
		{"Authorization: Bearer a:b", "Authorization", "Bearer a:b"},
	} {
		name, value, err := Header(tt.entry)
		if err != nil || name != tt.name || value != tt.value {
			t.Errorf("Header(%q) = %q, %q, %v; want %q, %q", tt.entry, name, value, err, tt.name, tt.value)
		}
	}
	for entry, want := range map[string]string{
		"X-SIG-Sha256 secret":  "want Name: value (e.g. X-SIG-Sha256: e3b0c442...; entry not shown)",
		": secret":             `"": want a header name (an HTTP token, e.g. X-SIG-Sha256)`,
		"X Sig: secret":        "\"X Sig\": character ' ' not allowed (want A-Z a-z 0-9 and ! # $ % & ' * + - . ^ _ ` | ~)",
		"X-Sig: sec,ret":       "header X-Sig: a comma at byte 4 not allowed (want visible ASCII without commas; value not shown)",
		"X-Sig:":               "header X-Sig: empty (want visible ASCII without commas; value not shown)",
		"X-Sig: secret\nX-A:b": "header X-Sig: byte 0x0a at byte 7 not allowed (want visible ASCII without commas; value not shown)",
	} {
		_, _, err := Header(entry)
		if err == nil || err.Error() != want {
			t.Errorf("Header(%q) error\n got: %v\nwant: %s", entry, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("Header(%q) shows the value: %v", entry, err)
		}
	}
}

func TestSSMTarget(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]SSMTarget{
		"tag:Role=app":         {TagKey: "Role", TagValue: "app"},
		"tag:aws:x/y=a+b@c=d":  {TagKey: "aws:x/y", TagValue: "a+b@c=d"},
		"i-0123456789abcdef0":  {InstanceID: "i-0123456789abcdef0"},
		"mi-0123456789abcdef0": {InstanceID: "mi-0123456789abcdef0"},
	} {
		got, err := ParseSSMTarget(s)
		if err != nil || got != want {
			t.Errorf("ParseSSMTarget(%q) = %+v, %v; want %+v", s, got, err, want)
		}
		if got.String() != s || got.Check() != nil {
			t.Errorf("%+v: String() = %q, Check() = %v; want %q, nil", got, got.String(), got.Check(), s)
		}
	}
	for s, want := range map[string]string{
		"web-1":                                  `"web-1": want tag:Key=Value or an instance ID (e.g. tag:Role=app or i-0123456789abcdef0)`,
		"i-123":                                  `"i-123": want tag:Key=Value or an instance ID (e.g. tag:Role=app or i-0123456789abcdef0)`,
		"tag:Role":                               `"tag:Role": want tag:Key=Value (e.g. tag:Role=app)`,
		"tag:=app":                               `"tag:=app": want tag:Key=Value (e.g. tag:Role=app)`,
		"tag:Role=":                              `"tag:Role=": want tag:Key=Value (e.g. tag:Role=app)`,
		"tag:Role=a b":                           `"tag:Role=a b": character ' ' not allowed (want A-Z a-z 0-9 _ . : / + @ = -)`,
		"tag:Role=a;b":                           `"tag:Role=a;b": character ';' not allowed (want A-Z a-z 0-9 _ . : / + @ = -)`,
		"tag:" + strings.Repeat("k", 129) + "=v": `"tag:kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"…: want tag:Key=Value (e.g. tag:Role=app)`,
		"":                                       `"": want tag:Key=Value or an instance ID (e.g. tag:Role=app or i-0123456789abcdef0)`,
	} {
		if _, err := ParseSSMTarget(s); err == nil || err.Error() != want {
			t.Errorf("ParseSSMTarget(%.50q) error\n got: %v\nwant: %s", s, err, want)
		}
	}
	for _, tt := range []struct {
		t    SSMTarget
		want string
	}{
		{SSMTarget{}, `"tag:=": want tag:Key=Value (e.g. tag:Role=app)`},
		{SSMTarget{TagKey: "role"}, `"tag:role=": want tag:Key=Value (e.g. tag:Role=app)`},
		{SSMTarget{TagKey: "a=b", TagValue: "c"}, `tag key "a=b", tag value "c" and instance ID "" (want a tag or an instance ID, not both)`},
		{SSMTarget{TagKey: "role", TagValue: "app", InstanceID: "i-01234567"}, `tag key "role", tag value "app" and instance ID "i-01234567" (want a tag or an instance ID, not both)`},
		{SSMTarget{InstanceID: "i-1;reboot"}, `"i-1;reboot" is not an instance ID (want i- and 8 or 17 lower-case hex digits, or mi- and 17, e.g. i-0123456789abcdef0)`},
	} {
		if err := tt.t.Check(); err == nil || err.Error() != tt.want {
			t.Errorf("%+v.Check()\n got: %v\nwant: %s", tt.t, err, tt.want)
		}
	}
	if !IsManagedInstance("mi-0123456789abcdef0") || IsManagedInstance("i-0123456789abcdef0") {
		t.Error("IsManagedInstance tells mi- from i- wrong")
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"[::1]": false, "10.0.0.1": false, "2001:db8::1": false, "localhost.example.com": false, "": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]string{
		"abc":                   `"abc"`,
		strings.Repeat("é", 30): `"` + strings.Repeat("é", 20) + `"…`,
		strings.Repeat("a", 41): `"` + strings.Repeat("a", 40) + `"…`,
		"a\nb":                  `"a\nb"`,
	} {
		if got := Quote(s); got != want {
			t.Errorf("Quote(%.20q) = %s, want %s", s, got, want)
		}
	}
	for s, want := range map[string]string{
		"https://u:pw@h/":       `"https://u:xxxxx@h/"`,
		"https://u@h/":          `"https://u@h/"`,
		"https://{cloud}/?a=@b": `"https://{cloud}/?a=@b"`,
		"h:pw@x":                `"h:pw@x"`,
	} {
		if got := QuoteURL(s); got != want {
			t.Errorf("QuoteURL(%q) = %s, want %s", s, got, want)
		}
	}
	if got := URLPassword("http://u:p%40ss@h/"); got != "p%40ss" {
		t.Errorf("URLPassword = %q, want the password as written", got)
	}
	if CloudHost("https://[::1]:8443/nam") != "[::1]:8443" || CloudHost("nam.example.com:1") != "nam.example.com:1" {
		t.Error("CloudHost does not return the host[:port]")
	}
}

func TestSSMCommandTimeout(t *testing.T) {
	for _, d := range []time.Duration{time.Second, 300 * time.Second, 48 * time.Hour} {
		if err := SSMCommandTimeout(d); err != nil {
			t.Errorf("SSMCommandTimeout(%v) = %v, want nil", d, err)
		}
	}
	for _, d := range []time.Duration{0, 500 * time.Millisecond, 1500 * time.Millisecond, 48*time.Hour + time.Second, -time.Second} {
		if err := SSMCommandTimeout(d); err == nil || !strings.Contains(err.Error(), "want whole seconds from 1s to 48h") {
			t.Errorf("SSMCommandTimeout(%v) = %v, want the range in the error", d, err)
		}
	}
}
