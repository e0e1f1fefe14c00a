package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// warningHandler prints library log records for people, one line each:
// "smolvm-core: warning: MESSAGE (key: value)". The library's messages
// already start with "smolvm-core: ", so that prefix is not repeated.
type warningHandler struct {
	mu    *sync.Mutex // shared with the handlers WithAttrs returns
	w     io.Writer
	attrs []slog.Attr
}

func newWarningHandler(w io.Writer) *warningHandler {
	return &warningHandler{mu: new(sync.Mutex), w: w}
}

func (h *warningHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *warningHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("smolvm-core: ")
	if r.Level == slog.LevelWarn {
		b.WriteString("warning")
	} else {
		b.WriteString(strings.ToLower(r.Level.String()))
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(r.Message, "smolvm-core: "))
	var parts []string
	add := func(a slog.Attr) bool {
		parts = append(parts, a.Key+": "+a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	if len(parts) > 0 {
		b.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := fmt.Fprintln(h.w, b.String())
	return err
}

func (h *warningHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &warningHandler{mu: h.mu, w: h.w, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *warningHandler) WithGroup(string) slog.Handler { return h }
