package capabilities

import (
	"os/exec"
)

// probeQMP reports the QMP client, which needs only a Unix socket.
func probeQMP() Check {
	return Check{Name: "qmp", Available: true, Detail: "the QMP client is built in and talks to QEMU's -qmp unix socket"}
}

// probeFirecracker reports the Firecracker API client, which needs only a
// Unix socket.
func probeFirecracker() Check {
	return Check{Name: "firecracker", Available: true, Detail: "the Firecracker API client is built in and talks to --api-sock"}
}

// probeFirecrackerBinary reports whether a firecracker binary is in PATH
// for a runtime to start.
func probeFirecrackerBinary() Check {
	c := Check{Name: "firecracker.binary"}
	path, err := exec.LookPath("firecracker")
	if err != nil {
		c.Detail = "no firecracker binary is in PATH: a runtime that uses Firecracker must install it"
		return c
	}
	c.Available, c.Detail = true, path
	return c
}

// probeZstd reports the zstd decoder, which is compiled in.
func probeZstd() Check {
	return Check{Name: "disk.zstd", Available: true, Detail: "zstd images are unpacked by the built-in decoder (klauspost/compress), no zstd binary needed"}
}
