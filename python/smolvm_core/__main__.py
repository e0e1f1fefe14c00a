"""Print a JSON report of the package version, the platform and the capabilities.

Run it as ``python -m smolvm_core``.
"""

from __future__ import annotations

import json
import platform
import sys

from . import __version__, _native, capabilities, network


def main() -> int:
    report = {
        "smolvm_core": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "library": {
            "path": str(_native.library_path),
            "loaded": _native.loaded(),
            "error": _native.load_error,
        },
        "capabilities": capabilities.detect().as_dict(),
        "network_path": network._path() if _native.has_component("network") else None,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
