"""bourse_chain.settlement end to end on the JSON-RPC localnet: hold -> settle with balances
asserted to the micro-USDC, retries after timeouts that never charge twice, release,
settle_payment + replay, and a 30-payment batch packed into few transactions."""

from __future__ import annotations

import base64
import json
import struct
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.models import TxOpts
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.client import ADDRESS_LOOKUP_TABLE_PROGRAM_ID, BourseClient
from bourse_chain.generated.compute_market.accounts import Model, Order, PaymentReceipt
from bourse_chain.money import expected_split, usage_charge
from bourse_chain.results import Split
from bourse_chain.settlement import (
    HoldAlreadyReleased,
    HoldAlreadySettled,
    HoldAlreadyUsed,
    IdempotencyConflict,
    PaymentItem,
    Settlement,
    SettlerMismatch,
)
from tests.localnet.test_settlement_market import (
    FAST,
    MODEL_FEE_BPS,
    PRICE_IN,
    PRICE_OUT,
    PROTOCOL_FEE_BPS,
    MarketEnv,
    needs_program,
    start_market,
)

pytestmark = needs_program

USDC = 1_000_000


@pytest.fixture(scope="module")
async def market(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MarketEnv]:
    async with start_market(tmp_path_factory.mktemp("settlement")) as env:
        yield env


@pytest.fixture(scope="module")
async def settlement(market: MarketEnv) -> Settlement:
    return await Settlement.load(market.client, market.settler)


class TimeoutAfterSend(AsyncClient):
    """Sends the transaction, then fails as if the answer timed out (once armed)."""

    def __init__(self, url: str) -> None:
        super().__init__(url, timeout=30)
        self.armed = True

    async def send_raw_transaction(self, txn: bytes, opts: TxOpts | None = None) -> Any:
        resp = await super().send_raw_transaction(txn, opts)
        if self.armed:
            self.armed = False
            raise TimeoutError("simulated: the RPC answer timed out after the send")
        return resp


class Balances:
    """Token balances of the accounts a settlement moves money between."""

    def __init__(self, market: MarketEnv, payer_token: Pubkey) -> None:
        self.m = market
        self.accounts = {
            "payer": payer_token,
            "provider": market.provider_payout,
            "creator": market.revenue_vault,
            "protocol": market.treasury,
            "escrow": market.escrow,
        }

    async def read(self) -> dict[str, int]:
        return {k: await self.m.balance(v) for k, v in self.accounts.items()}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in before}


# -- hold -> settle ---------------------------------------------------------------------------


async def test_open_hold_then_settle_moves_exact_amounts(
    market: MarketEnv, settlement: Settlement
) -> None:
    s = settlement
    payer = await market.new_wallet(usdc=100 * USDC)
    bal = Balances(market, market.usdc_account(payer.pubkey()))
    start = await bal.read()

    # Given a hold for 100k input + 50k output tokens
    hold = await s.open_hold(payer, market.slug, market.provider, 100_000, 50_000, 600, "req-1")
    expected_hold = usage_charge(PRICE_IN, PRICE_OUT, 100_000, 50_000)
    assert hold.amount == expected_hold == 82_000
    assert hold.signature is not None
    opened = await bal.read()
    assert delta(start, opened) == {
        "payer": -expected_hold,
        "provider": 0,
        "creator": 0,
        "protocol": 0,
        "escrow": expected_hold,
    }
    # A retried open_hold with the same key finds the same order and escrows nothing more
    again = await s.open_hold(payer, market.slug, market.provider, 100_000, 50_000, 600, "req-1")
    assert again.order == hold.order and again.signature is None
    assert await bal.read() == opened

    # When 40k input + 10k output tokens are settled
    split = await s.settle(hold, 40_000, 10_000)

    # Then gross = usage, fees round up, provider gets the rest, the rest of the hold refunds
    gross = usage_charge(PRICE_IN, PRICE_OUT, 40_000, 10_000)
    provider, creator, protocol = expected_split(gross, PROTOCOL_FEE_BPS, MODEL_FEE_BPS)
    assert split == Split(gross, provider, creator, protocol, expected_hold - gross)
    assert split.hold == hold.amount
    assert delta(start, await bal.read()) == {
        "payer": -gross,
        "provider": provider,
        "creator": creator,
        "protocol": protocol,
        "escrow": 0,
    }
    assert await market.client.fetch(hold.order, Order) is None
    model = await market.client.fetch(market.model, Model)
    assert model is not None and model.total_creator_fees >= creator

    # Settling again (a plain retry) returns the recorded split and moves nothing
    settled = await bal.read()
    assert await s.settle(hold.order, 40_000, 10_000) == split
    assert await bal.read() == settled
    # The key is spent: opening it again is refused
    with pytest.raises(HoldAlreadyUsed):
        await s.open_hold(payer, market.slug, market.provider, 100_000, 50_000, 600, "req-1")


