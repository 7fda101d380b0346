"""Class 16 — crank-side, on-chain part: a malicious or buggy operator key cannot pass
min_out = 0, cannot route the output anywhere but the model's buyback vault, and cannot
exceed the per-call cap or the per-model cooldown (buyback.rs). The off-chain parts (a quote
checked against a second price source before sending) belong to the cranks and are tested
there (see README.md)."""

from __future__ import annotations

import pytest
from solders.pubkey import Pubkey

from bourse_chain import pda
from bourse_chain.generated.cp_pool import instructions as pool_ix
from bourse_ops.sandbox.svm_chain import TxFailed
from tests.security.kit import (
    MARKET_ERRORS,
    TOKEN_PROGRAM_ID,
    USDC,
    World,
    assert_rejected,
)

CAP = 5 * USDC
COOLDOWN = 3_600


@pytest.fixture(scope="module")
def w() -> World:
    return World(max_buyback_per_call=CAP, buyback_cooldown_secs=COOLDOWN)


def vaults(w: World, slug: str = "alpha") -> list[Pubkey]:
    return [w.m.revenue_vault(slug), w.m.buyback_vault(slug), w.m.model(slug), w.pools[slug]]


def test_min_out_zero(w: World) -> None:
    assert_rejected(
        w.c, [w.buyback_ix("alpha", 1 * USDC, 0)], [w.crank], "ZeroMinOut", watch=vaults(w)
    )


def test_output_routed_to_the_operator(w: World) -> None:
    """A genuine cp_pool swap signed by the model PDA whose destination is the operator's
    token account: the USDC leaves the vault, no token arrives in the buyback vault."""
    c, m = w.c, w.m
    pool = w.pools["alpha"]
    mine = c.ata(w.crank.pubkey(), w.mints["alpha"])
    swap = pool_ix.swap(
        pool_ix.SwapArgs(amount_in=1 * USDC, min_out=1),
        pool_ix.SwapAccounts(
            user=m.model("alpha"),
            pool=pool,
            user_source=m.revenue_vault("alpha"),
            user_destination=mine,
            vault_in=pda.pool_vault_pda(pool, c.usdc_mint)[0],
            vault_out=pda.pool_vault_pda(pool, w.mints["alpha"])[0],
            mint_in=c.usdc_mint,
            mint_out=w.mints["alpha"],
            token_program_in=TOKEN_PROGRAM_ID,
            token_program_out=TOKEN_PROGRAM_ID,
        ),
    )
    ix = w.buyback_ix("alpha", 1 * USDC, 1, route=swap)
    assert_rejected(c, [ix], [w.crank], "SlippageExceeded", watch=[*vaults(w), mine])


def test_amount_above_the_per_call_cap(w: World) -> None:
    ix = w.buyback_ix("alpha", CAP + 1, 1)
    assert_rejected(w.c, [ix], [w.crank], "BuybackCapExceeded", watch=vaults(w))


def test_route_spending_more_than_the_capped_amount(w: World) -> None:
    """amount_in within the cap, but the route swaps twice as much."""
    route = w.pool_swap("alpha", 2 * CAP)
    ix = w.buyback_ix("alpha", CAP, 1, route=route)
    assert_rejected(w.c, [ix], [w.crank], "SwapOverspent", watch=vaults(w))


def test_another_key_cannot_buy_back(w: World) -> None:
    """A leaked settler key (or any key) is not the crank."""
    ix = w.buyback_ix("alpha", 1 * USDC, 1, crank=w.settler.pubkey())
    assert_rejected(w.c, [ix], [w.settler], "Unauthorized", watch=vaults(w))


def test_paused_blocks_buyback_not_burn(w: World) -> None:
    w.set_paused(True)
    try:
        assert_rejected(
            w.c,
            [w.buyback_ix("beta", 1 * USDC, 1)],
            [w.crank],
            "ProgramPaused",
            watch=vaults(w, "beta"),
        )
    finally:
        w.set_paused(False)


def test_cooldown_holds(w: World) -> None:
    """One buyback per model per cooldown, across transactions and within one."""
    out = w.quote("alpha", 1 * USDC)
    w.c.send([w.buyback_ix("alpha", 1 * USDC, out)], [w.crank])
    assert_rejected(
        w.c, [w.buyback_ix("alpha", 1 * USDC, 1)], [w.crank], "BuybackCooldown", watch=vaults(w)
    )
    w.warp(COOLDOWN - 1)
    assert_rejected(
        w.c, [w.buyback_ix("alpha", 1 * USDC, 1)], [w.crank], "BuybackCooldown", watch=vaults(w)
    )
    w.warp(1)
    w.c.send([w.buyback_ix("alpha", 1 * USDC, 1)], [w.crank])  # due again


def test_cooldown_holds_within_one_transaction() -> None:
    """Two capped buybacks of the same model in one transaction: the second is refused and
    the first rolls back with it."""
    w = World(max_buyback_per_call=CAP, buyback_cooldown_secs=COOLDOWN)
    ixs = [w.buyback_ix("alpha", CAP, 1), w.buyback_ix("alpha", CAP, 1)]
    assert_rejected(w.c, ixs, [w.crank], "BuybackCooldown", watch=vaults(w))


def test_cap_and_cooldown_bound_what_a_rogue_key_can_spend(w: World) -> None:
    """Whatever a rogue crank does in one cooldown window, at most CAP USDC per model leaves
    the revenue vault."""
    w.warp(COOLDOWN)
    rv = w.m.revenue_vault("beta")
    before = w.balance(rv)
    attempts = [w.buyback_ix("beta", CAP + 1, 1)] + [w.buyback_ix("beta", CAP, 1) for _ in range(3)]
    outcomes: list[int | None] = []
    for ix in attempts:
        try:
            w.c.send([ix], [w.crank])
            outcomes.append(None)
        except TxFailed as e:
            outcomes.append(e.custom_code)
    cap, cooldown = MARKET_ERRORS["BuybackCapExceeded"], MARKET_ERRORS["BuybackCooldown"]
    assert outcomes == [cap, None, cooldown, cooldown]
    assert before - w.balance(rv) == CAP
