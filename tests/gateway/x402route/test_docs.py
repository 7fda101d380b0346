"""docs/x402.md's quickstart runs against the gateway's x402 route: the Python blocks in order
(a v2 and a v1 paid call land in the model's inbox; the last block builds a challenge), and
the curl block prints the v2 terms of the request it sends."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.gateway.harness import Chain, Upstreams, call_rows, database_url, gateway_thread
from tests.gateway.x402route.harness import (
    SLUG,
    NodeFacilitator,
    Payer,
    inbox,
    inbox_authority,
    route_url,
    x402_settings,
)
from tests.support.doc_snippets import python_blocks, run_block

DOC = Path(__file__).resolve().parents[3] / "docs" / "x402.md"


def test_the_python_examples_pay_the_gateway_route(
    chain: Chain,
    upstreams: Upstreams,
    facilitator: NodeFacilitator,
    payer: Payer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = database_url("sqlite", tmp_path)
    with gateway_thread(x402_settings(chain, upstreams, db, facilitator.url)) as gw:
        monkeypatch.setenv("BOURSE_X402_URL", route_url(gw))
        monkeypatch.setenv("BOURSE_RPC_URL", chain.net.rpc_url)
        monkeypatch.setenv("BOURSE_PAYER_KEYPAIR", str(payer.path))
        monkeypatch.setenv("USDC_MINT", str(chain.net.usdc_mint))
        model_inbox = inbox(chain, SLUG)
        before = (chain.token_balance(model_inbox), chain.token_balance(payer.ata))
        blocks = python_blocks(DOC.read_text())
        assert len(blocks) == 3
        namespace: dict[str, object] = {"__name__": "x402_doc"}

        async def run() -> None:
            for i, block in enumerate(blocks):
                await run_block(block, namespace, f"{DOC.name}[block {i}]")

        asyncio.run(run())
        charged = [int(r.gross) for r in call_rows(db)]
        assert len(charged) == 2 and all(c > 0 for c in charged)
        after = (chain.token_balance(model_inbox), chain.token_balance(payer.ata))
        assert after == (before[0] + sum(charged), before[1] - sum(charged))


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_curl_example_prints_the_terms(
    chain: Chain, upstreams: Upstreams, facilitator: NodeFacilitator, tmp_path: Path
) -> None:
    (block,) = re.findall(r"^```bash\n(.*?)^```", DOC.read_text(), re.S | re.M)
    db = database_url("sqlite", tmp_path)
    with gateway_thread(x402_settings(chain, upstreams, db, facilitator.url)) as gw:
        done = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", block],
            env={"BOURSE_X402_URL": route_url(gw), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        body = re.search(r"-d '(.*?)'", block, re.S)
        assert body is not None
        same = httpx.post(route_url(gw), content=body.group(1).encode())
    terms = json.loads(done.stdout)
    (offer,) = terms["accepts"]
    assert terms["x402Version"] == 2
    assert offer["amount"] == same.json()["accepts"][0]["amount"]
    assert offer["payTo"] == str(inbox_authority(SLUG))
    assert offer["asset"] == str(chain.net.usdc_mint)
    # the printed example is this very answer (the demo market's prices)
    (example,) = re.findall(r"^```json\n(.*?)^```", DOC.read_text(), re.S | re.M)
    assert f'"amount":"{offer["amount"]}"' in example
    assert terms["resource"]["description"] in example
