"""Shared test configuration: the repository root is importable (tests.support).

Under ``CI=true`` a skipped test is a failed test: the tests that need the Debian SBPF
toolchain, Node.js or the built programs skip on a developer's machine that lacks them,
but CI installs all of them, so a skip there means a dependency is missing. Only tests
marked ``optional_backend`` (an alternative backend CI does not install, e.g.
``solana-test-validator``) may still skip.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if (
        IN_CI
        and report.skipped
        and not hasattr(report, "wasxfail")
        and item.get_closest_marker("optional_backend") is None
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (a missing dependency fails CI): {reason}"
