package main

import (
	"sync"
	"sync/atomic"
)

// lastHandle is the last handle given out by any handleTable. One counter
// for all tables means a handle is never reused, not even by a client of
// another kind, so a stale or mixed-up handle fails cleanly instead of
// reaching another client.
var lastHandle atomic.Uint64

// handleTable maps the handles that the C functions return to the Go
// values behind them. It is safe for concurrent use.
type handleTable[T any] struct {
	mu   sync.Mutex
	byID map[uint64]T
}

// add stores v under a new handle and returns the handle, which is never 0.
func (h *handleTable[T]) add(v T) uint64 {
	id := lastHandle.Add(1)

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byID == nil {
		h.byID = make(map[uint64]T)
	}
	h.byID[id] = v
	return id
}

// get returns the value of handle, and false when the handle is unknown or
// removed.
func (h *handleTable[T]) get(handle uint64) (T, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.byID[handle]
	return v, ok
}

// remove deletes handle and returns its value, and false when the handle
// was unknown or already removed.
func (h *handleTable[T]) remove(handle uint64) (T, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.byID[handle]
	delete(h.byID, handle)
	return v, ok
}
