//go:build !linux

package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// SectionIDs returns the ids that Options.Only accepts. There are none on
// this platform.
func SectionIDs() []string { return nil }

// Run fails on this platform, because every comparison needs Linux
// network namespaces.
func Run(context.Context, Options) (*Report, error) {
	return nil, fmt.Errorf("benchmarks need Linux network namespaces, not %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
