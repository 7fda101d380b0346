"""Class 14 — transfer-fee accounting: every credit of a Token-2022 amount uses the balance
delta that arrived, never the nominal amount. `gamma`'s mint withholds 1% on every transfer:
the pool sends `out`, the buyback vault receives `out - fee`. min_out is checked against what
arrived; the model's totals, the event and the burn all use that delta."""

from __future__ import annotations

import pytest

from bourse_chain import token_layout
from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.generated.compute_market.events import BuybackExecuted, TokensBurned
from tests.security.kit import (
    CP_POOL_ID,
    T22_FEE_BPS,
    T22_MAX_FEE,
    TOKEN_2022_PROGRAM_ID,
    USDC,
    Call,
    World,
    assert_rejected,
    tk_transfer_checked,
    token_withheld,
)

SLUG = "gamma"


@pytest.fixture(scope="module")
def w(evil_image: bytes) -> World:
    world = World(evil_image=evil_image)
    assert world.evil is not None
    world.allow([CP_POOL_ID, world.evil])
    return world


def model(w: World) -> Model:
    return Model.decode(w.c.data(w.m.model(SLUG)))  # type: ignore[arg-type]


def fee(amount: int) -> int:
    return token_layout.transfer_fee(amount, T22_FEE_BPS, T22_MAX_FEE)


def test_min_out_is_checked_against_what_arrived(w: World) -> None:
    """min_out = the pool's nominal output: the vault gets 1% less, so refused."""
    amount_in = 10 * USDC
    out = w.quote(SLUG, amount_in)
    assert fee(out) > 0
    ix = w.buyback_ix(SLUG, amount_in, out)  # the pool itself only demands 1
    assert_rejected(
        w.c,
        [ix],
        [w.crank],
        "SlippageExceeded",
        watch=[w.m.revenue_vault(SLUG), w.m.buyback_vault(SLUG), w.pools[SLUG]],
    )


def test_buyback_credits_the_delta_and_burn_burns_it(w: World) -> None:
    amount_in = 10 * USDC
    out = w.quote(SLUG, amount_in)
    arrived = out - fee(out)
    bv = w.m.buyback_vault(SLUG)
    before, vault_before, withheld_before = model(w), w.balance(bv), token_withheld(w.c, bv)
    meta = w.c.send([w.buyback_ix(SLUG, amount_in, arrived)], [w.crank])
    after = model(w)
    assert w.balance(bv) - vault_before == arrived
    assert token_withheld(w.c, bv) - withheld_before == fee(out)
    assert after.tokens_bought - before.tokens_bought == arrived
    assert after.usdc_spent - before.usdc_spent == amount_in
    (ev,) = [e for e in w.c.events(meta) if isinstance(e, BuybackExecuted)]
    assert (ev.tokens_bought, ev.usdc_spent) == (arrived, amount_in)

    supply = w.c.mint_supply(w.mints[SLUG])
    meta = w.c.send([w.burn_ix(SLUG)], [w.crank])
    (burned,) = [e for e in w.c.events(meta) if isinstance(e, TokensBurned)]
    assert burned.amount == vault_before + arrived
    assert w.c.mint_supply(w.mints[SLUG]) == supply - burned.amount
    assert w.balance(bv) == 0
    assert model(w).tokens_burned - after.tokens_burned == burned.amount


def test_route_delivering_nominal_min_out_is_short_after_the_fee(w: World) -> None:
    """An allow-listed route transferring exactly min_out (nominal) into the buyback vault:
    min_out - fee arrives, which is refused."""
    supplier = w.attacker
    src = w.give_tokens(SLUG, supplier, 100_000)
    mint = w.mints[SLUG]
    leg = Call.of(
        tk_transfer_checked(
            TOKEN_2022_PROGRAM_ID, src, mint, w.m.buyback_vault(SLUG), supplier.pubkey(), 10_000
        )
    )
    ix = w.evil_buyback_ix(SLUG, 1 * USDC, 10_000, [leg], signers=[supplier.pubkey()])
    assert_rejected(
        w.c, [ix], [w.crank, supplier], "SlippageExceeded", watch=[src, w.m.buyback_vault(SLUG)]
    )
    ok = w.evil_buyback_ix(SLUG, 1 * USDC, 10_000 - fee(10_000), [leg], signers=[supplier.pubkey()])
    before = model(w).tokens_bought
    w.c.send([ok], [w.crank, supplier])
    assert model(w).tokens_bought - before == 10_000 - fee(10_000)
