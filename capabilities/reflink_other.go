//go:build !linux

package capabilities

func probeReflink(dir string) Check {
	return Check{Name: "disk.reflink", Detail: "reflink detection needs Linux; clones copy the data and skip zero blocks"}
}
