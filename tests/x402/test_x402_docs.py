"""docs/x402.md's examples run: the Python blocks in order (two paid calls land in the model's
inbox), and the curl block prints the v2 terms."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.support.doc_snippets import python_blocks, run_block
from tests.x402.conftest import Env, Payer, token_balance
from tests.x402.node import needs_node
from tests.x402.resource_server import PRICES

pytestmark = needs_node
DOC = Path(__file__).resolve().parents[2] / "docs" / "x402.md"


async def test_the_python_examples_run_and_pay_the_inbox(
    x402_env: Env, payer: Payer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOURSE_X402_URL", f"{x402_env.url}/paid")
    monkeypatch.setenv("BOURSE_RPC_URL", x402_env.net.rpc_url)
    monkeypatch.setenv("BOURSE_PAYER_KEYPAIR", str(payer.path))
    inbox = x402_env.inbox("deepseek-chat")
    before = (
        await token_balance(x402_env.net, inbox),
        await token_balance(x402_env.net, payer.ata),
    )
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) == 3
    namespace: dict[str, object] = {"__name__": "x402_doc"}
    for i, block in enumerate(blocks):
        await run_block(block, namespace, f"{DOC.name}[block {i}]")
    price = PRICES["deepseek-chat"]
    after = (await token_balance(x402_env.net, inbox), await token_balance(x402_env.net, payer.ata))
    assert after == (before[0] + 2 * price, before[1] - 2 * price)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_the_curl_example_prints_the_terms(x402_env: Env) -> None:
    (block,) = re.findall(r"^```bash\n(.*?)^```", DOC.read_text(), re.S | re.M)
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "-eo",
        "pipefail",
        "-c",
        block,
        env={"BOURSE_X402_URL": f"{x402_env.url}/paid", "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    terms = json.loads(out)
    (offer,) = terms["accepts"]
    assert terms["x402Version"] == 2
    assert offer["amount"] == str(PRICES["deepseek-chat"])
    assert offer["asset"] == str(x402_env.net.usdc_mint)
