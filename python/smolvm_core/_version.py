"""Version of the smolvm_core package: the release date as YEAR.MONTH.DAY."""

__version__ = "2026.12.4"
