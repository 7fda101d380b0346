"""Token-2022 track on LiteSVM: a transfer-fee model mint whose withdraw-withheld
authority is the config PDA; buyback through the pool credits what ARRIVED
(after the fee), burn burns it, and harvest_fees sweeps withheld fees from
token accounts to the treasury's account."""

from __future__ import annotations

import pytest

from bourse_chain import mints, token_layout
from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.generated.compute_market.events import BuybackExecuted, FeesHarvested
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_chain.money import ceil_div
from bourse_ops.sandbox.svm_chain import BIN, TOKEN_2022_PROGRAM_ID, Market, new_chain
from tests.support.batches import pay_one

pytestmark = pytest.mark.skipif(
    not (BIN / "compute_market.so").exists() or not (BIN / "cp_pool.so").exists(),
    reason="programs not built (python -m program.build)",
)

USDC = 1_000_000
FEE_BPS = 100
MAX_FEE = 5_000 * USDC


def test_token2022_buyback_burn_harvest() -> None:
    c = new_chain()
    settler, crank, treasury_owner, creator = (c.new_wallet() for _ in range(4))
    m = Market(usdc_mint=c.usdc_mint, treasury_authority=treasury_owner.pubkey())
    c.ata(treasury_owner.pubkey(), c.usdc_mint)
    c.send([m.initialize_config(c.admin.pubkey(), settler.pubkey(), crank.pubkey())], [c.admin])
    c.send([m.update_config(c.admin.pubkey(), swap_programs=[CP_POOL_ID])], [c.admin])

    slug = "google/gemma-3-27b-it"
    c.send([m.register_model(creator.pubkey(), slug, 1_000)], [creator])
    fee = mints.TransferFeeSetup(FEE_BPS, MAX_FEE, withdraw_withheld_authority=m.config)
    mint = c.create_model_mint(creator.pubkey(), 1_000_000 * USDC, fee=fee)
    c.send([m.set_model_status(c.admin.pubkey(), slug, ModelStatus.APPROVED, mint)], [c.admin])
    c.send([m.tokenize_model(creator.pubkey(), slug, mint, TOKEN_2022_PROGRAM_ID)], [creator])
    assert Model.decode(c.existing_data(m.model(slug))).token_kind == TokenKind.TOKEN2022

    # Pool: 200k model tokens vs 2,000 USDC (the deposit of tokens itself pays the transfer fee).
    pool = c.seed_pool(creator, mint, TOKEN_2022_PROGRAM_ID, 200_000 * USDC, 2_000 * USDC)
    vault = pool.vaults
    deposit_fee = token_layout.transfer_fee(200_000 * USDC, FEE_BPS, MAX_FEE)
    assert c.token_balance(vault[mint]) == 200_000 * USDC - deposit_fee

    # Revenue: a 100 USDC payment → 10% creator fee = 10 USDC into the vault.
    prov = c.new_wallet()
    c.ata(prov.pubkey(), c.usdc_mint)
    c.send([m.register_provider(prov.pubkey(), "hf")], [prov])
    c.fund_usdc(settler.pubkey(), 100 * USDC)
    c.send(
        [
            pay_one(
                c,
                m,
                settler.pubkey(),
                slug=slug,
                provider_authority=prov.pubkey(),
                payment_id=b"p1",
                amount=100 * USDC,
                source_authority=settler.pubkey(),
            )
        ],
        [settler],
    )
    revenue = c.token_balance(m.revenue_vault(slug))
    assert revenue == 10 * USDC

    # Buyback: the pool sends `out`, the transfer fee withholds part of it, the vault gets the rest.
    reserve_in, reserve_out = c.token_balance(vault[c.usdc_mint]), c.token_balance(vault[mint])
    pool_fee = ceil_div(revenue * 30, 10_000)
    out = reserve_out * (revenue - pool_fee) // (reserve_in + revenue - pool_fee)
    arrived = out - token_layout.transfer_fee(out, FEE_BPS, MAX_FEE)
    # min_out at the nominal `out` fails: only `arrived` lands in the vault.
    before = c.snapshot([m.revenue_vault(slug), m.buyback_vault(slug), m.model(slug)])
    err = c.fails(
        [
            m.buyback_via_pool(
                crank.pubkey(),
                slug,
                mint=mint,
                token_program=TOKEN_2022_PROGRAM_ID,
                amount_in=revenue,
                min_out=out,
            )
        ],
        [crank],
    )
    assert err.custom_code == 6029  # SlippageExceeded
    assert c.snapshot([m.revenue_vault(slug), m.buyback_vault(slug), m.model(slug)]) == before

    meta = c.send(
        [
            m.buyback_via_pool(
                crank.pubkey(),
                slug,
                mint=mint,
                token_program=TOKEN_2022_PROGRAM_ID,
                amount_in=revenue,
                min_out=arrived,
            )
        ],
        [crank],
    )
    (ev,) = [e for e in c.events(meta) if isinstance(e, BuybackExecuted)]
    assert (ev.usdc_spent, ev.tokens_bought) == (revenue, arrived)
    assert c.token_balance(m.buyback_vault(slug)) == arrived
    model = Model.decode(c.existing_data(m.model(slug)))
    assert model.tokens_bought == arrived and model.usdc_spent == revenue

    supply = c.mint_supply(mint)
    c.send([m.burn(crank.pubkey(), slug, mint, TOKEN_2022_PROGRAM_ID)], [crank])
    assert c.mint_supply(mint) == supply - arrived
    assert Model.decode(c.existing_data(m.model(slug))).tokens_burned == arrived

    # Harvest: fees withheld in the pool vault (deposit) and the buyback vault (buyback).
    dest = c.ata(treasury_owner.pubkey(), mint, TOKEN_2022_PROGRAM_ID)
    withheld = deposit_fee + token_layout.transfer_fee(out, FEE_BPS, MAX_FEE)
    meta = c.send(
        [m.harvest_fees(crank.pubkey(), slug, mint, dest, [vault[mint], m.buyback_vault(slug)])],
        [crank],
    )
    assert c.token_balance(dest) == withheld
    (hv,) = [e for e in c.events(meta) if isinstance(e, FeesHarvested)]
    assert hv.amount == withheld and hv.sources == 2

    # A destination owned by someone else is refused, nothing moves.
    other = c.ata(creator.pubkey(), mint, TOKEN_2022_PROGRAM_ID)
    before = c.snapshot([other, mint, dest])
    err = c.fails([m.harvest_fees(crank.pubkey(), slug, mint, other, [])], [crank])
    assert err.custom_code == 6037  # InvalidTreasury
    assert c.snapshot([other, mint, dest]) == before
