"""Exception types raised by smolvm_core.

Network and disk functions raise ``OSError`` (see :func:`kernel_error`),
and so do Firecracker requests that get no usable reply. QMP failures raise
:class:`QMPError`, and Firecracker error replies
:class:`FirecrackerAPIError`. Calls into parts of smolvm-core that this
build lacks raise :class:`CoreUnavailableError`.
"""

from __future__ import annotations

from typing import Any


class SmolVMCoreError(Exception):
    """Base class of the errors that smolvm_core defines itself."""


class CoreUnavailableError(SmolVMCoreError):
    """Raised when the native library, or a part of it, is not available."""


class QMPError(SmolVMCoreError):
    """Raised when a QMP command, job or connection fails.

    ``details`` always contains ``socket_path``. When QEMU rejected a
    command, it also contains ``command``, ``class`` and ``desc``. When a
    job failed, it contains ``job_id``, ``job_type``, ``status`` and
    ``error``. When a job was not found or did not conclude in time, it
    contains ``job_id`` and ``last_status``.
    """

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, Any] = details or {}


class FirecrackerAPIError(SmolVMCoreError):
    """Raised when the Firecracker API replies with a status of 300 or more.

    ``status_code`` is the HTTP status. ``details`` contains
    ``socket_path``, ``method``, ``path``, ``status_code`` and
    ``fault_message``, Firecracker's reason or None when the reply has
    none. A reply body without a fault message is kept as ``body``.
    """

    def __init__(
        self, message: str, *, status_code: int | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.details: dict[str, Any] = details or {}


# OSError subclasses whose str() is the message alone, keyed by the
# built-in class that the errno selects, such as FileExistsError.
_kernel_error_classes: dict[type, type] = {}


def _message_only(self: OSError) -> str:
    return str(self.strerror)


def kernel_error(errno_value: int, message: str, detail: str | None = None) -> OSError:
    """Build the OSError that a network or disk function raises.

    ``str()`` of the result is ``message`` alone, such as "File exists", as
    the original module raised it, so callers that compare or search the
    text keep working. ``errno`` is ``errno_value``, or None when it is 0,
    and the class is the built-in one for that errno, such as
    FileExistsError for EEXIST. ``detail`` is the full error from the Go
    library, kept as the ``detail`` attribute.
    """
    if not errno_value:
        exc = OSError(message)
    else:
        base = type(OSError(errno_value, message))
        cls = _kernel_error_classes.get(base)
        if cls is None:
            cls = type(base.__name__, (base,), {"__str__": _message_only, "__module__": __name__})
            _kernel_error_classes[base] = cls
        exc = cls(errno_value, message)
    exc.detail = detail
    return exc


__all__ = [
    "CoreUnavailableError",
    "FirecrackerAPIError",
    "QMPError",
    "SmolVMCoreError",
]
