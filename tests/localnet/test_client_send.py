"""BourseClient.send over JSON-RPC: compute-unit limit from simulation, priority-fee percentile
and cap, blockhash expiry with re-signing (and no re-signing when the first one landed), typed
errors from simulation / preflight / a landed failure, events decoded from the tx's logs."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.models import TxOpts
from solders.compute_budget import ID as COMPUTE_BUDGET_ID
from solders.compute_budget import set_compute_unit_price
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rpc.responses import GetSignatureStatusesResp, RpcResponseContext, SendTransactionResp
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.token.constants import ASSOCIATED_TOKEN_PROGRAM_ID, TOKEN_PROGRAM_ID

from bourse_chain.client import BourseClient
from bourse_chain.errors import TransactionFailed
from bourse_chain.generated.compute_market import errors as cm_errors
from bourse_chain.generated.compute_market import instructions as ix
from bourse_chain.generated.compute_market.events import OfferUpserted
from bourse_chain.pda import order_address
from bourse_chain.tx import priority_fee_percentile
from tests.support.localnet_market import (
    FAST,
    PRICE_IN,
    PRICE_OUT,
    MarketEnv,
    needs_program,
    start_market,
)

pytestmark = needs_program

LAMPORTS_PER_SIGNATURE = 5_000
#: More than 150 slots of 400 ms: every blockhash handed out before is past its last valid height.
EXPIRY_SECONDS = 65


@pytest.fixture(scope="module")
async def market(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MarketEnv]:
    async with start_market(tmp_path_factory.mktemp("client-send")) as env:
        yield env


def upsert(market: MarketEnv, price_in: int = PRICE_IN) -> Any:
    return ix.upsert_offer(
        ix.UpsertOfferArgs(
            price_input_per_mtok=price_in, price_output_per_mtok=PRICE_OUT, active=True
        ),
        ix.UpsertOfferAccounts(authority=market.provider_authority.pubkey(), model=market.model),
    )


def bad_open_order(market: MarketEnv, payer: Keypair) -> Any:
    """An open_order the program refuses with InvalidTtl (ttl 0)."""
    return ix.open_order(
        ix.OpenOrderArgs(
            nonce=1,
            max_input_tokens=1_000,
            max_output_tokens=1_000,
            ttl_secs=0,
            max_hold=10**9,
            payer_token_bump=Pubkey.find_program_address(
                [bytes(payer.pubkey()), bytes(TOKEN_PROGRAM_ID), bytes(market.usdc_mint)],
                ASSOCIATED_TOKEN_PROGRAM_ID,
            )[1],
        ),
        ix.OpenOrderAccounts(
            payer=payer.pubkey(),
            model=market.model,
            offer=market.offer,
            order=order_address(payer.pubkey(), 1),
            payer_token=market.usdc_account(payer.pubkey()),
            usdc_mint=market.usdc_mint,
            usdc_token_program=TOKEN_PROGRAM_ID,
        ),
    )


async def lamports(market: MarketEnv, key: Pubkey) -> int:
    return (await market.rpc.get_balance(key)).value


# -- compute units ----------------------------------------------------------------------------


async def test_cu_limit_set_from_simulation(market: MarketEnv) -> None:
    c = market.client
    # When an instruction is sent with the default margin (1.1)
    result = await c.send([upsert(market)], [market.provider_authority])
    # Then the landed transaction starts with a ComputeBudget limit of used x 1.1
    assert result.compute_units is not None and result.compute_units > 0
    landed = await c.landed_transaction(result.signature)
    assert landed is not None
    keys = landed.message.account_keys
    first = landed.message.instructions[0]
    assert keys[first.program_id_index] == COMPUTE_BUDGET_ID
    assert bytes(first.data)[0] == 2  # SetComputeUnitLimit
    onchain = await c.get_transaction(result.signature)
    assert onchain.cu_limit == result.cu_limit == math.ceil(result.compute_units * 1.1)
    assert result.compute_units <= result.cu_limit

    # A larger margin, and a cap below used x margin
    wide = await c.send([upsert(market, PRICE_IN + 1)], [market.provider_authority], cu_margin=1.5)
    assert wide.compute_units is not None
    assert wide.cu_limit == math.ceil(wide.compute_units * 1.5)
    cap = wide.compute_units + 7
    capped = await c.send([upsert(market, PRICE_IN + 2)], [market.provider_authority], cu_cap=cap)
    assert capped.cu_limit == cap
    assert (await c.get_transaction(capped.signature)).cu_limit == cap

    # A cap below what the transaction needs fails in simulation: nothing lands
    with pytest.raises(TransactionFailed) as info:
        await c.send([upsert(market, PRICE_IN + 3)], [market.provider_authority], cu_cap=500)
    assert any("exceeded CUs meter" in line or "consumed" in line for line in info.value.logs)
    assert (await c.send([upsert(market)], [market.provider_authority])).attempts == 1


# -- priority fee -----------------------------------------------------------------------------


async def test_priority_fee_percentile_and_cap(market: MarketEnv) -> None:
    c = market.client
    w = await market.new_wallet()
    sink = Pubkey.new_unique()
    # Given: older fee history is let go, then W is written at 4 prices in 4 slots
    await market.net.warp_time(EXPIRY_SECONDS)  # type: ignore[attr-defined]
    for price in (1_000, 4_000, 2_000, 3_000):
        ixs = [set_compute_unit_price(price), transfer(_tp(w.pubkey(), sink, 1_000_000))]
        paid = await c.send(ixs, [w])
        assert paid.cu_price == price  # the caller's own price is kept, not duplicated
        await market.net.warp_time(0.4)  # type: ignore[attr-defined]
    pay = [transfer(_tp(w.pubkey(), sink, 1_000_000))]
    samples = await market.rpc.get_recent_prioritization_fees([w.pubkey(), sink])
    fees = [s.prioritization_fee for s in samples.value]
    assert sorted(f for f in fees if f) == [1_000, 2_000, 3_000, 4_000]

    # When sent at the 75th percentile under a high cap
    expected = priority_fee_percentile(fees, 75)
    assert expected > 0
    result = await c.send(pay, [w], priority_percentile=75, max_priority_micro_lamports=10**6)
    # Then the landed transaction pays exactly that price
    assert result.cu_price == expected
    assert (await c.get_transaction(result.signature)).cu_price == expected

    # The cap wins when lower
    capped = await c.send(pay, [w], priority_percentile=100, max_priority_micro_lamports=1_500)
    assert capped.cu_price == 1_500
    assert (await c.get_transaction(capped.signature)).cu_price == 1_500
    # Cap 0: no price instruction at all
    free = await c.send(pay, [w], max_priority_micro_lamports=0)
    assert free.cu_price is None
    onchain = await c.get_transaction(free.signature)
    assert onchain.cu_price is None and onchain.cu_limit is not None
    # The fee is the signature fee plus limit x price (rounded up to lamports)
    assert capped.fee == LAMPORTS_PER_SIGNATURE + math.ceil(capped.cu_limit * 1_500 / 10**6)  # type: ignore[operator]
    assert free.fee == LAMPORTS_PER_SIGNATURE


def _tp(src: Pubkey, dst: Pubkey, lamports: int) -> TransferParams:
    return TransferParams(from_pubkey=src, to_pubkey=dst, lamports=lamports)


# -- expiry and re-signing --------------------------------------------------------------------


class DropFirstSignature(AsyncClient):
    """Loses every send of the first signature it sees (a dropped packet), then lets time
    pass beyond that signature's last valid block height."""

    def __init__(self, url: str, on_drop: Callable[[], Awaitable[object]]) -> None:
        super().__init__(url, timeout=30)
        self.on_drop = on_drop
        self.dropped: Signature | None = None
        self.sent: list[Signature] = []

    async def send_raw_transaction(self, txn: bytes, opts: TxOpts | None = None) -> Any:
        sig = VersionedTransaction.from_bytes(txn).signatures[0]
        if self.dropped is None:
            self.dropped = sig
            await self.on_drop()
        if sig == self.dropped:
            return SendTransactionResp(sig)
        self.sent.append(sig)
        return await super().send_raw_transaction(txn, opts)


