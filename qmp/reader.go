package qmp

import (
	"bytes"
	"fmt"
)

// maxAbandoned bounds the ids remembered from calls whose caller gave up,
// which are used only to count their replies as late.
const maxAbandoned = 1024

// readLoop is the session's only reader. It routes replies to calls by id
// and events to subscribers, and never blocks on either, so a slow
// subscriber cannot delay a reply.
func (c *Client) readLoop(lr *lineReader) {
	defer close(c.done)
	for {
		line, over, err := lr.readLine()
		if err != nil {
			c.endSession(err)
			return
		}
		if over != nil {
			c.routeOversize(over)
			continue
		}
		c.routeLine(line)
	}
}

func (c *Client) routeLine(line []byte) {
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	m, kind, err := decodeMessage(line)

	if !c.greeted {
		// Events before the greeting do not happen with QEMU, but they are
		// harmless, so they are published and the greeting awaited.
		if err == nil && kind == kindEvent {
			c.publish(m.event())
			return
		}
		c.greeted = true
		c.greetCh <- greetResult{msg: m, line: bytes.Clone(line), err: err}
		return
	}

	if err != nil {
		c.stats.invalidLines.Add(1)
		return
	}
	switch kind {
	case kindEvent:
		c.publish(m.event())
	case kindReply:
		c.routeReply(m)
	default:
		// A second greeting has no caller.
		c.stats.invalidLines.Add(1)
	}
}

// routeReply hands a reply to the call with its id. Replies without an
// id, with an unknown id, or to a call that gave up are counted and
// dropped. QEMU sends an error without an id when it cannot parse a
// command, so such an error cannot be tied to a call.
func (c *Client) routeReply(m message) {
	if m.ID == nil {
		if m.Error != nil {
			c.stats.idlessErrors.Add(1)
		} else {
			c.stats.unknownReplies.Add(1)
		}
		return
	}

	id, ok := stringID(m.ID)
	c.mu.Lock()
	cl := c.pending[id]
	switch {
	case ok && cl != nil:
		delete(c.pending, id)
		c.pruneAbandoned(cl.seq)
	case ok && c.forget(id):
		c.stats.lateReplies.Add(1)
	default:
		c.stats.unknownReplies.Add(1)
	}
	c.mu.Unlock()

	if cl != nil {
		c.stats.replies.Add(1)
		cl.ch <- reply{msg: m}
	}
}

// routeOversize fails the call that an over-long line belongs to. The id
// is taken from the first or last key of the line. Without one, the line
// is taken as the reply to the oldest command still outstanding, because
// QEMU replies in the order it receives commands when out-of-band
// execution is off, as it is for this client. Over-long events are
// dropped.
func (c *Client) routeOversize(o *oversizeLine) {
	c.stats.oversizeLines.Add(1)
	tooLarge := &MessageTooLargeError{Size: o.size, Limit: c.opts.MaxLineSize}

	if !c.greeted {
		c.greeted = true
		c.greetCh <- greetResult{line: o.head, err: tooLarge}
		return
	}
	if oversizeIsEvent(o) {
		c.stats.droppedEvents.Add(1)
		return
	}

	c.mu.Lock()
	var cl *call
	if id, ok := oversizeID(o); ok {
		cl = c.pending[id]
		if cl == nil && c.forget(id) {
			c.stats.lateReplies.Add(1)
		} else if cl == nil {
			c.stats.unknownReplies.Add(1)
		}
	} else {
		cl = c.oldestOutstanding()
	}
	if cl != nil {
		delete(c.pending, cl.id)
		c.pruneAbandoned(cl.seq)
	}
	c.mu.Unlock()

	if cl != nil {
		cl.ch <- reply{err: tooLarge}
	}
}

// oldestOutstanding returns the pending call with the lowest sequence
// number, or nil when an abandoned call is older, in which case that call
// is forgotten and the line counted as late. c.mu must be held.
func (c *Client) oldestOutstanding() *call {
	var oldest *call
	for _, cl := range c.pending {
		if oldest == nil || cl.seq < oldest.seq {
			oldest = cl
		}
	}
	for id, seq := range c.abandoned {
		if oldest == nil || seq < oldest.seq {
			delete(c.abandoned, id)
			c.stats.lateReplies.Add(1)
			return nil
		}
	}
	return oldest
}

// forget removes id from the abandoned calls and reports whether it was
// there. c.mu must be held.
func (c *Client) forget(id string) bool {
	if _, ok := c.abandoned[id]; !ok {
		return false
	}
	delete(c.abandoned, id)
	return true
}

// pruneAbandoned removes abandoned calls sent before seq. QEMU replies in
// order, so no reply to them will come any more. c.mu must be held.
func (c *Client) pruneAbandoned(seq uint64) {
	for id, s := range c.abandoned {
		if s < seq {
			delete(c.abandoned, id)
		}
	}
}

// endSession fails every pending call and closes every subscription once
// the connection is gone.
func (c *Client) endSession(cause error) {
	c.mu.Lock()
	if c.err == nil {
		if c.closing {
			c.err = ErrClosed
		} else {
			c.err = fmt.Errorf("%w: %w", ErrDisconnected, cause)
		}
	}
	err := c.err
	pending := c.pending
	c.pending = make(map[string]*call)
	for s := range c.subs {
		close(s.ch)
	}
	c.subs = make(map[*Subscription]struct{})
	c.mu.Unlock()

	for _, cl := range pending {
		cl.ch <- reply{err: err}
	}
	if !c.greeted {
		c.greeted = true
		c.greetCh <- greetResult{err: err}
	}
}
