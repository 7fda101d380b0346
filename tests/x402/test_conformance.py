"""The PyPI x402-conformance tool (``x402conf``) against our paid resource and the facilitator:
every check it runs offline passes (P1-P7: the 402 answer to an unpaid GET; S1-S4: /supported)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.x402.conftest import Env
from tests.x402.node import needs_node

X402CONF = shutil.which("x402conf", path=str(Path(sys.executable).parent)) or shutil.which(
    "x402conf"
)
pytestmark = [
    needs_node,
    pytest.mark.skipif(X402CONF is None, reason="x402-conformance is not installed"),
]


async def x402conf(*args: str) -> tuple[int, list[dict[str, Any]]]:
    assert X402CONF is not None
    proc = await asyncio.create_subprocess_exec(
        X402CONF,
        *args,
        "--fail-on-error",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert out, err.decode()
    report = json.loads(out)
    checks = [check for result in report["results"] for check in result["checks"]]
    return int(proc.returncode or 0), checks


async def test_the_402_answer_passes_every_resource_check(x402_env: Env) -> None:
    code, checks = await x402conf("resource", f"{x402_env.url}/paid")
    ids = sorted(check["check"].split()[0] for check in checks)
    assert ids == ["P1", "P2", "P3", "P4", "P5", "P6", "P7"]
    failed = [check for check in checks if not check["pass"]]
    assert failed == [] and code == 0
    found_in = next(c for c in checks if c["check"].startswith("P2"))["detail"]["found_in"]
    assert found_in == "PAYMENT-REQUIRED header"


async def test_the_facilitator_passes_every_supported_check(x402_env: Env) -> None:
    code, checks = await x402conf("live", x402_env.facilitator_url)
    ids = sorted(check["check"].split()[0] for check in checks)
    assert ids == ["S1", "S2", "S3", "S4"]
    assert [check for check in checks if not check["pass"]] == [] and code == 0


async def test_the_tool_fails_a_url_that_does_not_ask_for_payment(x402_env: Env) -> None:
    code, checks = await x402conf("resource", f"{x402_env.facilitator_url}/supported")
    assert code != 0
    assert any(check["check"].startswith("P1") and not check["pass"] for check in checks)