async def test_usage_above_the_hold_is_capped(market: MarketEnv, settlement: Settlement) -> None:
    payer = await market.new_wallet(usdc=10 * USDC)
    hold = await settlement.open_hold(payer, market.slug, market.provider, 1_000, 1_000, 60, "cap")
    split = await settlement.settle(hold, 10**9, 10**9)
    assert split.gross == hold.amount and split.refund == 0
    assert (split.provider, split.creator, split.protocol) == expected_split(
        hold.amount, PROTOCOL_FEE_BPS, MODEL_FEE_BPS
    )


async def test_settle_retried_after_timeout_charges_once(
    market: MarketEnv, settlement: Settlement
) -> None:
    payer = await market.new_wallet(usdc=100 * USDC)
    bal = Balances(market, market.usdc_account(payer.pubkey()))
    hold = await settlement.open_hold(
        payer, market.slug, market.provider, 200_000, 20_000, 600, "timeout-1"
    )
    before = await bal.read()
    flaky_rpc = TimeoutAfterSend(market.net.rpc_url)  # type: ignore[attr-defined]
    try:
        flaky = Settlement(BourseClient(flaky_rpc, options=FAST), market.settler, settlement.config)
        # When the settle transaction is sent but its answer times out
        with pytest.raises(TimeoutError):
            await flaky.settle(hold, 150_000, 5_000)
        # Then the retry (same call) returns the split of the landed transaction
        split = await flaky.settle(hold, 150_000, 5_000)
    finally:
        await flaky_rpc.close()
    gross = usage_charge(PRICE_IN, PRICE_OUT, 150_000, 5_000)
    assert split.gross == gross and split.refund == hold.amount - gross
    # And the payer was charged exactly once
    assert delta(before, await bal.read()) == {
        "payer": hold.amount - gross,  # the refund of the escrowed hold
        "provider": split.provider,
        "creator": split.creator,
        "protocol": split.protocol,
        "escrow": -hold.amount,
    }
    settles = [sig for sig, ok in await market.client.signatures_for_address(hold.order) if ok]
    assert len(settles) == 2  # open + one settle


async def test_open_hold_retried_after_timeout_opens_one_order(
    market: MarketEnv, settlement: Settlement
) -> None:
    payer = await market.new_wallet(usdc=100 * USDC)
    payer_token = market.usdc_account(payer.pubkey())
    before = await market.balance(payer_token)
    flaky_rpc = TimeoutAfterSend(market.net.rpc_url)  # type: ignore[attr-defined]
    try:
        flaky = Settlement(BourseClient(flaky_rpc, options=FAST), market.settler, settlement.config)
        with pytest.raises(TimeoutError):
            await flaky.open_hold(payer, market.slug, market.provider, 10_000, 10_000, 600, "k")
        hold = await flaky.open_hold(payer, market.slug, market.provider, 10_000, 10_000, 600, "k")
    finally:
        await flaky_rpc.close()
    assert hold.signature is None  # found, not opened again
    assert await market.balance(payer_token) == before - hold.amount
    orders = await market.client.list_orders(payer=payer.pubkey())
    assert [a for a, _ in orders] == [hold.order]
    # A different model/provider under the same key is a conflict
    with pytest.raises(IdempotencyConflict):
        await settlement.open_hold(payer, market.slug, Pubkey.new_unique(), 1, 1, 600, "k")
    await settlement.release(hold)


# -- release ----------------------------------------------------------------------------------


