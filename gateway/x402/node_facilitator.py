"""The checkout's real x402 facilitator (npm @x402/core + @x402/svm, ``x402_facilitator/``) as
a subprocess: ``bourse demo`` starts it against its localnet, and so do the tests.

    if (reason := missing(folder)) is None:
        async with run_facilitator(folder, fee_payer_keypair_json, rpc_url) as url: ...
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

#: ``x402_facilitator/`` of the checkout (checkout tooling: absent from an installed wheel).
FACILITATOR_DIR = Path(__file__).resolve().parents[2] / "x402_facilitator"
#: How to install it, from the checkout's root.
INSTALL = "npm ci --prefix x402_facilitator"


def missing(folder: Path = FACILITATOR_DIR) -> str | None:
    """Why the facilitator in ``folder`` cannot run (None: it can)."""
    if shutil.which("node") is None:
        return f"node is not installed (install Node.js, then `{INSTALL}`)"
    if not (folder / "node_modules" / "@x402" / "svm").is_dir():
        return f"{folder}/node_modules is missing (`{INSTALL}`)"
    return None


@contextlib.asynccontextmanager
async def run_facilitator(
    folder: Path, fee_payer_keypair: Path, rpc_url: str, *, start_timeout: float = 30
) -> AsyncIterator[str]:
    """Start ``node facilitator.mjs`` (its log beside the keypair, ``.log``); yield its base
    URL; stop it on exit."""
    log_path = fee_payer_keypair.with_suffix(".log")
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            "node",
            "facilitator.mjs",
            str(fee_payer_keypair),
            rpc_url,
            cwd=folder,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), start_timeout)
        if not line:
            tail = log_path.read_text()[-2000:]
            raise RuntimeError(f"the x402 facilitator did not start: {tail}")
        yield str(json.loads(line)["url"])
    finally:
        if proc.returncode is None:
            proc.terminate()
            with contextlib.suppress(ProcessLookupError):
                await asyncio.wait_for(proc.wait(), 10)
