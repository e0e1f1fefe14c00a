package main

import (
	"github.com/smolvm/smolvm-core/capabilities"
)

// components lists the parts of smolvm-core built into this library. The
// Python submodules report available() == False for a part that is absent
// here and raise CoreUnavailableError when it is called.
//
// TODO: set "firecracker" and "disk" and add their exported functions once
// the Go packages firecracker and disk exist.
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

// nativeNetworking reports whether the network functions can use direct
// kernel calls here, from the "network.native" check of the capability
// report, with the reason when they cannot.
func nativeNetworking() (any, *errorInfo) {
	for _, c := range capabilities.Probe().Checks {
		if c.Name == "network.native" {
			return c, nil
		}
	}
	return capabilities.Check{Name: "network.native", Detail: "the capability report has no network.native check"}, nil
}

func capabilityReport() (any, *errorInfo) {
	return capabilities.Probe(), nil
}
