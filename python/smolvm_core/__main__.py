"""Print a JSON report of the package version, the platform and the capabilities.

Run it as ``python -m smolvm_core``.
"""

from __future__ import annotations

import json
import platform
import sys

from . import __version__, _native, capabilities


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
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
