package qmp

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readAll reads every line and describes each as its text or, for an
// over-long line, as "oversize N id=ID event=BOOL".
func readAll(t *testing.T, input string, limit int) ([]string, error) {
	t.Helper()
	lr := newLineReader(strings.NewReader(input), limit)
	var got []string
	for {
		line, over, err := lr.readLine()
		if err != nil {
			return got, err
		}
		if over != nil {
			id, _ := oversizeID(over)
			got = append(got, strings.Join([]string{"oversize", strconv.FormatInt(over.size, 10), "id=" + id, "event=" + strconv.FormatBool(oversizeIsEvent(over))}, " "))
			continue
		}
		got = append(got, string(line))
	}
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 100)
	idLast := `{"return": "` + long + `", "id": "c7"}`
	idFirst := `{"id": "c8", "error": {"desc": "` + long + `"}}`
	idInside := `{"return": {"id": "job", "x": "` + long + `"}}`
	event := `{"timestamp": {"seconds": 1}, "event": "X", "data": "` + long + `"}`
	size := func(line string) string { return strconv.Itoa(len(line)) }
	tests := []struct {
		name    string
		input   string
		limit   int
		want    []string
		wantErr error
	}{
		{name: "lf", input: "a\nb\n", limit: 10, want: []string{"a", "b"}, wantErr: io.EOF},
		{name: "crlf", input: "a\r\nb\r\n", limit: 10, want: []string{"a", "b"}, wantErr: io.EOF},
		{name: "exactly at the limit", input: "abcd\r\n", limit: 4, want: []string{"abcd"}, wantErr: io.EOF},
		{name: "one over the limit", input: "abcde\nok\n", limit: 4, want: []string{"oversize 5 id= event=false", "ok"}, wantErr: io.EOF},
		{
			name:    "id last",
			input:   idLast + "\r\nnext\n",
			limit:   16,
			want:    []string{"oversize " + size(idLast) + " id=c7 event=false", "next"},
			wantErr: io.EOF,
		},
		{
			name:    "id first",
			input:   idFirst + "\n",
			limit:   16,
			want:    []string{"oversize " + size(idFirst) + " id=c8 event=false"},
			wantErr: io.EOF,
		},
		{
			name:    "id inside the payload only",
			input:   idInside + "\n",
			limit:   16,
			want:    []string{"oversize " + size(idInside) + " id= event=false"},
			wantErr: io.EOF,
		},
		{
			name:    "event",
			input:   event + "\n",
			limit:   16,
			want:    []string{"oversize " + size(event) + " id= event=true"},
			wantErr: io.EOF,
		},
		{name: "closed mid-line", input: "a\nbc", limit: 10, want: []string{"a"}, wantErr: io.ErrUnexpectedEOF},
		{name: "closed mid long line", input: "a\n" + long, limit: 10, want: []string{"a"}, wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(t, tt.input, tt.limit)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("final error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLineReaderLongerThanBuffer(t *testing.T) {
	big := `{"return": "` + strings.Repeat("y", 3*readBufferSize) + `", "id": "c9"}`
	got, err := readAll(t, big+"\nafter\n", readBufferSize)
	if !errors.Is(err, io.EOF) {
		t.Errorf("final error = %v, want EOF", err)
	}
	want := []string{"oversize " + strconv.Itoa(len(big)) + " id=c9 event=false", "after"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}

	got, err = readAll(t, big+"\n", len(big))
	if !errors.Is(err, io.EOF) || len(got) != 1 || got[0] != big {
		t.Errorf("line at the limit: got %d lines, error %v; want the whole line", len(got), err)
	}
}
