package main

import (
	"github.com/smolvm/smolvm-core/capabilities"
	"github.com/smolvm/smolvm-core/network"
)

// components lists the parts of smolvm-core built into this library. The
// Python submodules report available() == False for a part that is absent
// here and raise CoreUnavailableError when it is called.
//
// TODO: export the Go package firecracker, and a disk package once one
// exists, and set their entries here.
var components = map[string]bool{
	"network":     true,
	"qmp":         true,
	"firecracker": false,
	"disk":        false,
}

// libraryInfo describes this build for the Python loader.
type libraryInfo struct {
	ABI        int             `json:"abi"`
	Components map[string]bool `json:"components"`
}

func info() (any, *errorInfo) {
	return libraryInfo{ABI: abiVersion, Components: components}, nil
}

// networkPathInfo is the path that the network functions take, in the
// JSON form that the Python module reads.
type networkPathInfo struct {
	// Native is true on the native path of direct kernel calls.
	Native  bool   `json:"native"`
	Backend string `json:"backend"`
	Reason  string `json:"reason"`
}

// networkPath reports the path of the shared manager once it is open,
// which moves to the command path for good after a native call fails with
// EPERM. Before that, it reports the path that a new manager would take.
// Neither opens anything.
func networkPath() (any, *errorInfo) {
	netManager.mu.Lock()
	m := netManager.m
	netManager.mu.Unlock()

	path := network.DefaultPath()
	if m != nil {
		path = m.Path()
	}
	return networkPathInfo{
		Native:  path.Backend == network.BackendNative,
		Backend: path.Backend.String(),
		Reason:  path.Reason,
	}, nil
}

func capabilityReport() (any, *errorInfo) {
	return capabilities.Probe(), nil
}