class LaggingStatuses(AsyncClient):
    """Sends normally, but the status cache never shows the first signature (a lagging node);
    only a history search finds it.  Time passes beyond its last valid height on send."""

    def __init__(self, url: str, on_send: Callable[[], Awaitable[object]]) -> None:
        super().__init__(url, timeout=30)
        self.on_send = on_send
        self.first: Signature | None = None
        self.sends = 0

    async def send_raw_transaction(self, txn: bytes, opts: TxOpts | None = None) -> Any:
        self.sends += 1
        sig = VersionedTransaction.from_bytes(txn).signatures[0]
        resp = await super().send_raw_transaction(txn, opts)
        if self.first is None:
            self.first = sig
            await self.on_send()
        return resp

    async def get_signature_statuses(
        self, signatures: list[Signature], search_transaction_history: bool = False
    ) -> GetSignatureStatusesResp:
        resp = await super().get_signature_statuses(signatures, search_transaction_history)
        if search_transaction_history:
            return resp
        hidden = [
            None if s == self.first else v for s, v in zip(signatures, resp.value, strict=True)
        ]
        return GetSignatureStatusesResp(hidden, RpcResponseContext(resp.context.slot))


async def _expire(market: MarketEnv) -> None:
    await market.net.warp_time(EXPIRY_SECONDS)  # type: ignore[attr-defined]
    await market.net.rpc("bourse_expireBlockhash")  # type: ignore[attr-defined]


