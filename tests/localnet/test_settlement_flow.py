"""bourse_chain.settlement end to end on the JSON-RPC localnet: hold -> settle with balances
asserted to the micro-USDC, retries after timeouts that never charge twice, release,
and the holes an adversarial review found in holds (see tests/security for the attacks).
Batch settlement of paid calls: test_settlement_batch.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.models import TxOpts
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.client import BourseClient
from bourse_chain.generated.compute_market.accounts import Model, Order
from bourse_chain.money import expected_split, usage_charge
from bourse_chain.results import Split
from bourse_chain.settlement import (
    HoldAlreadyReleased,
    HoldAlreadySettled,
    HoldAlreadyUsed,
    IdempotencyConflict,
    Settlement,
    SettlerMismatch,
)
from tests.support.localnet_market import (
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
