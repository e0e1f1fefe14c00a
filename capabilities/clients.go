package capabilities

import (
	"os/exec"
)

// probeQMP reports the QMP client, which needs only a Unix socket.
func probeQMP() Check {
	return Check{Name: "qmp", Available: true, Detail: "the QMP client is built in and talks to QEMU's -qmp unix socket"}
}

// probeFirecracker reports the Firecracker API client, and whether a
// firecracker binary is in PATH for a runtime to start.
func probeFirecracker() Check {
	c := Check{Name: "firecracker", Available: true}
	if path, err := exec.LookPath("firecracker"); err == nil {
		c.Detail = "the API client is built in; firecracker is " + path
	} else {
		c.Detail = "the API client is built in; no firecracker binary is in PATH, so a runtime must bring its own"
	}
	return c
}

// probeZstd reports the zstd decoder, which is compiled in.
func probeZstd() Check {
	return Check{Name: "disk.zstd", Available: true, Detail: "zstd images are unpacked by the built-in decoder (klauspost/compress), no zstd binary needed"}
}
