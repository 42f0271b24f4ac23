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
