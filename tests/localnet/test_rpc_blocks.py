"""getBlock / getBlocks / getBlocksWithLimit / getBlockTime and ``jsonParsed`` transactions.

solana-py parses the answers with solders' validator types, so a shape that a validator would
not send fails here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction_status import (
    ParsedAccount,
    ParsedInstruction,
    UiPartiallyDecodedInstruction,
)

from localnet import Localnet

SYSTEM = "11111111111111111111111111111111"


async def finalized_transfer(
    localnet: Localnet, send: Any, funded: Keypair, lamports: int
) -> tuple[Signature, int]:
    """A landed transfer, waited until finalized; (signature, slot)."""
    dest = Keypair().pubkey()
    ix = transfer(TransferParams(from_pubkey=funded.pubkey(), to_pubkey=dest, lamports=lamports))
    sig: Signature = await send([ix], funded)
    for _ in range(200):
        status = (await localnet.rpc("getSignatureStatuses", [[str(sig)]]))["value"][0]
        if status["confirmationStatus"] == "finalized":
            return sig, int(status["slot"])
        await asyncio.sleep(0.02)
    raise AssertionError("never finalized")


async def test_get_block_full_holds_the_transaction(
    localnet: Localnet, rpc: AsyncClient, send: Any, funded: Keypair
) -> None:
    sig, slot = await finalized_transfer(localnet, send, funded, 2_000_000)
    block = (await rpc.get_block(slot, max_supported_transaction_version=0)).value
    assert block is not None
    assert block.parent_slot == slot - 1
    assert block.block_height == slot
    assert str(block.blockhash) != str(block.previous_blockhash)
    signatures = [t.transaction.signatures[0] for t in block.transactions or []]
    assert sig in signatures
    tx = (await rpc.get_transaction(sig, max_supported_transaction_version=0)).value
    assert tx is not None and block.block_time == tx.block_time
    # the parent's blockhash is the previous one
    parent = (await rpc.get_block(slot - 1, max_supported_transaction_version=0)).value
    assert parent is not None and parent.blockhash == block.previous_blockhash


async def test_get_block_detail_levels(localnet: Localnet, send: Any, funded: Keypair) -> None:
    sig, slot = await finalized_transfer(localnet, send, funded, 1_000_000)
    config: dict[str, Any] = {"maxSupportedTransactionVersion": 0}
    sigs_only = await localnet.rpc(
        "getBlock", [slot, {**config, "transactionDetails": "signatures"}]
    )
    assert str(sig) in sigs_only["signatures"] and "transactions" not in sigs_only
    none = await localnet.rpc(
        "getBlock", [slot, {**config, "transactionDetails": "none", "rewards": False}]
    )
    assert "transactions" not in none and "signatures" not in none and "rewards" not in none
    accounts = await localnet.rpc("getBlock", [slot, {**config, "transactionDetails": "accounts"}])
    mine = next(
        t for t in accounts["transactions"] if t["transaction"]["signatures"][0] == str(sig)
    )
    keys = mine["transaction"]["accountKeys"]
    assert keys[0] == {
        "pubkey": str(funded.pubkey()),
        "writable": True,
        "signer": True,
        "source": "transaction",
    }
    assert keys[-1]["pubkey"] == SYSTEM and keys[-1]["writable"] is False
    assert mine["meta"]["fee"] == 5_000 and "logMessages" not in mine["meta"]


async def test_get_block_refusals(localnet: Localnet) -> None:
    future = (await localnet.rpc("getSlot")) + 1_000
    with pytest.raises(Exception, match=r"-32004"):
        await localnet.rpc("getBlock", [future])
    with pytest.raises(Exception, match=r"-32602"):
        await localnet.rpc("getBlock", [1, {"commitment": "processed"}])
    with pytest.raises(Exception, match=r"-32602"):
        await localnet.rpc("getBlock", [1, {"transactionDetails": "most"}])


async def test_get_blocks_and_with_limit(localnet: Localnet) -> None:
    slot = 0
    for _ in range(100):  # a few slots of history (a fresh session starts at slot 1)
        slot = await localnet.rpc("getSlot")
        if slot >= 6:
            break
        await asyncio.sleep(0.1)
    start = slot - 5
    # every slot has a block, served up to the finalized slot (>= slot - 1 by now)
    assert await localnet.rpc("getBlocks", [start, slot - 2]) == list(range(start, slot - 1))
    assert await localnet.rpc("getBlocksWithLimit", [start, 2]) == [start, start + 1]
    newest = await localnet.rpc("getBlocks", [start])
    assert newest[0] == start and newest[-1] >= slot - 1
    finalized = await localnet.rpc("getBlocks", [start, slot + 1_000])
    assert finalized[-1] < (await localnet.rpc("getSlot")) + 1
    with pytest.raises(Exception, match=r"-32602"):
        await localnet.rpc("getBlocks", [0, 600_000])
    assert isinstance(await localnet.rpc("getBlockTime", [start]), int)


async def test_json_parsed_transaction(
    localnet: Localnet, rpc: AsyncClient, send: Any, funded: Keypair
) -> None:
    sig, _ = await finalized_transfer(localnet, send, funded, 1_500_000)
    got = (
        await rpc.get_transaction(
            sig, "jsonParsed", commitment=Confirmed, max_supported_transaction_version=0
        )
    ).value
    assert got is not None
    message = got.transaction.transaction.message  # type: ignore[union-attr]
    first = message.account_keys[0]
    assert isinstance(first, ParsedAccount)
    assert first.pubkey == funded.pubkey() and first.signer and first.writable
    (ix,) = message.instructions
    assert isinstance(ix, ParsedInstruction | UiPartiallyDecodedInstruction)
    assert str(ix.program_id) == SYSTEM
    assert got.transaction.meta is not None and got.transaction.meta.fee == 5_000


async def test_node_view_for_explorers(localnet: Localnet, rpc: AsyncClient) -> None:
    (node,) = (await rpc.get_cluster_nodes()).value
    identity = (await rpc.get_identity()).value.identity
    assert node.pubkey == identity
    assert node.rpc == localnet.rpc_url.removeprefix("http://")
    assert node.pubsub == (localnet.ws_url or "").removeprefix("ws://")
    votes = (await rpc.get_vote_accounts()).value
    assert votes.current == [] and votes.delinquent == []
    slot = (await rpc.get_slot()).value
    assert (await rpc.get_block_commitment(max(0, slot - 5))).value.commitment is None
    production = (await localnet.rpc("getBlockProduction"))["value"]
    first, last = production["range"]["firstSlot"], production["range"]["lastSlot"]
    assert production["byIdentity"] == {str(identity): [last - first + 1, last - first + 1]}
    assert await localnet.rpc("getMaxShredInsertSlot") >= slot
    assert await localnet.rpc("getMaxRetransmitSlot") >= slot
    with pytest.raises(Exception, match=r"-32008"):
        await localnet.rpc("getHighestSnapshotSlot")


async def test_recent_performance_samples_count_landed_transactions(
    localnet: Localnet, rpc: AsyncClient, send: Any, funded: Keypair
) -> None:
    sig, _ = await finalized_transfer(localnet, send, funded, 1_000_000)
    (sample,) = (await rpc.get_recent_performance_samples(1)).value
    slot = (await rpc.get_slot()).value
    assert sample.slot <= slot and sample.num_slots >= 1
    tx = (await rpc.get_transaction(sig)).value
    assert tx is not None
    if sample.slot - sample.num_slots < tx.slot <= sample.slot:
        assert sample.num_transactions >= 1
    assert (await localnet.rpc("getRecentPerformanceSamples", [0])) == []
    with pytest.raises(Exception, match=r"-32602"):
        await localnet.rpc("getRecentPerformanceSamples", [721])
