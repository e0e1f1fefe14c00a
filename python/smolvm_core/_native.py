"""Loader and calling convention of libsmolvmcore, the Go shared library.

The library is loaded with ctypes when the package is imported. ctypes
releases the GIL for the length of every call, so other Python threads run
while Go works. If loading fails, the package still imports: ``loaded()``
is False and :func:`call` raises CoreUnavailableError naming the path and
the loader's error.

Every function returns a JSON document that Go allocated. :func:`call`
copies it and hands the pointer back to ``smolvm_free``, so memory is always
freed by the side that allocated it.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from pathlib import Path
from typing import Any

from .errors import CoreUnavailableError, FirecrackerAPIError, QMPError, SmolVMCoreError, kernel_error

#: Environment variable naming a library file to load instead of the one in
#: the package directory.
LIBRARY_ENV = "SMOLVM_CORE_LIBRARY"

#: Version of the C functions and JSON documents this package speaks; it
#: must equal abiVersion in cmd/libsmolvmcore.
ABI_VERSION = 2

_c_char_p = ctypes.c_char_p
_c_longlong = ctypes.c_longlong
_c_double = ctypes.c_double
_c_handle = ctypes.c_ulonglong

# Argument types of the functions that return a JSON document.
_PROTOTYPES: dict[str, list[Any]] = {
    "smolvm_info": [],
    "smolvm_capabilities": [_c_char_p],
    "smolvm_detect": [],
    "smolvm_network_path": [],
    "smolvm_create_tap": [_c_char_p, _c_longlong],
    "smolvm_delete_tap": [_c_char_p],
    "smolvm_flush_addrs": [_c_char_p],
    "smolvm_add_addr": [_c_char_p, _c_char_p, _c_longlong],
    "smolvm_set_link_up": [_c_char_p],
    "smolvm_configure_tap": [_c_char_p, _c_char_p, _c_longlong],
    "smolvm_prepare_tap": [_c_char_p, _c_longlong, _c_char_p, _c_longlong, ctypes.c_int],
    "smolvm_add_route": [_c_char_p, _c_longlong, _c_char_p],
    "smolvm_get_default_interface": [],
    "smolvm_write_sysctl": [_c_char_p, _c_char_p],
    "smolvm_qmp_open": [_c_char_p, _c_double, _c_double],
    "smolvm_qmp_close": [_c_handle],
    "smolvm_qmp_execute": [_c_handle, _c_char_p, _c_char_p],
    "smolvm_qmp_query_status": [_c_handle],
    "smolvm_qmp_query_version": [_c_handle],
    "smolvm_qmp_stop": [_c_handle],
    "smolvm_qmp_cont": [_c_handle],
    "smolvm_qmp_blockdev_snapshot_internal_sync": [_c_handle, _c_char_p, _c_char_p],
    "smolvm_qmp_blockdev_snapshot_delete_internal_sync": [_c_handle, _c_char_p, _c_char_p],
    "smolvm_qmp_query_jobs": [_c_handle],
    "smolvm_qmp_dismiss_job": [_c_handle, _c_char_p],
    "smolvm_qmp_wait_job": [_c_handle, _c_char_p, _c_double],
    "smolvm_fc_open": [_c_char_p],
    "smolvm_fc_close": [_c_handle],
    "smolvm_fc_request": [_c_handle, _c_char_p, _c_char_p, _c_char_p],
    "smolvm_fc_wait": [_c_handle, _c_double, _c_longlong],
    "smolvm_disk_clone": [_c_char_p, _c_char_p],
    "smolvm_disk_decompress": [_c_char_p, _c_char_p, _c_longlong],
}


def _default_library_path() -> Path:
    name = "libsmolvmcore.dylib" if sys.platform == "darwin" else "libsmolvmcore.so"
    return Path(__file__).resolve().with_name(name)


#: The library file that the package loads.
library_path = Path(os.environ.get(LIBRARY_ENV) or _default_library_path())

_lib: ctypes.CDLL | None = None
_components: dict[str, bool] = {}
#: The loader's error message, or None when the library was loaded.
load_error: str | None = None


def _declare_abi(lib: ctypes.CDLL) -> None:
    lib.smolvm_free.argtypes = [ctypes.c_void_p]
    lib.smolvm_free.restype = None
    lib.smolvm_abi_version.argtypes = []
    lib.smolvm_abi_version.restype = ctypes.c_int


def _declare(lib: ctypes.CDLL) -> None:
    for name, argtypes in _PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.argtypes = argtypes
        # c_void_p rather than c_char_p keeps the pointer, which must go
        # back to smolvm_free.
        fn.restype = ctypes.c_void_p


def _load() -> None:
    global _lib, _components, load_error
    try:
        lib = ctypes.CDLL(str(library_path))
        _declare_abi(lib)
    except (OSError, AttributeError) as exc:
        load_error = str(exc)
        return
    # The version is checked before the other functions are looked up, so
    # a stale build gets this message rather than a missing symbol.
    abi = lib.smolvm_abi_version()
    if abi != ABI_VERSION:
        load_error = f"the library has ABI version {abi}, this package needs {ABI_VERSION}: rebuild it with `make python`"
        return
    try:
        _declare(lib)
    except AttributeError as exc:
        load_error = str(exc)
        return
    _components = _decode(lib, lib.smolvm_info())["ok"]["components"]
    _lib = lib


def loaded() -> bool:
    """Return True when the library was loaded."""
    return _lib is not None


def has_component(name: str) -> bool:
    """Return True when the loaded library contains the named part, such as "qmp"."""
    return bool(_components.get(name))


def unavailable_error(component: str | None = None) -> CoreUnavailableError:
    """Build the error for a call that needs the library, or a part of it."""
    if _lib is None:
        return CoreUnavailableError(
            f"the smolvm_core native library {library_path} could not be loaded: {load_error} "
            f"(build it with `make python`, or set {LIBRARY_ENV} to its path)"
        )
    return CoreUnavailableError(
        f"the library {library_path} does not include {component} support yet"
    )


def require(component: str | None) -> ctypes.CDLL:
    """Return the library, or raise CoreUnavailableError when it or the named part is missing.

    A ``component`` of None needs only the library.
    """
    if _lib is None or (component is not None and not has_component(component)):
        raise unavailable_error(component)
    return _lib


def _decode(lib: ctypes.CDLL, pointer: int | None) -> dict[str, Any]:
    if not pointer:
        raise SmolVMCoreError("libsmolvmcore returned a null pointer")
    try:
        raw = ctypes.string_at(pointer)
    finally:
        lib.smolvm_free(pointer)
    return json.loads(raw)


def call(component: str | None, function: str, *args: Any) -> Any:
    """Call an exported function of the named part and return its result, or raise its error."""
    lib = require(component)
    response = _decode(lib, getattr(lib, function)(*args))
    error = response.get("error")
    if error is not None:
        raise to_exception(error)
    return response.get("ok")


def to_exception(error: dict[str, Any]) -> Exception:
    """Convert the "error" object of a response to the exception to raise."""
    kind = error.get("kind")
    message = error.get("message", "")
    if kind == "os":
        return kernel_error(error.get("errno") or 0, message, error.get("detail"))
    if kind == "qmp":
        return QMPError(message, dict(error.get("details") or {}))
    if kind == "firecracker_api":
        details = dict(error.get("details") or {})
        return FirecrackerAPIError(message, status_code=details.get("status_code"), details=details)
    if kind == "value":
        return ValueError(message)
    return SmolVMCoreError(message)


def encode(value: str, argument: str) -> bytes:
    """Encode a str argument for C, rejecting types and values C cannot carry.

    ``argument`` names the argument in the error, such as "create_tap() argument 'name'".
    """
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be str, not {type(value).__name__}")
    if "\x00" in value:
        raise ValueError(f"{argument} must not contain NUL characters: {value!r}")
    return value.encode("utf-8")


def encode_path(value: str | bytes | os.PathLike[Any], argument: str) -> bytes:
    """Encode a file path for C as ``open()`` does, with the file system encoding.

    ``value`` is a str, bytes or path-like object. A NUL character raises
    ValueError, as it does for ``open()``.
    """
    try:
        path = os.fspath(value)
    except TypeError:
        raise TypeError(f"{argument} must be str, bytes or os.PathLike, not {type(value).__name__}") from None
    encoded = os.fsencode(path)
    if b"\x00" in encoded:
        raise ValueError(f"{argument} must not contain NUL characters: {path!r}")
    return encoded


_load()
