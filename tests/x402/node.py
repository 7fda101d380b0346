"""The npm x402 parts as subprocesses: the facilitator (@x402/core + @x402/svm) and @x402/fetch."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "x402_node"

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "@x402" / "svm").exists(),
    reason="node or tests/x402_node/node_modules missing (cd tests/x402_node && npm ci)",
)


@contextlib.asynccontextmanager
async def run_facilitator(fee_payer_keypair: Path, rpc_url: str) -> AsyncIterator[str]:
    """Start the Node facilitator (its log beside the keypair); yield its base URL; stop it."""
    log_path = fee_payer_keypair.with_suffix(".log")
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            "node",
            "facilitator.mjs",
            str(fee_payer_keypair),
            rpc_url,
            cwd=NODE_DIR,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not line:
            raise RuntimeError(f"facilitator did not start: {log_path.read_text()[-2000:]}")
        yield str(json.loads(line)["url"])
    finally:
        if proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 10)


async def fetch_with_payment(
    payer_keypair: Path, rpc_url: str, url: str, asset: str, max_amount: int, body: dict[str, Any]
) -> dict[str, Any]:
    """Pay ``url`` with @x402/fetch; its answer ``{status, body, settlement}``."""
    proc = await asyncio.create_subprocess_exec(
        "node",
        "pay.mjs",
        str(payer_keypair),
        rpc_url,
        url,
        asset,
        str(max_amount),
        json.dumps(body),
        cwd=NODE_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    if proc.returncode != 0:
        raise RuntimeError(f"@x402/fetch failed ({proc.returncode}): {err.decode()[-2000:]}")
    answer: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return answer
