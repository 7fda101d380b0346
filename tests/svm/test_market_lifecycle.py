"""compute_market on LiteSVM (deployed by the real upgradeable loader): the full
lifecycle config → model → tokenize → provider → offer → order → settle →
settle_payment → buyback through cp_pool → burn, balances asserted to the
micro-USDC and token at every step."""

from __future__ import annotations

import pytest

from bourse_chain.generated.compute_market.accounts import Model, Order
from bourse_chain.generated.compute_market.events import OrderSettled, TokensBurned
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_chain.money import ceil_div, expected_split
from bourse_ops.sandbox.svm_chain import (
    BIN,
    TOKEN_PROGRAM_ID,
)
from tests.support.batches import pay_one
from tests.support.svm_world import World

pytestmark = pytest.mark.skipif(
    not (BIN / "compute_market.so").exists() or not (BIN / "cp_pool.so").exists(),
    reason="programs not built (python -m program.build)",
)

USDC = 1_000_000  # micro-USDC per USDC


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def test_full_lifecycle(world: World) -> None:
    c, m = world.c, world.m
    slug = "deepseek-chat"
    mint = world.list_model(slug, fee_bps=500)
    model = Model.decode(c.existing_data(m.model(slug)))
    assert model.status == ModelStatus.APPROVED and model.token_kind == TokenKind.SPL
    assert model.mint == mint and model.buyback_vault == m.buyback_vault(slug)

    # Provider + offer: $0.27 / $1.10 per 1M tokens.
    c.send([m.register_provider(world.provider.pubkey(), "deepseek")], [world.provider])
    c.send([m.upsert_offer(world.provider.pubkey(), slug, 270_000, 1_100_000)], [world.provider])

    # Open an order: hold for 100k in + 50k out.
    payer_ata = m.usdc_account(world.payer.pubkey())
    before = c.token_balance(payer_ata)
    meta = c.send(
        [m.open_order(world.payer.pubkey(), slug, world.provider.pubkey(), 7, 100_000, 50_000)],
        [world.payer],
    )
    hold = ceil_div(270_000 * 100_000, 10**6) + ceil_div(1_100_000 * 50_000, 10**6)
    order_addr = m.order(world.payer.pubkey(), 7)
    order = Order.decode(c.existing_data(order_addr))
    assert order.hold == hold == 82_000
    assert c.token_balance(payer_ata) == before - hold
    assert c.token_balance(m.escrow_vault) == hold

    # Settle actual usage: 40k in, 10k out.
    meta = c.send(
        [
            m.settle_order(
                world.settler.pubkey(),
                order=order_addr,
                payer=order.payer,
                payer_token=order.payer_token,
                model=m.model(slug),
                provider=m.provider(world.provider.pubkey()),
                provider_payout=m.usdc_account(world.provider.pubkey()),
                revenue_vault=m.revenue_vault(slug),
                input_tokens=40_000,
                output_tokens=10_000,
            )
        ],
        [world.settler],
    )
    gross = ceil_div(270_000 * 40_000, 10**6) + ceil_div(1_100_000 * 10_000, 10**6)
    prov, creator, protocol = expected_split(gross, 100, 500)
    assert c.token_balance(m.usdc_account(world.provider.pubkey())) == prov
    assert c.token_balance(m.revenue_vault(slug)) == creator
    assert c.token_balance(m.treasury) == protocol
    assert c.token_balance(payer_ata) == before - gross
    assert c.token_balance(m.escrow_vault) == 0
    assert c.data(order_addr) is None  # closed
    (ev,) = [e for e in c.events(meta) if isinstance(e, OrderSettled)]
    assert (ev.gross, ev.provider_amount, ev.creator_fee, ev.protocol_fee, ev.refund) == (
        gross,
        prov,
        creator,
        protocol,
        hold - gross,
    )

    # Settle an already-collected payment of 50 USDC.
    src = world.settler
    c.fund_usdc(src.pubkey(), 50 * USDC)
    c.send(
        [
            pay_one(
                c,
                m,
                world.settler.pubkey(),
                slug=slug,
                provider_authority=world.provider.pubkey(),
                payment_id="x402:abc",
                amount=50 * USDC,
                source_authority=src.pubkey(),
            )
        ],
        [world.settler],
    )
    p2, c2, pr2 = expected_split(50 * USDC, 100, 500)
    assert p2 + c2 + pr2 == 50 * USDC
    assert c.token_balance(m.revenue_vault(slug)) == creator + c2
    assert c.token_balance(m.treasury) == protocol + pr2
    model = Model.decode(c.existing_data(m.model(slug)))
    assert model.total_volume == gross + 50 * USDC
    assert model.total_creator_fees == creator + c2

    # A pool: model token vs USDC (the creator seeds 100k tokens vs 1,000 USDC), then buyback.
    pool = c.seed_pool(world.creator, mint, TOKEN_PROGRAM_ID, 100_000 * USDC, 1_000 * USDC)
    c.send([m.update_config(c.admin.pubkey(), swap_programs=[CP_POOL_ID])], [c.admin])

    amount_in = c.token_balance(m.revenue_vault(slug))
    reserve_in = c.token_balance(pool.vault(c.usdc_mint))
    reserve_out = c.token_balance(pool.vault(mint))
    fee = ceil_div(amount_in * 30, 10_000)
    expected_out = reserve_out * (amount_in - fee) // (reserve_in + amount_in - fee)
    meta = c.send(
        [
            m.buyback_via_pool(
                world.crank.pubkey(),
                slug,
                mint=mint,
                token_program=TOKEN_PROGRAM_ID,
                amount_in=amount_in,
                min_out=expected_out,
            )
        ],
        [world.crank],
    )
    assert c.token_balance(m.revenue_vault(slug)) == 0
    assert c.token_balance(m.buyback_vault(slug)) == expected_out
    model = Model.decode(c.existing_data(m.model(slug)))
    assert model.usdc_spent == amount_in and model.tokens_bought == expected_out

    supply = c.mint_supply(mint)
    meta = c.send([m.burn(world.crank.pubkey(), slug, mint, TOKEN_PROGRAM_ID)], [world.crank])
    assert c.mint_supply(mint) == supply - expected_out
    assert c.token_balance(m.buyback_vault(slug)) == 0
    (burned,) = [e for e in c.events(meta) if isinstance(e, TokensBurned)]
    assert burned.amount == expected_out
    assert Model.decode(c.existing_data(m.model(slug))).tokens_burned == expected_out
