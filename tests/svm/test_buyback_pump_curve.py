"""buyback on pump.fun's USDC-paired bonding curve (the stand-in at pump.fun's id): the curve
spends only from the user's associated USDC account, so the route names the model PDA's
associated USDC account and the program stages the USDC there, counts it with the revenue
vault, and sweeps what is left back. The per-user rent is prepaid by the crank."""

from __future__ import annotations

import pytest
from solders.instruction import AccountMeta, Instruction
from spl.token.constants import TOKEN_2022_PROGRAM_ID

from bourse_chain import pump_curve
from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.generated.cp_pool import PROGRAM_ID as CP_POOL_ID
from bourse_chain.generated.pump import PROGRAM_ID as PUMP_ID
from bourse_ops.sandbox import pump_venue
from tests.security.kit import PRICE_IN, PRICE_OUT, USDC, World

SLUG = "pumpy"


@pytest.fixture()
def world() -> tuple[World, pump_curve.CurveMarket]:
    w = World()
    venue = pump_venue.install(w.c)
    market = pump_venue.launch(w.c, venue, w.creator.pubkey(), real_tokens=60_000_000_000_000)
    w.register(SLUG, 500, w.creator, approve=False)
    w.approve(SLUG, market.mint)
    w.c.send(
        [w.m.tokenize_model(w.creator.pubkey(), SLUG, market.mint, TOKEN_2022_PROGRAM_ID)],
        [w.creator],
    )
    w.c.send([w.m.upsert_offer(w.provider.pubkey(), SLUG, PRICE_IN, PRICE_OUT)], [w.provider])
    w.pay(SLUG, 2_000 * USDC)
    w.allow([CP_POOL_ID, PUMP_ID])
    return w, market


def _prepare(w: World) -> None:
    """What the crank does once per model: the model PDA's USDC ATA and its accumulator."""
    model = w.model(SLUG)
    w.c.ata(model, w.c.usdc_mint)
    w.c.send([pump_curve.init_accumulator_instruction(w.c.payer.pubkey(), model)], [])


def _buyback(w: World, market: pump_curve.CurveMarket, amount: int, min_out: int) -> Instruction:
    buy = pump_curve.buy_instruction(market, w.model(SLUG), w.m.buyback_vault(SLUG), amount, 1)
    return w.m.buyback(
        w.crank.pubkey(),
        SLUG,
        swap_program=PUMP_ID,
        swap_data=bytes(buy.data),
        swap_accounts=pump_curve.as_cpi_accounts(buy),
        amount_in=amount,
        min_out=min_out,
    )


def _model(w: World) -> Model:
    data = w.c.data(w.model(SLUG))
    assert data is not None
    return Model.decode(data)


def test_buyback_on_the_curve_is_exact(world: tuple[World, pump_curve.CurveMarket]) -> None:
    w, market = world
    _prepare(w)
    vault, bvault = w.m.revenue_vault(SLUG), w.m.buyback_vault(SLUG)
    stage = w.m.usdc_account(w.model(SLUG))
    revenue = w.balance(vault)
    q = pump_curve.quote_buy(market, 100 * USDC)
    w.c.send([_buyback(w, market, 100 * USDC, q.tokens)], [w.crank])
    assert w.balance(bvault) == q.tokens
    assert w.balance(vault) == revenue - q.spent  # the leftover came back from staging
    assert w.balance(stage) == 0
    m = _model(w)
    assert (m.usdc_spent, m.tokens_bought) == (q.spent, q.tokens)
    after = pump_venue.refresh(w.c, market)
    assert after.curve.real_quote_reserves == q.net


def test_without_the_prepaid_accumulator_the_model_pda_cannot_pay_rent(
    world: tuple[World, pump_curve.CurveMarket],
) -> None:
    w, market = world
    w.c.ata(w.model(SLUG), w.c.usdc_mint)  # staging account only
    vault = w.m.revenue_vault(SLUG)
    before = w.c.snapshot([vault, w.m.buyback_vault(SLUG), w.model(SLUG)])
    w.c.fails([_buyback(w, market, 10 * USDC, 1)], [w.crank])
    assert w.c.snapshot([vault, w.m.buyback_vault(SLUG), w.model(SLUG)]) == before


def test_a_route_spending_more_than_amount_in_from_staging_is_refused(
    world: tuple[World, pump_curve.CurveMarket],
) -> None:
    w, market = world
    _prepare(w)
    vault = w.m.revenue_vault(SLUG)
    before = w.c.snapshot([vault, w.m.buyback_vault(SLUG), w.model(SLUG)])
    # the program stages amount_in = 10 USDC but the route offers to spend 50
    buy = pump_curve.buy_instruction(market, w.model(SLUG), w.m.buyback_vault(SLUG), 50 * USDC, 1)
    ix = w.m.buyback(
        w.crank.pubkey(),
        SLUG,
        swap_program=PUMP_ID,
        swap_data=bytes(buy.data),
        swap_accounts=pump_curve.as_cpi_accounts(buy),
        amount_in=10 * USDC,
        min_out=1,
    )
    w.c.fails([ix], [w.crank])  # the token program refuses: staging holds only 10 USDC
    assert w.c.snapshot([vault, w.m.buyback_vault(SLUG), w.model(SLUG)]) == before


def test_a_non_associated_model_account_is_not_staged(
    world: tuple[World, pump_curve.CurveMarket],
) -> None:
    w, market = world
    _prepare(w)
    ix = _buyback(w, market, 10 * USDC, 1)
    # swap the model's associated USDC account for the revenue vault: nothing is staged,
    # and the curve refuses a quote account that is not the user's associated account
    stage = w.m.usdc_account(w.model(SLUG))
    metas = [
        AccountMeta(w.m.revenue_vault(SLUG), m.is_signer, m.is_writable) if m.pubkey == stage else m
        for m in ix.accounts
    ]
    vault = w.m.revenue_vault(SLUG)
    before = w.c.snapshot([vault, stage, w.m.buyback_vault(SLUG)])
    err = w.c.fails([Instruction(ix.program_id, ix.data, metas)], [w.crank])
    assert err.custom_code == 2006  # pump: ConstraintSeeds on associated_quote_user
    assert w.c.snapshot([vault, stage, w.m.buyback_vault(SLUG)]) == before


def test_buybacks_graduate_the_curve_then_stop(world: tuple[World, pump_curve.CurveMarket]) -> None:
    w, market = world
    w.pay(SLUG, 20_000 * USDC)  # 5% of it reaches the revenue vault
    _prepare(w)
    bought = 0
    spent = 0
    while not market.curve.complete:
        q = pump_curve.quote_buy(market, 200 * USDC)
        w.c.send([_buyback(w, market, 200 * USDC, q.tokens)], [w.crank])
        bought, spent = bought + q.tokens, spent + q.spent
        market = pump_venue.refresh(w.c, market)
    assert bought == 60_000_000_000_000
    assert w.balance(w.m.buyback_vault(SLUG)) == bought
    assert _model(w).usdc_spent == spent
    err = w.c.fails([_buyback(w, market, 10 * USDC, 1)], [w.crank])
    assert err.custom_code == 6005  # BondingCurveComplete: the crank moves to PumpSwap
