"""Fixtures of the x402 route: one Node facilitator per session on the gateway tests' localnet."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.harness import Chain
from tests.gateway.x402route.harness import NodeFacilitator, Payer, new_payer, start_facilitator
from tests.x402.node import NODE_DIR


@pytest.fixture(scope="session")
def facilitator(
    chain: Chain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NodeFacilitator]:
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "@x402" / "svm").exists():
        pytest.skip(
            "node and x402_facilitator/node_modules are needed (npm ci --prefix x402_facilitator)"
        )
    f = start_facilitator(chain, tmp_path_factory.mktemp("gw-facilitator"))
    try:
        yield f
    finally:
        f.stop()


@pytest.fixture
def payer(chain: Chain, tmp_path: Path) -> Payer:
    return new_payer(chain, tmp_path)
