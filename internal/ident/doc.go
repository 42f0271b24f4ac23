// Package ident defines, once, every value the tool accepts that can reach a
// file, a shell, a URL or a header: regions, clouds, host names, supervisord
// programs, EC2 and managed instance IDs, SSM targets and limits, file
// paths, keepalive IDs, DynamoDB table names, Datadog tags and sites, HTTP
// header names and values, URLs.
//
// Each validator returns nil or an error whose text is one line that starts
// with the value as ident.Quote shows it (cut to 40 bytes, passwords in URLs
// hidden, secret values not shown at all) and says what is wanted:
// `"nam" is not an upper-case name (want A-Z, 0-9 and _, ...)` or
// `"a b": character ' ' not allowed (want ...)`. Callers add only the
// name of the setting or field: config prefixes "EXT_CLOUD_FAILOVER_LIST:
// entry 1 (NAM): cloud ", the env file writer and the SSM script builder
// wrap the same errors at their boundary. No other package defines a
// character set or a regular expression for these values.
//
// The package is a leaf: it imports only the standard library, and its
// functions are pure and safe for concurrent use.
package ident
