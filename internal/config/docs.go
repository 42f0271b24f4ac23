// This file holds the configuration table generated into README.md and
// docs/configuration.md (go test ./internal/config -run TestDocsTable -update).

package config

import (
	"fmt"
	"io"
	"strings"
)

// markdownTable renders docs/configuration.md's table of every variable.
func markdownTable(w io.Writer) {
	esc := strings.NewReplacer("|", `\|`)
	fmt.Fprintln(w, "| Variable | Flag | Default | Meaning |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for i := range variables {
		v := &variables[i]
		flags := v.flags()
		for i, f := range flags {
			flags[i] = "`" + f + "`"
		}
		def := "empty"
		switch {
		case v.docDef != "":
			def = v.docDef
		case v.def != "":
			def = "`" + v.def + "`"
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", v.env, strings.Join(flags, ", "), esc.Replace(def), esc.Replace(v.help))
	}
}
