package qmp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"regexp"
)

const (
	// readBufferSize is the size of the buffered reader on the socket.
	readBufferSize = 64 << 10
	// oversizeKeep is how many bytes of the start and of the end of an
	// over-long line are kept to find out whom the line belongs to.
	oversizeKeep = 4 << 10
	// shrinkAbove is the line buffer capacity above which the buffer is
	// dropped after use, so one large reply does not pin its memory.
	shrinkAbove = 1 << 20
)

// oversizeLine describes a line longer than the maximum that was read and
// thrown away up to its newline.
type oversizeLine struct {
	head []byte // first bytes of the line
	tail []byte // last bytes of the line, without the line ending
	size int64  // length in bytes, without the line ending
}

// lineReader splits the stream on '\n', trims a trailing '\r' and limits
// the line length. After an over-long line it resumes at the next newline,
// so the session stays usable.
type lineReader struct {
	br   *bufio.Reader
	max  int
	line []byte
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, readBufferSize), max: max}
}

// readLine returns the next line, or a description of the line when it
// exceeds the maximum. The returned slice is valid until the next call.
// A stream that ends inside a line returns io.ErrUnexpectedEOF.
func (lr *lineReader) readLine() ([]byte, *oversizeLine, error) {
	if cap(lr.line) > shrinkAbove {
		lr.line = nil
	}
	lr.line = lr.line[:0]

	var over *oversizeLine
	for {
		frag, err := lr.br.ReadSlice('\n')
		if over == nil && len(lr.line)+len(frag) <= lr.max+2 {
			// The 2 bytes leave room for a "\r\n" line ending.
			lr.line = append(lr.line, frag...)
		} else {
			if over == nil {
				over = &oversizeLine{head: bytes.Clone(lr.line[:min(len(lr.line), oversizeKeep)])}
				over.size = int64(len(lr.line))
				over.tail = append(over.tail, lr.line[max(0, len(lr.line)-oversizeKeep):]...)
			}
			if len(over.head) < oversizeKeep {
				over.head = append(over.head, frag[:min(len(frag), oversizeKeep-len(over.head))]...)
			}
			over.size += int64(len(frag))
			over.tail = appendTail(over.tail, frag)
		}

		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && (len(lr.line) > 0 || over != nil) {
			err = io.ErrUnexpectedEOF
		}
		return nil, nil, err
	}

	if over != nil {
		trimmed := trimLineEnding(over.tail)
		over.size -= int64(len(over.tail) - len(trimmed))
		over.tail = trimmed
		return nil, over, nil
	}
	line := trimLineEnding(lr.line)
	if len(line) > lr.max {
		over = &oversizeLine{
			head: bytes.Clone(line[:min(len(line), oversizeKeep)]),
			tail: bytes.Clone(line[max(0, len(line)-oversizeKeep):]),
			size: int64(len(line)),
		}
		return nil, over, nil
	}
	return line, nil, nil
}

// appendTail appends frag to tail and keeps only the last oversizeKeep
// bytes.
func appendTail(tail, frag []byte) []byte {
	if len(frag) >= oversizeKeep {
		return append(tail[:0], frag[len(frag)-oversizeKeep:]...)
	}
	tail = append(tail, frag...)
	if extra := len(tail) - oversizeKeep; extra > 0 {
		tail = append(tail[:0], tail[extra:]...)
	}
	return tail
}

func trimLineEnding(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

var (
	// leadingID matches a line whose first key is a string "id".
	leadingID = regexp.MustCompile(`^\s*\{\s*"id"\s*:\s*"((?:[^"\\]|\\.)*)"`)
	// trailingID matches a line whose last key is a string "id", the
	// order QEMU 7.2 uses for successful replies.
	trailingID = regexp.MustCompile(`"id"\s*:\s*"((?:[^"\\]|\\.)*)"\s*\}\s*$`)
	// leadingEvent matches a line that starts like a QEMU event.
	leadingEvent = regexp.MustCompile(`^\s*\{\s*"(?:timestamp|event)"\s*:`)
)

// oversizeID returns the id of an over-long reply when it is the first or
// the last key of the object. QEMU puts it last in successful replies and
// first in error replies.
func oversizeID(o *oversizeLine) (string, bool) {
	for _, m := range [][][]byte{leadingID.FindSubmatch(o.head), trailingID.FindSubmatch(o.tail)} {
		if m == nil {
			continue
		}
		if id, ok := stringID(append(append([]byte{'"'}, m[1]...), '"')); ok {
			return id, true
		}
	}
	return "", false
}

// oversizeIsEvent reports whether an over-long line starts like an event.
func oversizeIsEvent(o *oversizeLine) bool {
	return leadingEvent.Match(o.head)
}
