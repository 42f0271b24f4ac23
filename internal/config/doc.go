// Package config builds the one Config an invocation runs with: defaults,
// then environment variables, then the command line's overrides. It knows
// no flags: Variables describes every setting, from which cmd/cron builds
// one flag (kebab-case of the variable's name) per setting, and Load takes
// the values those flags were given as []Override.
//
// Everything is validated before anything is touched; a bad value is an
// *Error naming the variable or flag and what is wanted. What a single value
// may be (a region, a cloud, a program, ...) is internal/ident's rule; this
// package adds the field name and the checks that span several settings.
package config
