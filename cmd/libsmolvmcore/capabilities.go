package main

import (
	"github.com/smolvm/smolvm-core/capabilities"
	"github.com/smolvm/smolvm-core/network"
)

// components lists the parts of smolvm-core built into this library. The
// Python submodules report available() == False for a part that is absent
// here and raise CoreUnavailableError when it is called.
var components = map[string]bool{
	"network":     true,
	"qmp":         true,
	"firecracker": true,
	"disk":        true,
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
	path := currentNetworkPath()
	return networkPathInfo{
		Native:  path.Backend == network.BackendNative,
		Backend: path.Backend.String(),
		Reason:  path.Reason,
	}, nil
}

func currentNetworkPath() network.Path {
	netManager.mu.Lock()
	m := netManager.m
	netManager.mu.Unlock()

	if m != nil {
		return m.Path()
	}
	return network.DefaultPath()
}

// capabilityReport returns the report of `smolvm-core caps --json`. Its
// disk.reflink check is for the filesystem of diskDir, or of the current
// directory when diskDir is empty.
func capabilityReport(diskDir string) (any, *errorInfo) {
	return capabilities.ProbeWith(capabilities.Options{DiskDir: diskDir}), nil
}

// capabilityFlags are the four flags of the Python CoreCapabilities.
type capabilityFlags struct {
	// Networking is true when the network functions take the native path.
	Networking bool `json:"networking"`
	// DiskIO is true when the disk package and its zstd decoder are built
	// in (check disk.zstd). Reflinks are not required, because without
	// them clones are sparse copies.
	DiskIO bool `json:"disk_io"`
	// QMP and FirecrackerAPI are true when the clients are built in
	// (checks qmp and firecracker).
	QMP            bool `json:"qmp"`
	FirecrackerAPI bool `json:"firecracker_api"`
}

// detectCapabilities runs the checks of the capability report and sums
// them up as the four flags of the Python CoreCapabilities.
//
// TODO: run only the checks behind the four flags once the capabilities
// package exports them one by one. Probe runs all of them, and for a
// process that is not root that includes two `sudo -n -l` subprocesses.
func detectCapabilities() (any, *errorInfo) {
	available := make(map[string]bool)
	for _, c := range capabilities.Probe().Checks {
		available[c.Name] = c.Available
	}
	return capabilityFlags{
		Networking:     components["network"] && currentNetworkPath().Backend == network.BackendNative,
		DiskIO:         components["disk"] && available["disk.zstd"],
		QMP:            components["qmp"] && available["qmp"],
		FirecrackerAPI: components["firecracker"] && available["firecracker"],
	}, nil
}
