"""The npm x402 parts of ``x402_facilitator/`` as subprocesses: the facilitator (@x402/core +
@x402/svm) and @x402/fetch."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from gateway.x402 import node_facilitator
from gateway.x402.node_facilitator import FACILITATOR_DIR, missing

NODE_DIR = FACILITATOR_DIR

needs_node = pytest.mark.skipif(
    missing(NODE_DIR) is not None, reason=f"x402 facilitator: {missing(NODE_DIR)}"
)


def run_facilitator(
    fee_payer_keypair: Path, rpc_url: str
) -> contextlib.AbstractAsyncContextManager[str]:
    """The facilitator, started as ``bourse demo`` starts it; yields its base URL."""
    return node_facilitator.run_facilitator(NODE_DIR, fee_payer_keypair, rpc_url)


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
