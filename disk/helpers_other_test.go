//go:build !linux

package disk

import "testing"

// clonePlans has the one technique available off Linux.
var clonePlans = []struct {
	name string
	plan copyPlan
	want []Technique
}{
	{"auto", copyPlan{}, []Technique{TechniqueZeroSkip}},
}

// checkHoles does nothing where lseek SEEK_DATA is not relied on; the
// allocated-bytes check in checkCopy still runs.
func checkHoles(*testing.T, string, []extent) {}
