"""buyback_sol on a SOL-paired pump.fun coin (ClawPump-like: legacy SPL mint, curve quoted in
SOL): USDC -> WSOL through the cp_pool pool of WSOL/USDC (the localnet stand-in for the
Jupiter leg), the WSOL unwrapped into the model's data-less buyer PDA, then pump.fun's
``buy_exact_sol_in`` (the stand-in at pump.fun's id) paid by the buyer PDA. Balances exact to
the micro-USDC and the lamport."""

from __future__ import annotations

import pytest
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT

from bourse_chain import mints, pools, pump_curve, pump_sol, pump_swap
from bourse_chain.generated.compute_market.accounts import Model
from bourse_ops.sandbox import pump_venue
from tests.security.kit import USDC, World
from tests.security.sol_kit import SLUG, SolWorld, graduate, make_world, swap_buyback


@pytest.fixture()
def sw() -> SolWorld:
    return make_world()


def _model(w: World) -> Model:
    data = w.c.data(w.model(SLUG))
    assert data is not None
    return Model.decode(data)


def test_buyback_sol_on_the_curve_is_exact(sw: SolWorld) -> None:
    w, c = sw.w, sw.w.c
    sw.prepare()
    assert c.lamports(sw.buyer) == pump_sol.BUYER_FLOOR
    vault, bvault = w.m.revenue_vault(SLUG), w.m.buyback_vault(SLUG)
    revenue = w.balance(vault)
    curve = pump_curve.curve_address(sw.market.mint)
    fee_recipient = sw.market.fee_recipient
    creator_vault = pump_curve.creator_vault(sw.market.curve.creator)
    watched = [curve, fee_recipient, creator_vault]
    lamports_before = {a: c.lamports(a) for a in watched}

    amount = 150 * USDC
    sol = sw.sol_out(amount)
    q = pump_sol.quote_buy_sol(sw.market, sol, sw.creator_vault_lamports())
    c.send([sw.buyback(amount, sol, q.tokens)], [w.crank])

    assert w.balance(bvault) == q.tokens
    assert w.balance(vault) == revenue - amount
    assert c.lamports(sw.buyer) == pump_sol.BUYER_FLOOR + sol - q.spent
    assert c.data(pump_sol.buyer_wsol(sw.buyer)) is None  # opened and closed inside
    assert c.lamports(curve) == lamports_before[curve] + q.net
    assert c.lamports(fee_recipient) == lamports_before[fee_recipient] + q.protocol_fee
    assert c.lamports(creator_vault) == lamports_before[creator_vault] + q.creator_payment
    assert c.lamports(creator_vault) >= mints.rent_exempt_lamports(0)
    m = _model(w)
    assert (m.usdc_spent, m.tokens_bought) == (amount, q.tokens)
    after = pump_venue.refresh(c, sw.market)
    assert after.curve.real_quote_reserves == q.net
    assert after.curve.virtual_token_reserves == sw.market.curve.virtual_token_reserves - q.tokens

    # burn what was bought
    c.send([w.m.burn(w.crank.pubkey(), SLUG, sw.market.mint, TOKEN_PROGRAM_ID)], [w.crank])
    assert w.balance(bvault) == 0
    assert c.mint_supply(sw.market.mint) == pump_venue.TOTAL_SUPPLY - q.tokens


