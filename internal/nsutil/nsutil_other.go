//go:build !linux

package nsutil

import (
	"errors"
	"fmt"
)

// Create is not available: network namespaces are a Linux feature.
func Create(name string) error {
	return fmt.Errorf("create netns %s: %w", name, errors.ErrUnsupported)
}

// Delete is not available: network namespaces are a Linux feature.
func Delete(name string) error {
	return fmt.Errorf("delete netns %s: %w", name, errors.ErrUnsupported)
}

// Exists always reports false.
func Exists(string) bool { return false }

// Do is not available: network namespaces are a Linux feature.
func Do(name string, _ func() error) error {
	return fmt.Errorf("enter netns %s: %w", name, errors.ErrUnsupported)
}
