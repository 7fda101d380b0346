"""docs/settlement.md's examples run, in order, against the localnet market."""

from __future__ import annotations

import ast
import re
import types
from pathlib import Path

import pytest

from bourse_chain.pda import provider_pda
from tests.localnet.test_settlement_market import needs_program, start_market

pytestmark = needs_program

DOC = Path(__file__).resolve().parents[2] / "docs" / "settlement.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(text: str) -> list[str]:
    return [m.group(1) for m in _BLOCK.finditer(text)]


async def run_block(source: str, namespace: dict[str, object], where: str) -> None:
    """Run one block with top-level await (as ``python -m asyncio`` does)."""
    code = compile(source, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # our own documentation, nothing from outside
    if isinstance(result, types.CoroutineType):
        await result


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
