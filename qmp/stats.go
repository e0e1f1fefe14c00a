package qmp

import "sync/atomic"

// Stats counts what the reader goroutine received since Dial.
type Stats struct {
	// Replies is the number of replies handed to a waiting call.
	Replies uint64
	// Events is the number of events received.
	Events uint64
	// LateReplies is the number of replies to calls whose caller had
	// already given up; they were dropped.
	LateReplies uint64
	// UnknownReplies is the number of replies with an id that matched no
	// call, or with no id and no error; they were dropped.
	UnknownReplies uint64
	// IDLessErrors is the number of error replies without an id, which
	// QEMU sends for input it cannot parse; they complete no call.
	IDLessErrors uint64
	// InvalidLines is the number of lines that were not a JSON object or
	// not a valid QMP message; they were skipped.
	InvalidLines uint64
	// OversizeLines is the number of lines longer than
	// Options.MaxLineSize; they were skipped.
	OversizeLines uint64
	// DroppedEvents is the number of event deliveries dropped because a
	// subscriber's buffer was full, plus over-long events.
	DroppedEvents uint64
}

type counters struct {
	replies, events, lateReplies, unknownReplies, idlessErrors,
	invalidLines, oversizeLines, droppedEvents atomic.Uint64
}

// Stats returns a snapshot of the session's counters.
func (c *Client) Stats() Stats {
	s := &c.stats
	return Stats{
		Replies:        s.replies.Load(),
		Events:         s.events.Load(),
		LateReplies:    s.lateReplies.Load(),
		UnknownReplies: s.unknownReplies.Load(),
		IDLessErrors:   s.idlessErrors.Load(),
		InvalidLines:   s.invalidLines.Load(),
		OversizeLines:  s.oversizeLines.Load(),
		DroppedEvents:  s.droppedEvents.Load(),
	}
}
