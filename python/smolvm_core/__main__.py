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
    # A library that does not load is a broken install, so a deployment
    # check that runs this module gets a failure.
    return 0 if _native.loaded() else 1


if __name__ == "__main__":
    sys.exit(main())
