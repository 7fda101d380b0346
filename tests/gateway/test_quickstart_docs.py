"""docs/gateway-quickstart.md's Python blocks run against a gateway on the localnet."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.gateway.harness import Chain, Upstreams, gateway_thread, settings_for
from tests.support.doc_snippets import python_blocks, run_block

DOC = Path(__file__).resolve().parents[2] / "docs" / "gateway-quickstart.md"


def test_quickstart_runs(
    chain: Chain, upstreams: Upstreams, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'qs.sqlite3'}"
    with gateway_thread(settings_for(chain, upstreams, db)) as gw:
        monkeypatch.setenv("BOURSE_BASE_URL", gw.base_url)
        monkeypatch.setenv("BOURSE_API_KEY", gw.new_key("reader", credit=10_000_000))
        blocks = python_blocks(DOC.read_text())
        assert len(blocks) >= 5
        namespace: dict[str, object] = {}
        for i, block in enumerate(blocks):
            asyncio.run(run_block(block, namespace, f"{DOC.name}[{i}]"))
