package qmp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync/atomic"
)

// EventFilter selects the events a Subscription receives.
type EventFilter struct {
	// Names lists the event names to receive; empty means all events.
	Names []string
	// Data, when not empty, requires each key to be present in the
	// event's "data" object with an equal value. Values are compared as
	// compact JSON after encoding, so 1 and 1.0 differ.
	Data map[string]any
	// Buffer is the number of events held for the subscriber; zero means
	// Options.EventBuffer. When the buffer is full, new events are
	// dropped and counted in Dropped.
	Buffer int
}

// Subscription receives the events that match its filter, in the order
// QEMU sent them. Delivery never blocks the session.
type Subscription struct {
	c       *Client
	ch      chan Event
	names   map[string]bool
	data    map[string][]byte
	dropped atomic.Uint64
}

// Subscribe starts delivering matching events. Events that arrived before
// the call are not delivered. The subscription ends with Close on it or on
// the client, or when the session ends; its channel is then closed.
func (c *Client) Subscribe(f EventFilter) (*Subscription, error) {
	s := &Subscription{c: c, names: make(map[string]bool), data: make(map[string][]byte)}
	for _, n := range f.Names {
		s.names[n] = true
	}
	for k, v := range f.Data {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("subscribe to qmp events: encode data filter %q: %w", k, err)
		}
		s.data[k] = raw
	}
	size := f.Buffer
	if size <= 0 {
		size = c.opts.EventBuffer
	}
	s.ch = make(chan Event, size)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, fmt.Errorf("subscribe to qmp events on %s: %w", c.socket, c.err)
	}
	c.subs[s] = struct{}{}
	return s, nil
}

// Events returns the channel of matching events. It is closed when the
// subscription ends.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Dropped returns the number of events dropped because the buffer was
// full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes its channel. It is idempotent.
func (s *Subscription) Close() {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if _, ok := s.c.subs[s]; ok {
		delete(s.c.subs, s)
		close(s.ch)
	}
}

// matches reports whether ev passes the filter. fields holds ev.Data
// decoded into keys; it is decoded once per event by the caller.
func (s *Subscription) matches(ev Event, fields map[string]json.RawMessage) bool {
	if len(s.names) > 0 && !s.names[ev.Name] {
		return false
	}
	for k, want := range s.data {
		got, ok := fields[k]
		if !ok {
			return false
		}
		var compact bytes.Buffer
		if json.Compact(&compact, got) != nil || !bytes.Equal(compact.Bytes(), want) {
			return false
		}
	}
	return true
}

// publish hands ev to every matching subscriber without blocking.
func (c *Client) publish(ev Event) {
	c.stats.events.Add(1)
	var fields map[string]json.RawMessage
	if len(ev.Data) > 0 {
		// A data field that is not an object matches no data filter.
		_ = json.Unmarshal(ev.Data, &fields)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	for s := range c.subs {
		if !s.matches(ev, fields) {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			s.dropped.Add(1)
			c.stats.droppedEvents.Add(1)
		}
	}
}
