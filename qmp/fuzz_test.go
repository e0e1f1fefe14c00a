package qmp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// seedLines are lines as QEMU 7.2 writes them, plus broken variants.
var seedLines = []string{
	`{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}`,
	`{"return": {}, "id": "c1"}`,
	`{"return": {"status": "running", "singlestep": false, "running": true}, "id": "c2"}`,
	`{"id": "c3", "error": {"class": "CommandNotFound", "desc": "The command nosuch has not been found"}}`,
	`{"error": {"class": "GenericError", "desc": "JSON parse error, invalid keyword 'garbage'"}}`,
	`{"timestamp": {"seconds": 1796414778, "microseconds": 744955}, "event": "JOB_STATUS_CHANGE", "data": {"status": "concluded", "id": "j1"}}`,
	`{"return": [{"current-progress": 1, "status": "concluded", "total-progress": 1, "type": "snapshot-save", "id": "j1", "error": "vmstate block device 'nodisk' does not exist"}], "id": "c4"}`,
	`{"return": null, "id": 7}`,
	`{"event": "X", "return": {}}`,
	`[1, 2]`,
	`{"return": {}, "id": "`,
	``,
}

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range seedLines {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		m, kind, err := decodeMessage(line)
		if err != nil {
			return
		}
		switch kind {
		case kindGreeting:
			if m.QMP == nil {
				t.Errorf("greeting without QMP key from %q", line)
			}
		case kindEvent:
			if m.Event == "" || m.ID != nil || m.Return != nil || m.Error != nil {
				t.Errorf("event %+v from %q mixes in reply keys", m, line)
			}
			m.event()
		case kindReply:
			if m.Event != "" || m.QMP != nil {
				t.Errorf("reply %+v from %q has event or greeting keys", m, line)
			}
			stringID(m.ID)
		default:
			t.Errorf("no kind and no error for %q", line)
		}
	})
}

func FuzzLineReader(f *testing.F) {
	f.Add([]byte(seedLines[1]+"\r\n"+seedLines[5]+"\n"), 64)
	f.Add([]byte(seedLines[0]+"\n"+seedLines[3]+"\r\n"+seedLines[2]), 16)
	f.Add([]byte("\n\n\r\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, limit int) {
		if limit <= 0 || limit > 1<<16 {
			return
		}
		lr := newLineReader(bytes.NewReader(data), limit)
		var total int64
		for {
			line, over, err := lr.readLine()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("readLine error %v", err)
				}
				break
			}
			if over != nil {
				if over.size <= int64(limit) {
					t.Errorf("line of %d bytes reported over the limit %d", over.size, limit)
				}
				oversizeID(over)
				oversizeIsEvent(over)
				total += over.size + 1
				continue
			}
			if len(line) > limit || bytes.IndexByte(line, '\n') >= 0 {
				t.Errorf("line %q breaks the limit %d or holds a newline", line, limit)
			}
			total += int64(len(line)) + 1
		}
		if total > int64(len(data)) {
			t.Errorf("read %d bytes of lines from %d bytes of input", total, len(data))
		}
	})
}

func FuzzEncodeArguments(f *testing.F) {
	for _, s := range []string{`{}`, `{"a": [1, 2]}`, `[1]`, `"x"`, `{`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := encodeArguments(json.RawMessage(raw))
		if err != nil || out == nil {
			return
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(out, &obj); err != nil {
			t.Errorf("encodeArguments(%q) = %q, which is not a JSON object: %v", raw, out, err)
		}
	})
}
