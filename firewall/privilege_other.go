//go:build !linux

package firewall

func nativePermitted() error { return ErrNotAvailable }
