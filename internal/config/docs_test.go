package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the configuration table in README.md and docs/configuration.md")

const (
	tableBegin = "<!-- table:begin (generated: go test ./internal/config -run TestDocsTable -update) -->\n"
	tableEnd   = "<!-- table:end -->\n"
)

// TestDocsTable keeps the configuration table of README.md and
// docs/configuration.md in step with the variables Load reads.
func TestDocsTable(t *testing.T) {
	for _, path := range []string{
		filepath.Join("..", "..", "README.md"),
		filepath.Join("..", "..", "docs", "configuration.md"),
	} {
		checkTable(t, path)
	}
}

func checkTable(t *testing.T, path string) {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(doc), tableBegin)
	_, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok || !ok2 {
		t.Fatalf("%s: table markers missing", path)
	}
	var table bytes.Buffer
	markdownTable(&table)
	want := before + tableBegin + table.String() + tableEnd + after
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(doc) != want {
		t.Errorf("%s is out of date; run: go test ./internal/config -run TestDocsTable -update", path)
	}
	for _, v := range variables {
		if !strings.Contains(string(doc), "| `"+v.env+"` |") {
			t.Errorf("%s does not list %s", path, v.env)
		}
	}
}

// TestDocsErrorExamples: each configuration error the docs quote is one
// that Load really gives, for the setting it names.
func TestDocsErrorExamples(t *testing.T) {
	t.Parallel()
	list := "NAM=nam.example.com,EU=eu.example.com,APAC=apac.example.com"
	tests := []struct {
		doc  string
		env  map[string]string
		over []Override
		want string
	}{
		{"README.md", map[string]string{"EXT_CLOUD_REGION": "EUR"}, nil, `EXT_CLOUD_REGION: unknown region "EUR" (want NAM, EU or APAC)`},
		{"docs/configuration.md", map[string]string{"EXT_CLOUD_FAILOVER_LIST": "NAM=nam.example.com,EU"}, nil, `EXT_CLOUD_FAILOVER_LIST: entry 2 "EU": want REGION=CLOUD`},
		{"docs/configuration.md", nil, []Override{{"EXT_CLOUD_REGION", "--region", "EUR"}}, `--region: unknown region "EUR" (want NAM, EU or APAC)`},
		{"docs/configuration.md", map[string]string{"FAILOVER_THRESHOLD": "abc"}, nil, `FAILOVER_THRESHOLD: "abc" is not a duration (want e.g. 4m)`},
	}
	for _, tt := range tests {
		env := map[string]string{"EXT_CLOUD_FAILOVER_LIST": list, "CONNECTION_KEEPALIVE_ORG_ID": "o", "CONNECTION_KEEPALIVE_TXN_ID": "t"}
		for k, v := range tt.env {
			env[k] = v
		}
		_, err := Load(mapEnv(env), tt.over)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Load = %v, want %s", err, tt.want)
		}
		doc, err := os.ReadFile(filepath.Join("..", "..", tt.doc))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(doc, []byte(tt.want)) {
			t.Errorf("%s does not quote %s", tt.doc, tt.want)
		}
	}
}