def test_leftover_sol_is_spent_by_the_next_buyback(sw: SolWorld) -> None:
    """A buy spending less than the swap brought leaves SOL in the buyer PDA (above its floor);
    the next buyback may spend it with its own."""
    w, c = sw.w, sw.w.c
    sw.prepare()
    amount = 30 * USDC
    sol = sw.sol_out(amount)
    q1 = pump_sol.quote_buy_sol(sw.market, sol // 2, sw.creator_vault_lamports())
    c.send([sw.buyback(amount, sol // 2, q1.tokens)], [w.crank])
    left = pump_sol.BUYER_FLOOR + sol - q1.spent
    assert c.lamports(sw.buyer) == left
    market = pump_venue.refresh(c, sw.market)
    sw.market = market
    w.warp(1)
    sol2 = sw.sol_out(amount)
    spendable = sol2 + left - pump_sol.BUYER_FLOOR
    q2 = pump_sol.quote_buy_sol(market, spendable, sw.creator_vault_lamports())
    c.send([sw.buyback(amount, spendable, q2.tokens)], [w.crank])
    assert c.lamports(sw.buyer) == pump_sol.BUYER_FLOOR + spendable - q2.spent
    assert w.balance(w.m.buyback_vault(SLUG)) == q1.tokens + q2.tokens


def test_without_the_prepayment_the_buy_cannot_pay(sw: SolWorld) -> None:
    w, c = sw.w, sw.w.c
    vault = w.m.revenue_vault(SLUG)
    amount = 10 * USDC
    before = c.snapshot([vault, w.m.buyback_vault(SLUG), sw.buyer])
    c.fails([sw.buyback(amount, sw.sol_out(amount), 1)], [w.crank])
    assert c.snapshot([vault, w.m.buyback_vault(SLUG), sw.buyer]) == before


def test_buybacks_complete_the_curve_then_stop(sw: SolWorld) -> None:
    w, c = sw.w, sw.w.c
    w.pay(SLUG, 40_000 * USDC)
    sw.prepare()
    bought = 0
    while not sw.market.curve.complete:
        w.warp(1)
        amount = 300 * USDC
        sol = sw.sol_out(amount) + c.lamports(sw.buyer) - pump_sol.BUYER_FLOOR
        q = pump_sol.quote_buy_sol(sw.market, sol, sw.creator_vault_lamports())
        c.send([sw.buyback(amount, sol, q.tokens)], [w.crank])
        bought += q.tokens
        assert c.lamports(sw.buyer) == pump_sol.BUYER_FLOOR + sol - q.spent
        sw.market = pump_venue.refresh(c, sw.market)
    assert bought == 60_000_000_000_000
    assert w.balance(w.m.buyback_vault(SLUG)) == bought
    w.warp(1)
    err = c.fails([sw.buyback(10 * USDC, sw.sol_out(10 * USDC), 1)], [w.crank])
    assert err.custom_code == 6005  # BondingCurveComplete


def test_a_swap_leg_spending_from_the_model_pdas_usdc_account_is_staged(sw: SolWorld) -> None:
    """A Jupiter route spends from the user's associated USDC account: buyback_sol stages
    amount_in there from the revenue vault and sweeps the rest back, as buyback does."""
    w, c = sw.w, sw.w.c
    sw.prepare()
    model = w.model(SLUG)
    stage = c.ata(model, c.usdc_mint)
    vault = w.m.revenue_vault(SLUG)
    revenue = w.balance(vault)
    amount = 20 * USDC
    sol = sw.sol_out(amount - 1)
    swap = pools.swap(
        model,
        pools.Side(c.usdc_mint, TOKEN_PROGRAM_ID, stage),
        pools.Side(WRAPPED_SOL_MINT, TOKEN_PROGRAM_ID, pump_sol.buyer_wsol(sw.buyer)),
        amount - 1,  # the swap takes less than amount_in: 1 micro-USDC comes back
        1,
    )
    legs = sw.legs(amount, sol)
    legs.update(swap_data=bytes(swap.data), swap_accounts=pools.as_cpi_accounts(swap))
    q = pump_sol.quote_buy_sol(sw.market, sol, sw.creator_vault_lamports())
    ix = w.m.buyback_sol(
        w.crank.pubkey(),
        SLUG,
        amount_in=amount,
        min_out=q.tokens,
        **legs,  # type: ignore[arg-type]
    )
    c.send([ix], [w.crank])
    assert w.balance(stage) == 0
    assert w.balance(vault) == revenue - (amount - 1)
    assert _model(w).usdc_spent == amount - 1
    assert w.balance(w.m.buyback_vault(SLUG)) == q.tokens


def test_after_graduation_buyback_sol_buys_on_pumpswaps_wsol_pool(sw: SolWorld) -> None:
    """The graduated coin's PumpSwap pool is WSOL-quoted: the buy leg names the buyer's WSOL
    account, so the swap's WSOL stays wrapped for PumpSwap's ``buy_exact_quote_in`` (user = the
    buyer PDA) and the account is closed into the buyer after the buy."""
    w, c = sw.w, sw.w.c
    w.pay(SLUG, 40_000 * USDC)
    amm = graduate(sw)
    assert amm.pool.quote_mint == WRAPPED_SOL_MINT
    assert amm.quote_reserve == sw.market.curve.real_quote_reserves
    vault, bvault = w.m.revenue_vault(SLUG), w.m.buyback_vault(SLUG)
    revenue, tokens, buyer = w.balance(vault), w.balance(bvault), c.lamports(sw.buyer)
    spent_before = _model(w).usdc_spent
    p = amm.pool
    fee_ata = c.ata(amm.protocol_fee_recipient, WRAPPED_SOL_MINT)
    creator_ata = c.ata(pump_swap.creator_vault_authority(p.coin_creator), WRAPPED_SOL_MINT)
    watched = [p.pool_quote_token_account, fee_ata, creator_ata]
    before = {a: w.balance(a) for a in watched}

    amount = 200 * USDC
    sol = sw.sol_out(amount)
    q = pump_swap.quote_buy(amm, sol)
    c.send([swap_buyback(sw, amm, amount, sol, q.base_out)], [w.crank])

    assert w.balance(bvault) == tokens + q.base_out
    assert w.balance(p.pool_base_token_account) == amm.base_reserve - q.base_out
    assert w.balance(vault) == revenue - amount
    assert c.lamports(sw.buyer) == buyer + sol - q.spent
    assert c.data(pump_sol.buyer_wsol(sw.buyer)) is None  # closed into the buyer after the buy
    assert sum(w.balance(a) - before[a] for a in watched) == q.spent
    assert w.balance(p.pool_quote_token_account) - before[p.pool_quote_token_account] > q.net
    m = _model(w)
    assert m.usdc_spent == spent_before + amount
