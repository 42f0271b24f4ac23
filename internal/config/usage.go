// This file holds --help's usage text and the generated docs table.

package config

import (
	"fmt"
	"io"
	"strings"
)

// Usage writes every flag with its environment variable, default and
// meaning, for --help.
func Usage(w io.Writer) {
	for i := range variables {
		v := &variables[i]
		names := make([]string, 0, 1+len(v.aliases))
		for _, a := range v.aliases {
			names = append(names, dashed(a))
		}
		names = append(names, dashed(v.flagName()))
		head := "  " + strings.Join(names, ", ")
		if !v.isBool() {
			head += " " + v.meta
		}
		fmt.Fprintf(w, "%s  (env %s)\n", head, v.env)
		fmt.Fprintf(w, "        %s%s\n", v.help, v.defaultNote())
	}
}

func (v *variable) defaultNote() string {
	switch {
	case v.docDef != "":
		return " (default: " + strings.ReplaceAll(v.docDef, "`", "") + ")"
	case v.def != "":
		return " (default " + v.def + ")"
	}
	return ""
}

// markdownTable renders docs/configuration.md's table of every variable.
func markdownTable(w io.Writer) {
	esc := strings.NewReplacer("|", `\|`)
	fmt.Fprintln(w, "| Variable | Flag | Default | Meaning |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for i := range variables {
		v := &variables[i]
		flags := make([]string, 0, 1+len(v.aliases))
		for _, a := range v.aliases {
			flags = append(flags, "`"+dashed(a)+"`")
		}
		flags = append(flags, "`"+dashed(v.flagName())+"`")
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