async def test_release_refunds_the_hold(market: MarketEnv, settlement: Settlement) -> None:
    payer = await market.new_wallet(usdc=100 * USDC)
    bal = Balances(market, market.usdc_account(payer.pubkey()))
    start = await bal.read()
    hold = await settlement.open_hold(
        payer, market.slug, market.provider, 50_000, 50_000, 600, "release-1"
    )
    split = await settlement.release(hold)
    assert split == Split(0, 0, 0, 0, refund=hold.amount)
    assert await bal.read() == start
    # idempotent
    assert await settlement.release(hold) == split
    # settle after release: nothing is charged, the error says what happened
    with pytest.raises(HoldAlreadyReleased) as info:
        await settlement.settle(hold, 1, 1)
    assert info.value.split.refund == hold.amount
    assert await bal.read() == start

    # release after settle: refused with the charged split
    other = await settlement.open_hold(
        payer, market.slug, market.provider, 50_000, 50_000, 600, "release-2"
    )
    charged = await settlement.settle(other, 1_000, 1_000)
    with pytest.raises(HoldAlreadySettled) as settled:
        await settlement.release(other)
    assert settled.value.split == charged


async def test_wrong_settler_is_refused(market: MarketEnv, settlement: Settlement) -> None:
    with pytest.raises(SettlerMismatch):
        Settlement(market.client, Keypair(), settlement.config)


# -- collected payments -----------------------------------------------------------------------


async def test_settle_payment_and_replay(market: MarketEnv, settlement: Settlement) -> None:
    source = await market.new_wallet(usdc=100 * USDC)
    bal = Balances(market, market.usdc_account(source.pubkey()))
    start = await bal.read()
    src = market.usdc_account(source.pubkey())
    amount = 50 * USDC + 3

    split = await settlement.settle_payment(
        market.slug, market.provider, amount, "x402:abc", src, source
    )
    provider, creator, protocol = expected_split(amount, PROTOCOL_FEE_BPS, MODEL_FEE_BPS)
    assert split == Split(amount, provider, creator, protocol, 0)
    after = await bal.read()
    assert delta(start, after) == {
        "payer": -amount,
        "provider": provider,
        "creator": creator,
        "protocol": protocol,
        "escrow": 0,
    }
    # Replay: AlreadyInitialized is caught, the receipt's split returned, nothing moves
    assert (
        await settlement.settle_payment(
            market.slug, market.provider, amount, "x402:abc", src, source
        )
        == split
    )
    assert await bal.read() == after
    receipt = await market.client.fetch(settlement.receipt_address("x402:abc"), PaymentReceipt)
    assert receipt is not None and receipt.amount == amount
    # The same id for another amount is a conflict, not a silent success
    with pytest.raises(IdempotencyConflict):
        await settlement.settle_payment(
            market.slug, market.provider, amount + 1, "x402:abc", src, source
        )


class CountingRpc(AsyncClient):
    def __init__(self, url: str) -> None:
        super().__init__(url, timeout=30)
        self.calls: Counter[str] = Counter()
        self._provider.session.event_hooks["request"].append(self._count)

    async def _count(self, request: httpx2.Request) -> None:
        self.calls[json.loads(request.content)["method"]] += 1


