//go:build !linux

package network

// nativeBuilt reports whether this build has the native path.
const nativeBuilt = false

func newNative(Options) (backend, error) { return unsupported{}, nil }

// newCommand returns the unsupported backend too, because iproute2 and TAP
// devices exist on Linux only.
func newCommand(Options) backend { return unsupported{} }
