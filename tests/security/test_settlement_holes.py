"""Issue 11, holes 1-4, attacked through the real settlement API (bourse_chain.settlement) on
the JSON-RPC localnet, balances asserted to the micro-USDC and the lamport. Each test fails
on main before the fix (8620b8b..89a6da0) and passes after; README.md says what stops each.

1. A payer reassigns its USDC account after open_hold: settlement must still go through.
2. A payer closes its USDC account after open_hold: the settler must pay no rent for it.
3. A provider raises its price before the payer's order lands: the payer's max_hold holds.
4. No settlement window / pre-opened orders: the TTL has a floor the payer cannot cancel
   inside, and open_hold refuses an order at its key's address that is not the one it opens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_idempotent_associated_token_account,
)

from bourse_chain.generated.compute_market import errors as cm_errors
from bourse_chain.generated.compute_market.accounts import Order
from bourse_chain.market import order_nonce
from bourse_chain.money import expected_split, usage_charge
from bourse_chain.results import Split
from bourse_chain.settlement import IdempotencyConflict, Settlement
from tests.security.kit import ACCOUNT_OWNER, tk_close, tk_set_authority, tk_transfer_checked
from tests.support.localnet_market import (
    MODEL_FEE_BPS,
    PRICE_IN,
    PRICE_OUT,
    PROTOCOL_FEE_BPS,
    MarketEnv,
    add_offer,
    needs_program,
    start_market,
)

pytestmark = needs_program

USDC = 1_000_000
SIGNATURE_FEE = 5_000


@pytest.fixture(scope="module")
async def market(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MarketEnv]:
    async with start_market(tmp_path_factory.mktemp("holes")) as env:
        yield env


@pytest.fixture(scope="module")
async def settlement(market: MarketEnv) -> Settlement:
    return await Settlement.load(market.client, market.settler)


async def lamports(market: MarketEnv, key: Pubkey) -> int:
    return (await market.rpc.get_balance(key)).value


async def usdc_of(market: MarketEnv, accounts: dict[str, Pubkey]) -> dict[str, int]:
    out = {}
    for name, account in accounts.items():
        info = await market.client.get_account(account)
        out[name] = await market.balance(account) if info is not None and info.data else 0
    return out


def sinks(market: MarketEnv, payer_token: Pubkey) -> dict[str, Pubkey]:
    return {
        "payer": payer_token,
        "provider": market.provider_payout,
        "creator": market.revenue_vault,
        "protocol": market.treasury,
        "escrow": market.escrow,
    }


def moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in before}


def charged(hold: int, tokens_in: int, tokens_out: int) -> dict[str, int]:
    gross = usage_charge(PRICE_IN, PRICE_OUT, tokens_in, tokens_out)
    provider, creator, protocol = expected_split(gross, PROTOCOL_FEE_BPS, MODEL_FEE_BPS)
    return {
        "payer": hold - gross,
        "provider": provider,
        "creator": creator,
        "protocol": protocol,
        "escrow": -hold,
    }


# -- hole 1 -------------------------------------------------------------------------------------


async def test_hole1_reassigned_payer_account_cannot_block_settlement(
    market: MarketEnv, settlement: Settlement
) -> None:
    payer = await market.new_wallet(usdc=10 * USDC)
    ata = market.usdc_account(payer.pubkey())
    hold = await settlement.open_hold(
        payer, market.slug, market.provider, 100_000, 50_000, 600, "hole1"
    )
    assert hold.amount == 82_000
    # The attack: the payer hands its associated account to another key it controls
    other = Keypair()
    await market.client.send(
        [tk_set_authority(TOKEN_PROGRAM_ID, ata, payer.pubkey(), ACCOUNT_OWNER, other.pubkey())],
        [payer],
    )
    before = await usdc_of(market, sinks(market, ata))
    # Settlement goes through (nothing re-creates the account; the refund goes where the hold
    # came from, now owned by the payer's other key)
    split = await settlement.settle(hold, 40_000, 10_000)
    assert split == Split(21_800, 20_492, 1_090, 218, 82_000 - 21_800)
    assert moved(before, await usdc_of(market, sinks(market, ata))) == {
        **charged(hold.amount, 40_000, 10_000),
        "escrow": -hold.amount,
    }
    # ...and after expiry there is nothing left for the payer to cancel
    await market.net.warp_time(601)  # type: ignore[attr-defined]
    cancel = settlement.market.cancel_order(
        payer.pubkey(), order=hold.order, payer=payer.pubkey(), payer_token=ata
    )
    with pytest.raises(cm_errors.InvalidAccountOwner):
        await market.client.send([cancel], [payer])


# -- hole 2 -------------------------------------------------------------------------------------


async def test_hole2_payer_closing_its_account_costs_the_settler_no_rent(
    market: MarketEnv, settlement: Settlement
) -> None:
    payer = await market.new_wallet(usdc=1 * USDC)
    ata = market.usdc_account(payer.pubkey())
    hold = await settlement.open_hold(
        payer, market.slug, market.provider, 100_000, 50_000, 600, "hole2"
    )
    # The attack: empty the account and close it, taking its rent back
    drain = Keypair()
    await market.net.airdrop(drain.pubkey(), 10**9)  # type: ignore[attr-defined]
    drain_ata = market.usdc_account(drain.pubkey())
    rest = await market.balance(ata)
    await market.client.send(
        [
            create_idempotent_associated_token_account(
                payer.pubkey(), drain.pubkey(), market.usdc_mint, TOKEN_PROGRAM_ID
            ),
            tk_transfer_checked(
                TOKEN_PROGRAM_ID, ata, market.usdc_mint, drain_ata, payer.pubkey(), rest
            ),
            tk_close(TOKEN_PROGRAM_ID, ata, payer.pubkey(), payer.pubkey()),
        ],
        [payer],
    )
    assert await market.client.get_account(ata) is None
    settler_sol = await lamports(market, market.settler.pubkey())
    payer_sol = await lamports(market, payer.pubkey())
    before = await usdc_of(market, sinks(market, ata))

    split = await settlement.settle(hold, 40_000, 10_000)

    # The settler paid its signature and nothing else; the account stays closed
    assert await lamports(market, market.settler.pubkey()) == settler_sol - SIGNATURE_FEE
    assert await lamports(market, payer.pubkey()) == payer_sol
    assert await market.client.get_account(ata) is None
    gross = 21_800
    assert split.gross == gross
    expected = charged(hold.amount, 40_000, 10_000)
    assert moved(before, await usdc_of(market, sinks(market, ata))) == {
        **expected,
        "payer": 0,  # the refund waits in the order
        "escrow": -gross,
    }
    order = await market.client.fetch(hold.order, Order)
    assert order is not None and order.refund_pending and order.hold == hold.amount - gross
    # A retry of settle returns the recorded split and moves nothing
    assert await settlement.settle(hold, 40_000, 10_000) == split
    # The payer claims its refund at its own expense: re-create the account, cancel at once
    await market.client.send(
        [
            create_idempotent_associated_token_account(
                payer.pubkey(), payer.pubkey(), market.usdc_mint, TOKEN_PROGRAM_ID
            )
        ],
        [payer],
    )
    cancel = settlement.market.cancel_order(
        payer.pubkey(), order=hold.order, payer=payer.pubkey(), payer_token=ata
    )
    await market.client.send([cancel], [payer])
    assert await market.balance(ata) == hold.amount - gross
    assert await market.client.get_account(hold.order) is None


# -- hole 3 -------------------------------------------------------------------------------------


async def test_hole3_provider_front_running_its_price_is_refused(
    market: MarketEnv, settlement: Settlement
) -> None:
    payer = await market.new_wallet(usdc=100 * USDC)
    ata = market.usdc_account(payer.pubkey())
    # The payer quotes the offer: 100k in + 50k out = 82,000
    quoted = usage_charge(PRICE_IN, PRICE_OUT, 100_000, 50_000)
    assert quoted == 82_000
    # The attack: the provider raises its prices x1000 before the payer's order lands
    await add_offer(
        market.client, market.provider_authority, market.model, PRICE_IN * 1000, PRICE_OUT * 1000
    )
    before = await usdc_of(market, sinks(market, ata))
    try:
        with pytest.raises(cm_errors.HoldAboveMax):
            await settlement.open_hold(
                payer,
                market.slug,
                market.provider,
                100_000,
                50_000,
                600,
                "hole3",
                max_hold=quoted,
            )
        assert await usdc_of(market, sinks(market, ata)) == before
        assert (
            await market.client.fetch(settlement.order_address(payer.pubkey(), "hole3"), Order)
            is None
        )
    finally:
        await add_offer(market.client, market.provider_authority, market.model, PRICE_IN, PRICE_OUT)
    # At the quoted price the same order opens and holds exactly the quote
    hold = await settlement.open_hold(
        payer, market.slug, market.provider, 100_000, 50_000, 600, "hole3", max_hold=quoted
    )
    assert hold.amount == quoted
    assert moved(before, await usdc_of(market, sinks(market, ata)))["payer"] == -quoted
    await settlement.release(hold)


# -- hole 4 -------------------------------------------------------------------------------------


async def test_hole4_the_settler_has_a_guaranteed_window(
    market: MarketEnv, settlement: Settlement
) -> None:
    payer = await market.new_wallet(usdc=10 * USDC)
    ata = market.usdc_account(payer.pubkey())
    before = await usdc_of(market, sinks(market, ata))
    for ttl in (1, 59):
        with pytest.raises(cm_errors.InvalidTtl):
            await settlement.open_hold(
                payer, market.slug, market.provider, 100_000, 50_000, ttl, f"hole4-{ttl}"
            )
    assert await usdc_of(market, sinks(market, ata)) == before
    # At the floor (60 s) the payer cannot cancel inside the window; the settler settles
    hold = await settlement.open_hold(
        payer, market.slug, market.provider, 100_000, 50_000, 60, "hole4-60"
    )
    await market.net.warp_time(59)  # type: ignore[attr-defined]
    cancel = settlement.market.cancel_order(
        payer.pubkey(), order=hold.order, payer=payer.pubkey(), payer_token=ata
    )
    with pytest.raises(cm_errors.OrderNotExpired):
        await market.client.send([cancel], [payer])
    await settlement.settle(hold, 40_000, 10_000)
    assert moved(before, await usdc_of(market, sinks(market, ata))) == {
        **charged(hold.amount, 40_000, 10_000),
        "payer": -21_800,
        "escrow": 0,
    }


async def test_hole4_a_pre_opened_order_at_the_keys_address_is_refused(
    market: MarketEnv, settlement: Settlement
) -> None:
    payer = await market.new_wallet(usdc=10 * USDC)
    ata = market.usdc_account(payer.pubkey())
    # The attack: the payer opens a 1-token order itself at the address the gateway's
    # idempotency key derives to
    nonce = order_nonce("gateway-req-7")
    own = settlement.market.open_order(
        payer.pubkey(), market.slug, market.provider_authority.pubkey(), nonce, 1, 1, 600
    )
    await market.client.send([own], [payer])
    before = await usdc_of(market, sinks(market, ata))
    with pytest.raises(IdempotencyConflict, match="hold 3"):
        await settlement.open_hold(
            payer, market.slug, market.provider, 100_000, 50_000, 600, "gateway-req-7"
        )
    assert await usdc_of(market, sinks(market, ata)) == before
    # and the payer cannot give its order a TTL shorter than asked either
    short = settlement.market.open_order(
        payer.pubkey(),
        market.slug,
        market.provider_authority.pubkey(),
        order_nonce("gateway-req-8"),
        100_000,
        50_000,
        60,
    )
    await market.client.send([short], [payer])
    with pytest.raises(IdempotencyConflict, match="ttl 60s"):
        await settlement.open_hold(
            payer, market.slug, market.provider, 100_000, 50_000, 600, "gateway-req-8"
        )
