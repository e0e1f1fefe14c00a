// Package bench runs smolvm-core's benchmark comparisons side by side and
// builds the report that cmd/smolvm-bench writes to BENCHMARKS.md: TAP
// prepare, teardown and gc, default interface lookup, QMP and memory, each
// against the tools and libraries a runtime would use instead.
//
// Every comparison runs in network namespaces that it creates and deletes,
// never in the host's, and starts its own QEMU processes in temp
// directories, which it removes. It needs root and Linux. The contenders of
// a comparison run interleaved, one sample of each in turn, so that they
// share the machine's load.
package bench
