package qmp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// messageKind is the type of a line from QEMU, decided by its top-level keys.
type messageKind int

const (
	kindGreeting messageKind = iota + 1
	kindEvent
	kindReply
)

// message is one decoded line from QEMU. Raw fields stay undecoded so
// that callers decode only what they need; unknown keys are ignored.
type message struct {
	QMP       json.RawMessage `json:"QMP"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	Timestamp *timestamp      `json:"timestamp"`
	ID        json.RawMessage `json:"id"`
	Return    json.RawMessage `json:"return"`
	Error     *errorBody      `json:"error"`
}

type timestamp struct {
	Seconds      int64 `json:"seconds"`
	Microseconds int64 `json:"microseconds"`
}

type errorBody struct {
	Class string `json:"class"`
	Desc  string `json:"desc"`
}

// errNotObject reports a line that is valid JSON but not an object.
var errNotObject = errors.New("not a json object")

// decodeMessage decodes one line and classifies it. A line with both a
// reply key and an event name is a protocol error because QEMU never sends
// one.
func decodeMessage(line []byte) (message, messageKind, error) {
	var m message
	trimmed := bytes.TrimLeft(line, " \t")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if json.Valid(line) {
			return m, 0, errNotObject
		}
		return m, 0, fmt.Errorf("invalid json")
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return m, 0, err
	}

	isReply := m.Return != nil || m.Error != nil || m.ID != nil
	switch {
	case m.QMP != nil && !isReply && m.Event == "":
		return m, kindGreeting, nil
	case m.Event != "" && !isReply:
		return m, kindEvent, nil
	case isReply && m.Event == "" && m.QMP == nil:
		return m, kindReply, nil
	}
	return m, 0, fmt.Errorf("%w: message is neither greeting, event nor reply", ErrProtocol)
}

// stringID returns the id of a reply when it is a JSON string. The client
// only sends string ids, so any other id cannot belong to one of its calls.
func stringID(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		return "", false
	}
	return id, true
}

// Event is an asynchronous notification from QEMU, such as STOP or
// JOB_STATUS_CHANGE.
type Event struct {
	// Name is the event name, such as "JOB_STATUS_CHANGE".
	Name string
	// Data is the event's "data" object; nil when the event has none.
	Data json.RawMessage
	// Time is QEMU's timestamp of the event; zero when absent.
	Time time.Time
}

func (m *message) event() Event {
	ev := Event{Name: m.Event, Data: m.Data}
	if m.Timestamp != nil {
		ev.Time = time.Unix(m.Timestamp.Seconds, m.Timestamp.Microseconds*1000)
	}
	return ev
}

// request is the wire form of a command.
type request struct {
	Execute   string          `json:"execute"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	ID        string          `json:"id"`
}

// encodeArguments turns the args given to Execute into a JSON object, or
// nil for no arguments, which nil and JSON null both mean. QMP requires "arguments" to be an object, so
// anything else is rejected before it is sent.
func encodeArguments(args any) (json.RawMessage, error) {
	var raw []byte
	switch a := args.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if a == nil {
			return nil, nil
		}
		raw = a
	case []byte:
		raw = a
	default:
		var err error
		raw, err = json.Marshal(args)
		if err != nil {
			return nil, fmt.Errorf("encode arguments: %w", err)
		}
	}

	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("encode arguments: %w", err)
	}
	if compact.String() == "null" {
		// A nil pointer or map encodes to null and means no arguments.
		return nil, nil
	}
	if compact.Len() == 0 || compact.Bytes()[0] != '{' {
		return nil, fmt.Errorf("encode arguments: %w, got %.40q", errNotObject, compact.Bytes())
	}
	return compact.Bytes(), nil
}
