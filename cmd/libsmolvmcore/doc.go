// Command libsmolvmcore is the C shared library behind the smolvm_core
// Python module. Build it with `make python`, which runs
//
//	go build -buildmode=c-shared -o python/smolvm_core/libsmolvmcore.so ./cmd/libsmolvmcore
//
// The Python package loads it with ctypes, so users need no compiler.
//
// Every exported function except smolvm_free and smolvm_abi_version returns
// a NUL-terminated JSON document that Go allocates with malloc. The caller
// owns it and must release it with smolvm_free. On success the document is
// {"ok": VALUE}, where VALUE is null for operations without a result. On
// failure it is {"error": {...}} with these fields:
//
//   - kind: "os" for an OSError of the network and disk functions or of a
//     Firecracker request without a usable reply, "qmp" for a QMP
//     failure, "firecracker_api" for a Firecracker reply with an error
//     status, "value" for an argument rejected before any work, and
//     "internal" for a bug in this library, such as a recovered panic.
//   - errno: the errno value for kind "os", or 0 when there is none, as
//     for "Not available on this platform".
//   - message: the text the Python module raises, such as "File exists".
//   - detail: the full Go error, such as
//     "create tap tap0: tap exists with owner 1000, requested 0".
//   - details: for kinds "qmp" and "firecracker_api", the keys of the
//     details of QMPError and FirecrackerAPIError.
//
// String arguments are borrowed for the duration of the call and copied;
// the library keeps no pointer to caller memory.
//
// Network functions share one network.Manager per process, opened on first
// use in the namespace of the process, and kept until the process exits.
// It picks its path with network.BackendAuto: direct kernel calls when the
// process may make them, else ip and sysctl subprocesses.
// QMP and Firecracker clients are referred to by a handle from
// smolvm_qmp_open or smolvm_fc_open, which stays valid until
// smolvm_qmp_close or smolvm_fc_close. A handle is never reused, so a call
// with a closed handle fails cleanly instead of reaching another client.
//
// All exported functions are safe to call from several threads at once,
// including several calls on one QMP or Firecracker handle. Go panics are recovered and
// returned as kind "internal", so a bug does not abort the host process.
package main