async def test_blockhash_expiry_resigns_and_lands_once(market: MarketEnv) -> None:
    w = await market.new_wallet(sol=2 * 10**9)
    sink = Pubkey.new_unique()
    rpc = DropFirstSignature(market.net.rpc_url, lambda: _expire(market))  # type: ignore[attr-defined]
    try:
        client = BourseClient(rpc, options=FAST)
        # When the first signing is lost and its blockhash expires
        result = await client.send([transfer(_tp(w.pubkey(), sink, 1_012_345))], [w])
    finally:
        await rpc.close()
    # Then it was re-signed once with a fresh blockhash and landed once
    assert rpc.dropped is not None and result.signature != rpc.dropped
    assert result.attempts == 2
    assert rpc.sent and set(rpc.sent) == {result.signature}
    history = await market.client.signatures_for_address(sink)
    assert history == [(result.signature, True)]
    assert await lamports(market, sink) == 1_012_345
    old = await market.rpc.get_signature_statuses([rpc.dropped], search_transaction_history=True)
    assert old.value[0] is None


async def test_landed_signature_found_before_resigning(market: MarketEnv) -> None:
    w = await market.new_wallet(sol=2 * 10**9)
    sink = Pubkey.new_unique()
    rpc = LaggingStatuses(market.net.rpc_url, lambda: _expire(market))  # type: ignore[attr-defined]
    try:
        client = BourseClient(rpc, options=FAST)
        # When the node never reports the (landed) first signing before its expiry
        result = await client.send([transfer(_tp(w.pubkey(), sink, 1_000_777))], [w])
    finally:
        await rpc.close()
    # Then the history check finds it: no second signing, and the transfer happened once
    assert result.signature == rpc.first
    assert result.attempts == 1
    assert await lamports(market, sink) == 1_000_777
    assert len(await market.client.signatures_for_address(sink)) == 1


# -- typed errors -----------------------------------------------------------------------------


async def test_typed_error_from_simulation(market: MarketEnv) -> None:
    payer = await market.new_wallet(usdc=1_000_000)
    c = market.client
    with pytest.raises(cm_errors.InvalidTtl) as info:
        await c.simulate([bad_open_order(market, payer)], [payer])
    assert info.value.code == 6025 and info.value.program_id == c.program_id
    assert any("custom program error: 0x1789" in line for line in info.value.logs)
    with pytest.raises(cm_errors.InvalidTtl) as info:
        await c.send([bad_open_order(market, payer)], [payer])
    assert info.value.logs and info.value.instruction_index is not None
    # nothing landed: no failed transaction in the payer's history
    assert all(ok for _, ok in await c.signatures_for_address(payer.pubkey()))


async def test_typed_error_from_preflight_and_skip_preflight(market: MarketEnv) -> None:
    payer = await market.new_wallet(usdc=1_000_000)
    c = market.client
    before = await lamports(market, payer.pubkey())
    # Preflight (the node's simulation) refuses it: typed error, nothing charged
    with pytest.raises(cm_errors.InvalidTtl) as info:
        await c.send([bad_open_order(market, payer)], [payer], simulate=False, skip_preflight=False)
    assert info.value.logs
    assert await lamports(market, payer.pubkey()) == before

    # Skip preflight: the transaction lands, fails, and its status + logs give the typed error
    with pytest.raises(cm_errors.InvalidTtl) as info:
        await c.send([bad_open_order(market, payer)], [payer], simulate=False, skip_preflight=True)
    assert any("custom program error" in line for line in info.value.logs)
    failed = [sig for sig, ok in await c.signatures_for_address(payer.pubkey()) if not ok]
    assert len(failed) == 1
    assert await lamports(market, payer.pubkey()) == before - LAMPORTS_PER_SIGNATURE


# -- events -----------------------------------------------------------------------------------


async def test_events_decoded_from_own_logs(market: MarketEnv) -> None:
    c = market.client
    result = await c.send([upsert(market, 123_456)], [market.provider_authority])
    (event,) = result.events
    assert isinstance(event, OfferUpserted)
    assert (event.offer, event.model, event.provider) == (
        market.offer,
        market.model,
        market.provider,
    )
    assert (event.price_input_per_mtok, event.price_output_per_mtok, event.active) == (
        123_456,
        PRICE_OUT,
        True,
    )
    assert await c.get_events(result.signature) == list(result.events)
    assert (await c.get_transaction(result.signature)).events == result.events
    assert result.logs and result.fee is not None and result.slot > 0
    await c.send([upsert(market)], [market.provider_authority])
