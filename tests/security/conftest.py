"""Fixtures of the adversarial suite: the test-only evil router, built once per session
with the project's own toolchain (program/toolchain)."""

from __future__ import annotations

import pytest

from program.toolchain import ToolchainError
from tests.security.kit import build_evil_router


@pytest.fixture(scope="session")
def evil_image() -> bytes:
    """The evil router's SBPF image (tests/security/programs/evil_router)."""
    try:
        return build_evil_router()
    except ToolchainError as e:  # pragma: no cover - CI installs the toolchain
        pytest.skip(f"SBPF toolchain unavailable: {e}")
