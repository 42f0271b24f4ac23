// Package probe measures the two things the checker asks of the network: does
// a region's cloudlookup endpoint answer (Prober, one HTTP GET), and does our
// own network work at all (Guard: a speedtest server's latency and a witness
// URL, asked at the same time).
//
// Both return why they failed, in the words the log line at 3 a.m. needs
// ("timeout after 5s: ...", "dns: ...", "status 503"), and take every deadline
// from the context and their configured timeout. Both are safe for concurrent
// use and use HTTP clients of their own; redirects are never followed.
//
// This is the only package that imports speedtest-go. That library replaces
// http.DefaultClient's transport when it is initialised and on every
// speedtest.New; this package builds its one speedtest client while the
// program initialises and then puts http.DefaultClient back the way the
// standard library leaves it (see speedtest.go), so no other package has to
// defend against it.
package probe
