package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smolvm/smolvm-core/capabilities"
	"github.com/smolvm/smolvm-core/network"
)

func TestRespond(t *testing.T) {
	tests := []struct {
		name string
		fn   func() (any, *errorInfo)
		want string
	}{
		{
			name: "no value",
			fn:   func() (any, *errorInfo) { return nil, nil },
			want: `{"ok":null}`,
		},
		{
			name: "value",
			fn:   func() (any, *errorInfo) { return "tap0", nil },
			want: `{"ok":"tap0"}`,
		},
		{
			name: "raw json passes through",
			fn:   func() (any, *errorInfo) { return json.RawMessage(`{"status": "running"}`), nil },
			want: `{"ok":{"status":"running"}}`,
		},
		{
			name: "error",
			fn: func() (any, *errorInfo) {
				return nil, &errorInfo{Kind: kindOS, Errno: 17, Message: "File exists", Detail: "create tap tap0: file exists"}
			},
			want: `{"ok":null,"error":{"kind":"os","errno":17,"message":"File exists","detail":"create tap tap0: file exists"}}`,
		},
		{
			name: "panic",
			fn:   func() (any, *errorInfo) { panic("boom") },
			want: `{"ok":null,"error":{"kind":"internal","errno":0,"message":"internal error in libsmolvmcore: boom"}}`,
		},
		{
			name: "invalid raw json",
			fn:   func() (any, *errorInfo) { return json.RawMessage(`{`), nil },
			want: `{"ok":null,"error":{"kind":"internal","errno":0,"message":"encode result: json: error calling MarshalJSON for type json.RawMessage: unexpected end of JSON input"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, respond(tt.fn)); diff != "" {
				t.Errorf("respond (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	got, errInfo := info()
	if errInfo != nil {
		t.Fatalf("info: %+v", errInfo)
	}
	want := libraryInfo{ABI: abiVersion, Components: map[string]bool{
		"network": true, "qmp": true, "firecracker": true, "disk": true,
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("info (-want +got):\n%s", diff)
	}
}

func TestNetworkPath(t *testing.T) {
	got, errInfo := networkPath()
	if errInfo != nil {
		t.Fatalf("networkPath: %+v", errInfo)
	}
	path := got.(networkPathInfo)
	want := network.DefaultPath()
	if path.Backend != want.Backend.String() || path.Reason != want.Reason || path.Native != (want.Backend == network.BackendNative) {
		t.Errorf("networkPath = %+v, want the default path %+v", path, want)
	}
}

func TestDetectCapabilities(t *testing.T) {
	got, errInfo := detectCapabilities()
	if errInfo != nil {
		t.Fatalf("detectCapabilities: %+v", errInfo)
	}
	want := capabilityFlags{
		Networking:     network.DefaultPath().Backend == network.BackendNative,
		DiskIO:         true,
		QMP:            true,
		FirecrackerAPI: true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("detectCapabilities (-want +got):\n%s", diff)
	}
}

func TestCapabilityReportDiskDir(t *testing.T) {
	dir := t.TempDir()

	got, errInfo := capabilityReport(dir)

	if errInfo != nil {
		t.Fatalf("capabilityReport: %+v", errInfo)
	}
	for _, c := range got.(capabilities.Report).Checks {
		if c.Name == "disk.reflink" {
			if !strings.Contains(c.Detail, dir) {
				t.Errorf("disk.reflink detail %q does not name %s", c.Detail, dir)
			}
			return
		}
	}
	t.Error("the report has no disk.reflink check")
}
