// This file holds the stored form of a State: Encode, Decode and Canonical,
// with the range checks that tell a corrupt record from a good one.

package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Decode parses one stored State record, as written by Encode.
//
// The record must be a JSON object whose fields have the right types, with a
// version of at least 1 (every stored record has been written by a Swap) and
// no negative counters or timestamps outside years 1 to 9999. Unknown fields
// are ignored so that an older binary can still read a record written by a
// newer one during an upgrade. Timestamps are returned in UTC and an empty
// host list as nil, so Decode(Encode(s)) returns s for any s Decode returned.
//
// Any other input yields an error wrapping ErrCorrupt.
func Decode(data []byte) (State, error) {
	s, err := decode(data)
	if err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return s, nil
}

func decode(data []byte) (State, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return State{}, errors.New("empty record")
	}
	// json.Unmarshal accepts null for a struct and leaves it zero; a record
	// must be an object.
	if trimmed[0] != '{' {
		return State{}, errors.New("not a JSON object")
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return State{}, err
	}
	s = normalize(s)
	if err := validate(s); err != nil {
		return State{}, err
	}
	return s, nil
}

// Encode returns the stored form of s: indented JSON ending in a newline, with
// timestamps in UTC. It fails only for timestamps JSON cannot represent
// (years outside 0 to 9999).
func Encode(s State) ([]byte, error) {
	data, err := json.MarshalIndent(normalize(s), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	return append(data, '\n'), nil
}

// Canonical encodes s as the stores write it and returns the bytes with the
// state exactly as a later Decode returns it (UTC times, nil for no hosts).
// A State the caller got wrong is an error, not ErrCorrupt.
func Canonical(s State) ([]byte, State, error) {
	data, err := Encode(s)
	if err != nil {
		return nil, State{}, err
	}
	// Not Decode: a State the caller got wrong is no corrupt record.
	stored, err := decode(data)
	if err != nil {
		return nil, State{}, fmt.Errorf("invalid state: %w", err)
	}
	return data, stored, nil
}

// normalize returns s with every timestamp in UTC (dropping any monotonic
// clock reading) and an empty host list as nil, without touching the
// caller's Pending.
func normalize(s State) State {
	s.OutageStartedAt = utc(s.OutageStartedAt)
	s.LastProbeAt = utc(s.LastProbeAt)
	s.LastFailoverAt = utc(s.LastFailoverAt)
	s.LatencyAt = utc(s.LatencyAt)
	if s.Pending != nil {
		p := *s.Pending
		p.ClaimedUntil = utc(p.ClaimedUntil)
		if len(p.Hosts) == 0 {
			p.Hosts = nil
		}
		p.Commands = copyEach(p.Commands, func(c *Command) { c.Until = utc(c.Until) })
		s.Pending = &p
	}
	if len(s.Regions) == 0 {
		s.Regions = nil
	} else {
		regions := make(map[string]RegionHealth, len(s.Regions))
		for name, h := range s.Regions {
			h.Since = utc(h.Since)
			regions[name] = h
		}
		s.Regions = regions
	}
	if s.Pause != nil {
		p := *s.Pause
		p.Until, p.At = utc(p.Until), utc(p.At)
		s.Pause = &p
	}
	s.History = copyEach(s.History, func(e *Event) { e.At = utc(e.At) })
	return s
}

// copyEach returns a copy of xs with fix applied to each element, and nil
// for an empty slice, so the caller's slice is never touched.
func copyEach[T any](xs []T, fix func(*T)) []T {
	if len(xs) == 0 {
		return nil
	}
	out := make([]T, len(xs))
	for i, x := range xs {
		fix(&x)
		out[i] = x
	}
	return out
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// stamp is one stored timestamp with its field name, for range checks.
type stamp struct {
	name string
	t    time.Time
}

func validate(s State) error {
	if s.Version < 1 {
		return fmt.Errorf("version %d: want 1 or more", s.Version)
	}
	if s.Generation < 0 {
		return fmt.Errorf("generation %d: want 0 or more", s.Generation)
	}
	if s.LatencyMS < 0 {
		return fmt.Errorf("latency_ms %v: want 0 or more", s.LatencyMS)
	}
	times := []stamp{
		{"outage_started_at", s.OutageStartedAt},
		{"last_probe_at", s.LastProbeAt},
		{"last_failover_at", s.LastFailoverAt},
		{"latency_at", s.LatencyAt},
	}
	if p := s.Pending; p != nil {
		if p.Generation < 0 {
			return fmt.Errorf("pending.generation %d: want 0 or more", p.Generation)
		}
		if p.Attempts < 0 {
			return fmt.Errorf("pending.attempts %d: want 0 or more", p.Attempts)
		}
		times = append(times, stamp{"pending.claimed_until", p.ClaimedUntil})
		if len(p.Commands) > MaxCommands {
			return fmt.Errorf("pending.commands: %d commands, want at most %d", len(p.Commands), MaxCommands)
		}
		for i, c := range p.Commands {
			if c.ID == "" || len(c.ID) > maxCommandID || strings.ContainsFunc(c.ID, unicode.IsSpace) {
				return fmt.Errorf("pending.commands[%d].id %.40q: want 1 to %d characters without spaces", i, c.ID, maxCommandID)
			}
			times = append(times, stamp{fmt.Sprintf("pending.commands[%d].until", i), c.Until})
		}
	}
	for name, h := range s.Regions {
		if h.Streak < 0 {
			return fmt.Errorf("regions.%s.streak %d: want 0 or more", name, h.Streak)
		}
		times = append(times, stamp{"regions." + name + ".since", h.Since})
	}
	if p := s.Pause; p != nil {
		times = append(times, stamp{"pause.until", p.Until}, stamp{"pause.at", p.At})
	}
	for i, e := range s.History {
		times = append(times, stamp{fmt.Sprintf("history[%d].at", i), e.At})
	}
	for _, tm := range times {
		if y := tm.t.Year(); y < 1 || y > 9999 {
			return fmt.Errorf("%s %s: year out of range", tm.name, tm.t.Format(time.RFC3339))
		}
	}
	return nil
}
