"""The crank's pump venue (cranks/venues/pump.py) over the in-process chain: it quotes the
bonding curve while it runs (staging source, one-time prepare instructions), switches to
PumpSwap by itself once the curve is complete and graduated, and refuses SOL-paired curves.
Every route is executed through ``buyback`` and must deliver at least its ``min_out``."""

from __future__ import annotations

import asyncio

import pytest
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_2022_PROGRAM_ID

from bourse_chain import pump_curve
from bourse_chain.generated.cp_pool import PROGRAM_ID as CP_POOL_ID
from bourse_chain.generated.pump import PROGRAM_ID as PUMP_ID
from bourse_chain.generated.pump_amm import PROGRAM_ID as AMM_ID
from bourse_ops.sandbox import pump_venue
from cranks.venues.base import Route
from cranks.venues.errors import NoRoute
from cranks.venues.pump import PumpConfig, PumpVenue
from tests.security.kit import PRICE_IN, PRICE_OUT, USDC, World

SLUG = "venue"


def _setup(real_tokens: int) -> tuple[World, pump_curve.CurveMarket, PumpVenue]:
    w = World()
    venue = pump_venue.install(w.c)
    market = pump_venue.launch(w.c, venue, w.creator.pubkey(), real_tokens=real_tokens)
    w.register(SLUG, 1_000, w.creator, approve=False)
    w.approve(SLUG, market.mint)
    w.c.send(
        [w.m.tokenize_model(w.creator.pubkey(), SLUG, market.mint, TOKEN_2022_PROGRAM_ID)],
        [w.creator],
    )
    w.c.send([w.m.upsert_offer(w.provider.pubkey(), SLUG, PRICE_IN, PRICE_OUT)], [w.provider])
    w.allow([CP_POOL_ID, PUMP_ID, AMM_ID])
    w.pay(SLUG, 20_000 * USDC)

    async def fetch(address: Pubkey) -> bytes | None:
        return w.c.data(address)

    return w, market, PumpVenue(fetch, PumpConfig(payer=w.c.payer.pubkey()))


def _quote(w: World, v: PumpVenue, mint: Pubkey, amount: int) -> Route:
    return asyncio.run(
        v.quote(
            w.c.usdc_mint,
            mint,
            amount,
            100,
            authority=w.model(SLUG),
            source=w.m.revenue_vault(SLUG),
            destination=w.m.buyback_vault(SLUG),
        )
    )


def _execute(w: World, route: Route) -> int:
    """What the crank does with a route; returns the tokens that arrived."""
    if route.prepare_instructions:
        w.c.send(list(route.prepare_instructions), [])
    before = w.balance(w.m.buyback_vault(SLUG))
    ix = w.m.buyback(
        w.crank.pubkey(),
        SLUG,
        swap_program=route.swap_program,
        swap_data=route.data,
        swap_accounts=route.remaining_accounts(),
        amount_in=route.in_amount,
        min_out=route.min_out,
    )
    w.c.send([ix], [w.crank])
    return w.balance(w.m.buyback_vault(SLUG)) - before


def test_curve_then_pumpswap_without_operator_action() -> None:
    w, market, v = _setup(real_tokens=20_000_000_000_000)
    config = pump_venue.install_amm(w.c)
    first = _quote(w, v, market.mint, 20 * USDC)
    assert first.venue == "pump_curve" and first.swap_program == PUMP_ID
    assert first.request.source == w.m.usdc_account(w.model(SLUG))  # staged
    assert len(first.prepare_instructions) == 2  # staging ATA + accumulator
    assert _execute(w, first) == first.expected_out
    again = _quote(w, v, market.mint, 20 * USDC)
    assert again.prepare_instructions == ()  # prepared once
    while True:
        route = _quote(w, v, market.mint, 20 * USDC)
        got = _execute(w, route)
        assert got == route.expected_out >= route.min_out
        if route.raw_quote["completes_curve"]:
            break
    assert pump_venue.refresh(w.c, market).curve.complete
    pump_venue.graduate(w.c, market, config)
    swap = _quote(w, v, market.mint, 50 * USDC)
    assert swap.venue == "pump_swap" and swap.swap_program == AMM_ID
    assert swap.request.source == w.m.revenue_vault(SLUG)  # no staging on PumpSwap
    assert len(swap.prepare_instructions) == 1  # PumpSwap's own accumulator
    assert _execute(w, swap) == swap.expected_out


def test_complete_but_not_yet_migrated_is_no_route() -> None:
    w, market, v = _setup(real_tokens=1_000_000_000)
    pump_venue.install_amm(w.c)
    route = _quote(w, v, market.mint, 100 * USDC)
    assert route.raw_quote["completes_curve"]
    _execute(w, route)
    with pytest.raises(NoRoute, match="PumpSwap pool"):
        _quote(w, v, market.mint, 100 * USDC)


def test_a_curve_paired_with_another_quote_mint_goes_elsewhere() -> None:
    # asking to buy a USDC-paired coin with WSOL (as for a SOL-paired coin): not this venue
    w, market, v = _setup(real_tokens=1_000_000_000)
    with pytest.raises(NoRoute, match="paired with"):
        asyncio.run(
            v.quote(
                Pubkey.from_string("So11111111111111111111111111111111111111112"),
                market.mint,
                1_000,
                100,
                authority=w.model(SLUG),
                source=w.m.revenue_vault(SLUG),
                destination=w.m.buyback_vault(SLUG),
            )
        )
