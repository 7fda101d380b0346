"""The one exception type the toolchain raises for user-facing failures."""

from __future__ import annotations


class ToolchainError(Exception):
    """A build failure with a message meant for the person running the build."""