async def test_settle_payments_batch_of_30(market: MarketEnv, settlement: Settlement) -> None:
    # The gateway's collected-credits account: one source, its own authority
    source = await market.new_wallet(usdc=100 * USDC)
    items = [
        PaymentItem(
            model_slug=market.slug,
            provider=market.provider,
            amount=1_000_000 + 37 * i,
            payment_id=f"credits-batch:{i}",
            source=market.usdc_account(source.pubkey()),
            source_authority=source,
        )
        for i in range(30)
    ]
    # Two of them were settled before (a partial earlier run)
    for item in items[:2]:
        await settlement.settle_payment(
            item.model_slug,
            item.provider,
            item.amount,
            item.payment_id,
            item.source,
            item.source_authority,
        )
    totals_before = {k: await market.balance(v) for k, v in _sinks(market).items()}

    rpc = CountingRpc(market.net.rpc_url)  # type: ignore[attr-defined]
    try:
        batch = Settlement(BourseClient(rpc, options=FAST), market.settler, settlement.config)
        splits = await batch.settle_payments(items)
        sent = rpc.calls["sendTransaction"]
        # Idempotent per item: running it again sends nothing and returns the same splits
        rpc.calls.clear()
        assert await batch.settle_payments(items) == splits
        assert rpc.calls["sendTransaction"] == 0
    finally:
        await rpc.close()

    # 28 new payments went out in 5 transactions: 6 settle_payment instructions fit in
    # 1,232 bytes with two signers and the compute-budget instructions
    assert sent == 5, sent
    assert len(splits) == 30
    for item, split in zip(items, splits, strict=True):
        p, c, pr = expected_split(item.amount, PROTOCOL_FEE_BPS, MODEL_FEE_BPS)
        assert split == Split(item.amount, p, c, pr, 0)
    receipts = await market.client.fetch_many(
        [settlement.receipt_address(i.payment_id) for i in items], PaymentReceipt
    )
    assert all(r is not None for r in receipts)
    after = {k: await market.balance(v) for k, v in _sinks(market).items()}
    new = splits[2:]
    assert after["provider"] - totals_before["provider"] == sum(s.provider for s in new)
    assert after["creator"] - totals_before["creator"] == sum(s.creator for s in new)
    assert after["protocol"] - totals_before["protocol"] == sum(s.protocol for s in new)


def lookup_table_data(addresses: list[Pubkey]) -> bytes:
    """An active address lookup table account (ProgramState::LookupTable, 56-byte meta)."""
    meta = struct.pack("<IQQB", 1, 2**64 - 1, 0, 0) + b"\x00" + bytes(32) + b"\x00\x00"
    return meta + b"".join(bytes(a) for a in addresses)


async def test_settle_payments_with_a_lookup_table(
    market: MarketEnv, settlement: Settlement
) -> None:
    source = await market.new_wallet(usdc=100 * USDC)
    src = market.usdc_account(source.pubkey())
    # Given a lookup table holding the accounts every settle_payment repeats
    addresses = await settlement.lookup_addresses([market.slug], [market.provider], [src])
    table = Pubkey.new_unique()
    data = lookup_table_data(addresses)
    account = {
        "lamports": 10**8,
        "data": [base64.b64encode(data).decode(), "base64"],
        "owner": str(ADDRESS_LOOKUP_TABLE_PROGRAM_ID),
    }
    await market.net.rpc("bourse_setAccount", [str(table), account])  # type: ignore[attr-defined]
    rpc = CountingRpc(market.net.rpc_url)  # type: ignore[attr-defined]
    try:
        client = BourseClient(rpc, options=FAST)
        loaded = await client.fetch_lookup_table(table)
        assert loaded is not None and list(loaded.addresses) == addresses
        with_alt = await Settlement.load(client, market.settler, lookup_tables=[table])
        items = [
            PaymentItem(market.slug, market.provider, 2_000 + i, f"alt:{i}", src, source)
            for i in range(30)
        ]
        splits = await with_alt.settle_payments(items)
        sent = rpc.calls["sendTransaction"]
    finally:
        await rpc.close()
    # Then 30 payments fit in 4 transactions (9 per transaction instead of 6)
    assert sent == 4, sent
    assert [s.gross for s in splits] == [i.amount for i in items]
    receipts = await market.client.fetch_many(
        [settlement.receipt_address(i.payment_id) for i in items], PaymentReceipt
    )
    assert all(r is not None for r in receipts)


async def test_settle_payments_duplicate_ids_in_one_call(
    market: MarketEnv, settlement: Settlement
) -> None:
    source = await market.new_wallet(usdc=10 * USDC)
    item = PaymentItem(
        market.slug,
        market.provider,
        12_345,
        "dup-1",
        market.usdc_account(source.pubkey()),
        source,
    )
    before = await market.balance(item.source)
    splits = await settlement.settle_payments([item, item])
    assert splits[0] == splits[1] and splits[0].gross == 12_345
    assert await market.balance(item.source) == before - 12_345


def _sinks(market: MarketEnv) -> dict[str, Pubkey]:
    return {
        "provider": market.provider_payout,
        "creator": market.revenue_vault,
        "protocol": market.treasury,
    }
