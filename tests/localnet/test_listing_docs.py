"""docs/listing.md's examples run, in order, against an embedded localnet."""

from __future__ import annotations

from pathlib import Path

import pytest

from bourse_chain.client import BourseClient
from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.market import Market
from bourse_ops.sandbox import pump_venue
from bourse_ops.sandbox.svm_chain import BIN
from localnet import Localnet
from tests.support.doc_snippets import python_blocks, run_block

pytestmark = pytest.mark.skipif(
    not (BIN / "compute_market.so").exists(), reason="program not built"
)
DOC = Path(__file__).resolve().parents[2] / "docs" / "listing.md"


async def test_listing_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) == 7  # 4 for a new token, 3 for Track B (a pump.fun coin)
    async with Localnet.start(port=0, workdir=tmp_path, backend="embedded") as net:
        keys = net.keypairs
        # pump.fun's and PumpSwap's stand-ins at their ids, and a USDC-paired coin on its curve
        assert net.chain is not None
        pump_chain = pump_venue.LocalnetChain(
            net.chain, keys["payer"], keys["admin"], net.usdc_mint
        )
        venue = pump_venue.install(pump_chain)
        pump_venue.install_amm(pump_chain)
        coin = pump_venue.launch(pump_chain, venue, keys["creator"].pubkey())
        monkeypatch.setenv("BOURSE_PUMP_MINT", str(coin.mint))
        m = Market(usdc_mint=net.usdc_mint, treasury_authority=keys["admin"].pubkey())
        async with BourseClient.connect(net.rpc_url) as client:
            await client.send(
                [
                    m.initialize_config(
                        keys["admin"].pubkey(), keys["settler"].pubkey(), keys["crank"].pubkey()
                    )
                ],
                [keys["admin"]],
            )
        monkeypatch.setenv("BOURSE_RPC_URL", net.rpc_url)
        monkeypatch.setenv("BOURSE_CREATOR_KEYPAIR", str(net.keypair_paths["creator"]))
        monkeypatch.setenv("BOURSE_ADMIN_KEYPAIR", str(net.keypair_paths["admin"]))
        namespace: dict[str, object] = {"__name__": "listing_doc"}
        for i, block in enumerate(blocks):
            await run_block(block, namespace, f"{DOC.name}[block {i}]")
        # The chain agrees with what the doc claims.
        async with BourseClient.connect(net.rpc_url) as client:
            listing = await client.fetch(m.model("acme/llama-4-70b"), Model)
        assert listing is not None and listing.fee_bps == 500
        assert bytes(listing.slug[: listing.slug_len]) == b"acme/llama-4-70b"
        async with BourseClient.connect(net.rpc_url) as client:
            pumped = await client.fetch(m.model("acme/llama-pump"), Model)
        assert pumped is not None and pumped.mint == coin.mint == pumped.approved_mint
