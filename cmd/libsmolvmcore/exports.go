//go:build cgo

package main

/*
#include <stdlib.h>
*/
import "C"

import "unsafe"

// The exported C functions. Each converts its arguments, runs the Go
// function of the same name without the prefix, and returns the response
// as a malloc'd string for the caller to release with smolvm_free.

// result returns the response of fn as a C string.
func result(fn func() (any, *errorInfo)) *C.char {
	return C.CString(respond(fn))
}

// goString copies a C string, and returns "" for NULL.
func goString(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

//export smolvm_free
func smolvm_free(p *C.char) {
	C.free(unsafe.Pointer(p))
}

//export smolvm_abi_version
func smolvm_abi_version() C.int {
	return abiVersion
}

//export smolvm_info
func smolvm_info() *C.char {
	return result(info)
}

// smolvm_capabilities returns the capability report, with the disk.reflink
// check for diskDir, or for the current directory when diskDir is NULL.
//
//export smolvm_capabilities
func smolvm_capabilities(diskDir *C.char) *C.char {
	dir := goString(diskDir)
	return result(func() (any, *errorInfo) { return capabilityReport(dir) })
}

//export smolvm_detect
func smolvm_detect() *C.char {
	return result(detectCapabilities)
}

//export smolvm_network_path
func smolvm_network_path() *C.char {
	return result(networkPath)
}

//export smolvm_create_tap
func smolvm_create_tap(name *C.char, ownerUID C.longlong) *C.char {
	n := goString(name)
	return result(func() (any, *errorInfo) { return createTAP(n, int64(ownerUID)) })
}

//export smolvm_delete_tap
func smolvm_delete_tap(name *C.char) *C.char {
	n := goString(name)
	return result(func() (any, *errorInfo) { return deleteTAP(n) })
}

//export smolvm_flush_addrs
func smolvm_flush_addrs(name *C.char) *C.char {
	n := goString(name)
	return result(func() (any, *errorInfo) { return flushAddrs(n) })
}

//export smolvm_add_addr
func smolvm_add_addr(name, ip *C.char, prefixLen C.longlong) *C.char {
	n, addr := goString(name), goString(ip)
	return result(func() (any, *errorInfo) { return addAddr(n, addr, int64(prefixLen)) })
}

//export smolvm_set_link_up
func smolvm_set_link_up(name *C.char) *C.char {
	n := goString(name)
	return result(func() (any, *errorInfo) { return setLinkUp(n) })
}

//export smolvm_configure_tap
func smolvm_configure_tap(name, hostIP *C.char, prefixLen C.longlong) *C.char {
	n, addr := goString(name), goString(hostIP)
	return result(func() (any, *errorInfo) { return configureTAP(n, addr, int64(prefixLen)) })
}

//export smolvm_prepare_tap
func smolvm_prepare_tap(name *C.char, ownerUID C.longlong, hostIP *C.char, prefixLen C.longlong, routeLocalnet C.int) *C.char {
	n, addr := goString(name), goString(hostIP)
	return result(func() (any, *errorInfo) {
		return prepareTAP(n, int64(ownerUID), addr, int64(prefixLen), routeLocalnet != 0)
	})
}

//export smolvm_add_route
func smolvm_add_route(dest *C.char, prefixLen C.longlong, dev *C.char) *C.char {
	d, device := goString(dest), goString(dev)
	return result(func() (any, *errorInfo) { return addRoute(d, int64(prefixLen), device) })
}

//export smolvm_get_default_interface
func smolvm_get_default_interface() *C.char {
	return result(defaultInterface)
}

//export smolvm_write_sysctl
func smolvm_write_sysctl(key, value *C.char) *C.char {
	k, v := goString(key), goString(value)
	return result(func() (any, *errorInfo) { return writeSysctl(k, v) })
}

//export smolvm_qmp_open
func smolvm_qmp_open(socketPath *C.char, timeout, readTimeout C.double) *C.char {
	socket := goString(socketPath)
	return result(func() (any, *errorInfo) { return qmpOpen(socket, float64(timeout), float64(readTimeout)) })
}

//export smolvm_qmp_close
func smolvm_qmp_close(handle C.ulonglong) *C.char {
	return result(func() (any, *errorInfo) { return qmpClose(uint64(handle)) })
}

// smolvm_qmp_execute runs command with arguments, a JSON object, or with
// none when arguments is NULL.
//
//export smolvm_qmp_execute
func smolvm_qmp_execute(handle C.ulonglong, command, arguments *C.char) *C.char {
	cmd, args := goString(command), goString(arguments)
	return result(func() (any, *errorInfo) { return qmpExecute(uint64(handle), cmd, args) })
}

//export smolvm_qmp_query_status
func smolvm_qmp_query_status(handle C.ulonglong) *C.char {
	return result(func() (any, *errorInfo) { return qmpQueryStatus(uint64(handle)) })
}

//export smolvm_qmp_query_version
func smolvm_qmp_query_version(handle C.ulonglong) *C.char {
	return result(func() (any, *errorInfo) { return qmpQueryVersion(uint64(handle)) })
}

//export smolvm_qmp_stop
func smolvm_qmp_stop(handle C.ulonglong) *C.char {
	return result(func() (any, *errorInfo) { return qmpStop(uint64(handle)) })
}

//export smolvm_qmp_cont
func smolvm_qmp_cont(handle C.ulonglong) *C.char {
	return result(func() (any, *errorInfo) { return qmpCont(uint64(handle)) })
}

//export smolvm_qmp_blockdev_snapshot_internal_sync
func smolvm_qmp_blockdev_snapshot_internal_sync(handle C.ulonglong, device, name *C.char) *C.char {
	dev, n := goString(device), goString(name)
	return result(func() (any, *errorInfo) { return qmpBlockdevSnapshotInternalSync(uint64(handle), dev, n) })
}

//export smolvm_qmp_blockdev_snapshot_delete_internal_sync
func smolvm_qmp_blockdev_snapshot_delete_internal_sync(handle C.ulonglong, device, name *C.char) *C.char {
	dev, n := goString(device), goString(name)
	return result(func() (any, *errorInfo) { return qmpBlockdevSnapshotDeleteInternalSync(uint64(handle), dev, n) })
}

//export smolvm_qmp_query_jobs
func smolvm_qmp_query_jobs(handle C.ulonglong) *C.char {
	return result(func() (any, *errorInfo) { return qmpQueryJobs(uint64(handle)) })
}

//export smolvm_qmp_dismiss_job
func smolvm_qmp_dismiss_job(handle C.ulonglong, jobID *C.char) *C.char {
	id := goString(jobID)
	return result(func() (any, *errorInfo) { return qmpDismissJob(uint64(handle), id) })
}

//export smolvm_qmp_wait_job
func smolvm_qmp_wait_job(handle C.ulonglong, jobID *C.char, timeout C.double) *C.char {
	id := goString(jobID)
	return result(func() (any, *errorInfo) { return qmpWaitJob(uint64(handle), id, float64(timeout)) })
}

//export smolvm_fc_open
func smolvm_fc_open(socketPath *C.char) *C.char {
	socket := goString(socketPath)
	return result(func() (any, *errorInfo) { return fcOpen(socket) })
}

//export smolvm_fc_close
func smolvm_fc_close(handle C.ulonglong) *C.char {
	return result(func() (any, *errorInfo) { return fcClose(uint64(handle)) })
}

// smolvm_fc_request sends one request with body, a JSON document, or with
// none when body is NULL.
//
//export smolvm_fc_request
func smolvm_fc_request(handle C.ulonglong, method, path, body *C.char) *C.char {
	m, p, b := goString(method), goString(path), goString(body)
	return result(func() (any, *errorInfo) { return fcRequest(uint64(handle), m, p, b) })
}

// smolvm_fc_wait waits for the API socket. pid is the Firecracker process
// to watch, or 0 for none.
//
//export smolvm_fc_wait
func smolvm_fc_wait(handle C.ulonglong, timeout C.double, pid C.longlong) *C.char {
	return result(func() (any, *errorInfo) { return fcWait(uint64(handle), float64(timeout), int64(pid)) })
}

//export smolvm_disk_clone
func smolvm_disk_clone(source, target *C.char) *C.char {
	src, dst := goString(source), goString(target)
	return result(func() (any, *errorInfo) { return diskClone(src, dst) })
}

//export smolvm_disk_decompress
func smolvm_disk_decompress(source, target *C.char, chunkSize C.longlong) *C.char {
	src, dst := goString(source), goString(target)
	return result(func() (any, *errorInfo) { return diskDecompress(src, dst, int64(chunkSize)) })
}
