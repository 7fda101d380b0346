"""Track B end to end on the in-process chain: a USDC-paired pump.fun coin is listed (the
admin's approval pins its mint), paid calls fill the revenue vault, buybacks run on the
bonding curve (staged through the model PDA's associated USDC account) until the curve
completes, the coin graduates to PumpSwap, buybacks continue there straight from the
revenue vault, and the bought tokens are burned. Every balance is checked to the unit."""

from __future__ import annotations

from solders.instruction import Instruction
from spl.token.constants import TOKEN_2022_PROGRAM_ID
from spl.token.instructions import get_associated_token_address

from bourse_chain import pump_curve, pump_swap
from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.generated.cp_pool import PROGRAM_ID as CP_POOL_ID
from bourse_chain.generated.pump import PROGRAM_ID as PUMP_ID
from bourse_chain.generated.pump_amm import PROGRAM_ID as AMM_ID
from bourse_ops.sandbox import pump_venue
from tests.security.kit import PRICE_IN, PRICE_OUT, USDC, World

SLUG = "trackb"
REAL_TOKENS = 40_000_000_000_000


def _model(w: World) -> Model:
    data = w.c.data(w.model(SLUG))
    assert data is not None
    return Model.decode(data)


def _wrap(w: World, swap: Instruction, amount: int, min_out: int) -> Instruction:
    return w.m.buyback(
        w.crank.pubkey(),
        SLUG,
        swap_program=swap.program_id,
        swap_data=bytes(swap.data),
        swap_accounts=pump_curve.as_cpi_accounts(swap),
        amount_in=amount,
        min_out=min_out,
    )


def test_list_pay_buy_on_curve_graduate_buy_on_pumpswap_burn() -> None:
    w = World()
    c = w.c
    venue = pump_venue.install(c)
    config = pump_venue.install_amm(c)
    market = pump_venue.launch(c, venue, w.creator.pubkey(), real_tokens=REAL_TOKENS)

    # list: register -> approve (pins the mint) -> tokenize
    w.register(SLUG, 1_000, w.creator, approve=False)
    w.approve(SLUG, market.mint)
    c.send(
        [w.m.tokenize_model(w.creator.pubkey(), SLUG, market.mint, TOKEN_2022_PROGRAM_ID)],
        [w.creator],
    )
    w.c.send([w.m.upsert_offer(w.provider.pubkey(), SLUG, PRICE_IN, PRICE_OUT)], [w.provider])
    w.allow([CP_POOL_ID, PUMP_ID, AMM_ID])

    # paid calls: 10% of 30,000 USDC reaches the revenue vault
    vault, bvault = w.m.revenue_vault(SLUG), w.m.buyback_vault(SLUG)
    for _ in range(3):
        w.pay(SLUG, 10_000 * USDC)
    revenue = w.balance(vault)
    assert revenue == 3 * 10_000 * USDC // 10

    # the crank's one-time preparation: staging ATA, both per-user accumulators
    model = w.model(SLUG)
    stage = c.ata(model, c.usdc_mint)
    c.send(
        [
            pump_curve.init_accumulator_instruction(c.payer.pubkey(), model),
            pump_swap.init_accumulator_instruction(c.payer.pubkey(), model),
        ],
        [],
    )

    # buybacks on the curve until it completes
    spent = bought = 0
    curve_quote = get_associated_token_address(pump_curve.curve_address(market.mint), c.usdc_mint)
    while not market.curve.complete:
        q = pump_curve.quote_buy(market, 150 * USDC)
        buy = pump_curve.buy_instruction(market, model, bvault, 150 * USDC, q.tokens)
        c.send([_wrap(w, buy, 150 * USDC, q.tokens)], [w.crank])
        spent, bought = spent + q.spent, bought + q.tokens
        market = pump_venue.refresh(c, market)
    assert bought == REAL_TOKENS
    assert w.balance(bvault) == bought
    assert w.balance(vault) == revenue - spent and w.balance(stage) == 0
    in_curve = w.balance(curve_quote)
    assert in_curve == market.curve.real_quote_reserves

    # graduation: the crank's next quote on the curve fails, PumpSwap takes over
    amm = pump_venue.graduate(c, market, config)
    assert amm.quote_reserve == in_curve
    assert amm.base_reserve == pump_venue.TOTAL_SUPPLY - REAL_TOKENS

    # buyback on PumpSwap straight from the revenue vault (no staging needed)
    q2 = pump_swap.quote_buy(amm, 100 * USDC)
    buy2 = pump_swap.buy_instruction(amm, model, bvault, vault, 100 * USDC, q2.base_out)
    c.send([_wrap(w, buy2, 100 * USDC, q2.base_out)], [w.crank])
    spent, bought = spent + q2.spent, bought + q2.base_out
    assert w.balance(vault) == revenue - spent
    assert w.balance(bvault) == bought
    after = pump_venue.swap_market(c, amm.address, amm.base_token_program, config)
    lp_fee = -(-q2.net * config.lp_fee_basis_points // 10_000)
    assert after.quote_reserve == amm.quote_reserve + q2.net + lp_fee
    assert after.base_reserve == amm.base_reserve - q2.base_out
    m = _model(w)
    assert (m.usdc_spent, m.tokens_bought) == (spent, bought)

    # burn everything bought
    supply = c.mint_supply(market.mint)
    c.send([w.m.burn(w.crank.pubkey(), SLUG, market.mint, TOKEN_2022_PROGRAM_ID)], [w.crank])
    assert w.balance(bvault) == 0
    assert c.mint_supply(market.mint) == supply - bought
    assert _model(w).tokens_burned == bought
