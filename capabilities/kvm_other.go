//go:build !linux

package capabilities

import "errors"

func openKVM() error { return errors.New("KVM needs Linux") }
