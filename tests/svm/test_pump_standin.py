"""The pump.fun stand-in (program/pump_standin at 6EF8rr…) with instructions built from the
public IDL's bindings: a USDC-paired curve buy moves exactly the quoted amounts, refuses a
quote account that is not the user's associated account, charges the per-user rent to the
user, and switches ``complete`` on the graduating buy."""

from __future__ import annotations

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from spl.token.instructions import get_associated_token_address

from bourse_chain import pump_curve
from bourse_chain.generated.pump import PROGRAM_ID
from bourse_ops.sandbox import pump_venue
from bourse_ops.sandbox.svm_chain import SvmChain, new_chain


@pytest.fixture()
def chain() -> SvmChain:
    return new_chain()


def test_buy_moves_exactly_the_quote(chain: SvmChain) -> None:
    venue = pump_venue.install(chain)
    creator = Keypair().pubkey()
    market = pump_venue.launch(chain, venue, creator)
    user = chain.new_wallet(usdc=50_000_000)
    base = chain.ata(user.pubkey(), market.mint, market.token_program)
    q = pump_curve.quote_buy(market, 10_000_000)
    curve = pump_curve.curve_address(market.mint)
    curve_base = get_associated_token_address(curve, market.mint, market.token_program)
    curve_quote = get_associated_token_address(curve, chain.usdc_mint)
    user_quote = get_associated_token_address(user.pubkey(), chain.usdc_mint)
    fee_ata = get_associated_token_address(venue.fee_recipient, chain.usdc_mint)
    creator_ata = get_associated_token_address(pump_curve.creator_vault(creator), chain.usdc_mint)
    uva = pump_curve.user_volume_accumulator(user.pubkey())
    sol_before = chain.lamports(user.pubkey())
    chain.send(
        [pump_curve.buy_instruction(market, user.pubkey(), base, 10_000_000, q.tokens)], [user]
    )
    assert chain.token_balance(base) == q.tokens
    assert chain.token_balance(curve_base) == pump_venue.TOTAL_SUPPLY - q.tokens
    assert chain.token_balance(curve_quote) == q.net
    assert chain.token_balance(user_quote) == 50_000_000 - q.spent
    assert chain.token_balance(fee_ata) == -(-q.net * 95 // 10_000)
    assert chain.token_balance(creator_ata) == -(-q.net * 30 // 10_000)
    # the per-user accumulator was created with the user's SOL (the payer paid the tx fee)
    acc = chain.svm.get_account(uva)
    assert acc is not None and acc.owner == PROGRAM_ID
    assert chain.lamports(user.pubkey()) == sol_before - acc.lamports
    after = pump_venue.refresh(chain, market)
    assert after.curve.real_token_reserves == market.curve.real_token_reserves - q.tokens
    assert after.curve.virtual_quote_reserves == market.curve.virtual_quote_reserves + q.net
    assert not after.curve.complete


def test_quote_must_come_from_the_users_associated_account(chain: SvmChain) -> None:
    venue = pump_venue.install(chain)
    market = pump_venue.launch(chain, venue, Keypair().pubkey())
    user = chain.new_wallet(usdc=5_000_000)
    base = chain.ata(user.pubkey(), market.mint, market.token_program)
    ix = pump_curve.buy_instruction(market, user.pubkey(), base, 1_000_000, 1)
    # someone else's USDC account in the user's quote slot: not the user's associated account
    other = chain.fund_usdc(Keypair().pubkey(), 3_000_000)
    metas = list(ix.accounts)
    metas[15] = AccountMeta(other, is_signer=False, is_writable=True)
    bad = Instruction(ix.program_id, ix.data, metas)
    before = chain.snapshot([other, base])
    err = chain.fails([bad], [user])
    assert err.custom_code == 2006  # ConstraintSeeds
    assert chain.snapshot([other, base]) == before


def test_graduating_buy_switches_complete_and_later_buys_fail(chain: SvmChain) -> None:
    venue = pump_venue.install(chain)
    market = pump_venue.launch(chain, venue, Keypair().pubkey(), real_tokens=50_000_000_000)
    user = chain.new_wallet(usdc=1_000_000_000)
    base = chain.ata(user.pubkey(), market.mint, market.token_program)
    q = pump_curve.quote_buy(market, 900_000_000)
    assert q.completes and q.tokens == 50_000_000_000
    chain.send([pump_curve.buy_instruction(market, user.pubkey(), base, 900_000_000, 1)], [user])
    after = pump_venue.refresh(chain, market)
    assert after.curve.complete and after.curve.real_token_reserves == 0
    assert chain.token_balance(base) == 50_000_000_000
    user_quote = get_associated_token_address(user.pubkey(), chain.usdc_mint)
    assert chain.token_balance(user_quote) == 1_000_000_000 - q.spent
    with pytest.raises(ValueError):
        pump_curve.quote_buy(after, 1_000_000)
    err = chain.fails(
        [pump_curve.buy_instruction(after, user.pubkey(), base, 1_000_000, 1)], [user]
    )
    assert err.custom_code == 6005  # BondingCurveComplete


def test_a_data_carrying_user_needs_its_accumulator_prepaid(chain: SvmChain) -> None:
    venue = pump_venue.install(chain)
    market = pump_venue.launch(chain, venue, Keypair().pubkey())
    user = chain.new_wallet(usdc=5_000_000)
    uva = pump_curve.user_volume_accumulator(user.pubkey())
    payer_before = chain.lamports(chain.payer.pubkey())
    chain.send([pump_curve.init_accumulator_instruction(chain.payer.pubkey(), user.pubkey())], [])
    acc = chain.svm.get_account(uva)
    assert acc is not None and acc.owner == PROGRAM_ID and len(acc.data) == 106
    assert chain.lamports(chain.payer.pubkey()) <= payer_before - acc.lamports
    err = chain.fails(
        [pump_curve.init_accumulator_instruction(chain.payer.pubkey(), user.pubkey())], []
    )
    assert err.custom_code == 6001
    # once prepaid, a buy costs the user no SOL at all
    base = chain.ata(user.pubkey(), market.mint, market.token_program)
    sol_before = chain.lamports(user.pubkey())
    chain.send([pump_curve.buy_instruction(market, user.pubkey(), base, 1_000_000, 1)], [user])
    assert chain.lamports(user.pubkey()) == sol_before
    assert chain.token_balance(base) == pump_curve.quote_buy(market, 1_000_000).tokens
