"""The installed distribution's version (``bourse --version``, ``bourse-crank --version``)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "bourse-chain"


def package_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # running from a checkout that is not installed
        return "0+unknown"
