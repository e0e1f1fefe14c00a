"""Build settings that pyproject.toml cannot express.

The wheel contains libsmolvmcore, a shared library for one platform, so it
is tagged for that platform (py3-none-PLATFORM) instead of as pure Python.
It is loaded with ctypes, so any Python 3 can use it. Building fails early
when the library has not been built, because a package without it would
install and then report every part as unavailable.
"""

import sys
from pathlib import Path

from setuptools import setup
from wheel.bdist_wheel import bdist_wheel

LIBRARY = Path(__file__).resolve().parent / "smolvm_core" / (
    "libsmolvmcore.dylib" if sys.platform == "darwin" else "libsmolvmcore.so"
)


class PlatformWheel(bdist_wheel):
    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> tuple:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


if not LIBRARY.exists() and "egg_info" not in sys.argv and "dist_info" not in sys.argv:
    sys.exit(f"{LIBRARY} is missing: run `make python` in the repository root first")

setup(cmdclass={"bdist_wheel": PlatformWheel})
