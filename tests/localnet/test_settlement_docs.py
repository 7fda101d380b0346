"""docs/settlement.md's examples run, in order, against the localnet market."""

from __future__ import annotations

from pathlib import Path

import pytest

from bourse_chain.pda import provider_pda
from tests.support.doc_snippets import python_blocks, run_block
from tests.support.localnet_market import needs_program, start_market

pytestmark = needs_program

DOC = Path(__file__).resolve().parents[2] / "docs" / "settlement.md"


async def test_settlement_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) >= 8
    async with start_market(tmp_path / "net") as market:
        net = market.net
        monkeypatch.setenv("BOURSE_RPC_URL", net.rpc_url)  # type: ignore[attr-defined]
        paths = net.keypair_paths  # type: ignore[attr-defined]
        monkeypatch.setenv("BOURSE_SETTLER_KEYPAIR", str(paths["settler"]))
        monkeypatch.setenv("BOURSE_PAYER_KEYPAIR", str(paths["payer"]))
        monkeypatch.setenv(
            "BOURSE_PROVIDER", str(provider_pda(market.provider_authority.pubkey())[0])
        )
        monkeypatch.setenv("BOURSE_MODEL", market.slug)
        namespace: dict[str, object] = {"__name__": "settlement_doc"}
        for i, block in enumerate(blocks):
            await run_block(block, namespace, f"{DOC.name}[block {i}]")
