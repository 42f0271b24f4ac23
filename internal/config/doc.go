// Package config builds the one Config an invocation runs with: defaults,
// then environment variables, then flags (kebab-case of the same names).
// Everything is validated before anything is touched; a bad value is an
// *Error naming the variable or flag and what is wanted.
package config
