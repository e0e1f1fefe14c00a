//go:build !linux

package firewall

func newNative(string) (backend, error) { return nil, ErrNotAvailable }
