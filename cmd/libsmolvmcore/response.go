package main

import (
	"encoding/json"
	"fmt"
)

// abiVersion is the version of the exported C functions and of the JSON
// documents they return. The Python package refuses a library whose
// version differs, so a stale build fails with a clear message instead of
// calling functions with the wrong arguments.
const abiVersion = 2

// Error kinds, described in the package documentation.
const (
	kindOS             = "os"
	kindQMP            = "qmp"
	kindFirecrackerAPI = "firecracker_api"
	kindValue          = "value"
	kindInternal       = "internal"
)

// errorInfo is the "error" object of a response.
type errorInfo struct {
	Kind    string         `json:"kind"`
	Errno   int            `json:"errno"`
	Message string         `json:"message"`
	Detail  string         `json:"detail,omitempty"`
	Details map[string]any `json:"details,omitempty"`
}

// response is the JSON document that every exported function returns.
type response struct {
	OK    any        `json:"ok"`
	Error *errorInfo `json:"error,omitempty"`
}

// respond runs fn and encodes its result or error. A panic in fn becomes
// an error of kind "internal", because an unrecovered panic would abort
// the whole host process.
func respond(fn func() (any, *errorInfo)) (out string) {
	defer func() {
		if r := recover(); r != nil {
			out = encode(response{Error: &errorInfo{
				Kind:    kindInternal,
				Message: fmt.Sprintf("internal error in libsmolvmcore: %v", r),
			}})
		}
	}()

	value, errInfo := fn()
	if errInfo != nil {
		return encode(response{Error: errInfo})
	}
	return encode(response{OK: value})
}

// encode marshals r. A value that cannot be encoded, such as invalid raw
// JSON, becomes an error of kind "internal".
func encode(r response) string {
	b, err := json.Marshal(r)
	if err != nil {
		b, _ = json.Marshal(response{Error: &errorInfo{
			Kind:    kindInternal,
			Message: "encode result: " + err.Error(),
		}})
	}
	return string(b)
}

// valueError returns an error of kind "value", which Python raises as
// ValueError.
func valueError(format string, args ...any) *errorInfo {
	return &errorInfo{Kind: kindValue, Message: fmt.Sprintf(format, args...)}
}
