package firecracker

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"unicode/utf8"
)

// seedReplies are replies as Firecracker sends them, plus broken variants.
var seedReplies = []struct {
	status int
	body   string
}{
	{200, `{"id":"anonymous-instance","state":"Not started","vmm_version":"1.7.0","app_name":"Firecracker"}`},
	{200, `{"vcpu_count":2,"mem_size_mib":1024,"smt":false,"track_dirty_pages":false,"huge_pages":"None"}`},
	{204, ``},
	{400, `{"fault_message":"The requested operation is not supported after starting the microVM."}`},
	{400, `{"fault_message":""}`},
	{400, `{"fault_message":17}`},
	{500, `not json`},
	{404, ``},
	{200, `{"unterminated":`},
	{200, "\xff\xfe"},
	{302, `{}`},
}

func FuzzDecodeReply(f *testing.F) {
	for _, s := range seedReplies {
		f.Add(s.status, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		payload, err := decodeReply(status, body)
		var apiErr *APIError
		if status >= 200 && status < 300 {
			if errors.As(err, &apiErr) {
				t.Fatalf("status %d gave an APIError: %v", status, err)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidReply) {
					t.Fatalf("status %d: error %v does not match ErrInvalidReply", status, err)
				}
				return
			}
			if payload != nil && !json.Valid(payload) {
				t.Fatalf("status %d: payload %q is not JSON", status, payload)
			}
			return
		}

		if !errors.As(err, &apiErr) || payload != nil {
			t.Fatalf("status %d gave %q, %v, want only an APIError", status, payload, err)
		}
		if apiErr.StatusCode != status {
			t.Fatalf("StatusCode %d, want %d", apiErr.StatusCode, status)
		}
		if apiErr.FaultMessage == "" && len(apiErr.Body) != len(body) {
			t.Fatalf("no fault message and Body of %d bytes, want the whole body of %d", len(apiErr.Body), len(body))
		}
		if apiErr.FaultMessage != "" && apiErr.Body != nil {
			t.Fatalf("both a fault message and a body: %+v", apiErr)
		}
		apiErr.Method, apiErr.Path, apiErr.Socket = http.MethodGet, "/", "s"
		text := apiErr.Error()
		if apiErr.FaultMessage == "" && len(text) > 100+4*maxBodyInError+len(http.StatusText(status)) {
			t.Fatalf("error text of %d bytes for a body of %d", len(text), len(body))
		}
		if apiErr.FaultMessage == "" && !utf8.ValidString(text) {
			t.Fatalf("error text %q is not valid UTF-8", text)
		}
	})
}

// FuzzValidatePath checks that a path ValidatePath accepts reaches the
// server exactly as given: net/http neither escapes nor splits it.
func FuzzValidatePath(f *testing.F) {
	for _, p := range []string{"/", "/actions", "/drives/rootfs", "/a/../b", "/a?b", "/é", "/a%20b", "/a b", "//x"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, path string) {
		if ValidatePath(path) != nil {
			return
		}
		req, err := http.NewRequest(http.MethodGet, "http://localhost"+path, nil)
		if err != nil {
			t.Fatalf("valid path %q: %v", path, err)
		}
		if got := req.URL.RequestURI(); got != path {
			t.Fatalf("valid path %q is sent as %q", path, got)
		}
	})
}
