"""The crank's pump venue for a SOL-paired coin (cranks/venues/pump.py): once the curve is
``complete`` and the coin has migrated to PumpSwap's WSOL pool, the route switches by itself
from ``pump_curve_sol`` to ``pump_swap_sol`` (PumpSwap ``buy_exact_quote_in`` by the buyer PDA
spending the leg's WSOL), its prepare instructions create PumpSwap's volume accumulator for
the buyer, and ``buyback_sol`` built from it delivers exactly the quoted tokens."""

from __future__ import annotations

import asyncio

from solders.pubkey import Pubkey

from bourse_chain import pump_sol, pump_swap
from bourse_chain.generated.pump_amm import PROGRAM_ID as AMM_ID
from cranks.venues.base import Route
from cranks.venues.local_pool import LocalPoolVenue
from cranks.venues.pump import SWAP_SOL, PumpConfig, PumpVenue
from tests.security.kit import USDC
from tests.security.sol_kit import SLUG, SolWorld, graduate, make_world


def _venue(s: SolWorld) -> PumpVenue:
    c = s.w.c

    async def fetch(address: Pubkey) -> bytes | None:
        return c.data(address)

    async def lamports(address: Pubkey) -> int:
        return c.lamports(address)

    return PumpVenue(
        fetch, PumpConfig(payer=c.payer.pubkey()), sol_leg=LocalPoolVenue(fetch), lamports=lamports
    )


def _quote(s: SolWorld, v: PumpVenue, amount: int) -> Route:
    w = s.w
    return asyncio.run(
        v.quote(
            w.c.usdc_mint,
            s.market.mint,
            amount,
            100,
            authority=w.model(SLUG),
            source=w.m.revenue_vault(SLUG),
            destination=w.m.buyback_vault(SLUG),
        )
    )


def test_a_graduated_sol_coin_is_bought_on_pumpswaps_wsol_pool() -> None:
    s = make_world()
    w, c = s.w, s.w.c
    w.pay(SLUG, 40_000 * USDC)
    amm = graduate(s, prepay_accumulator=False)
    v = _venue(s)
    amount = 100 * USDC
    route = _quote(s, v, amount)
    assert route.venue == SWAP_SOL
    assert route.buy_leg is not None and route.buy_leg.program == AMM_ID
    # the buyer is funded already (curve era); PumpSwap's accumulator is not: the crank pays it
    assert list(route.prepare_instructions) == [
        pump_swap.init_accumulator_instruction(c.payer.pubkey(), s.buyer)
    ]
    sol = s.sol_out(amount)
    q = pump_swap.quote_buy(amm, min(sol, route.raw_quote["sol_in"]))
    assert route.raw_quote["sol_in"] <= sol
    assert route.expected_out == q.base_out
    c.send(list(route.prepare_instructions), [])
    buyer = c.lamports(s.buyer)
    tokens = w.balance(w.m.buyback_vault(SLUG))
    assert route.buy_leg is not None
    ix = w.m.buyback_sol(
        w.crank.pubkey(),
        SLUG,
        swap_program=route.swap_program,
        swap_data=route.data,
        swap_accounts=route.remaining_accounts(),
        buy_program=route.buy_leg.program,
        buy_data=route.buy_leg.data,
        buy_accounts=list(route.buy_leg.accounts),
        amount_in=route.in_amount,
        min_out=route.min_out,
    )
    c.send([ix], [w.crank])
    assert w.balance(w.m.buyback_vault(SLUG)) == tokens + q.base_out
    # the leg brought `sol`; the buy spent q.spent of the guaranteed part, the rest is unwrapped
    assert c.lamports(s.buyer) == buyer + sol - q.spent
    assert c.data(pump_sol.buyer_wsol(s.buyer)) is None
