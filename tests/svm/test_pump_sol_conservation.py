"""Lamports and tokens conserve to the unit on the pump.fun stand-in's SOL-paired buy
(``buy_exact_sol_in``), and the client quote (``bourse_chain.pump_sol.quote_buy_sol``) is
exactly what the program does: for any amount, the SOL that leaves the buyer is exactly what
the curve, the fee recipient and the creator vault gain (the creator fee, or the vault's
rent-exempt minimum when it does not exist yet; plus the volume accumulator's rent on the
first buy), and the tokens that leave the curve are exactly what the buyer gains."""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT
from spl.token.instructions import get_associated_token_address

from bourse_chain import pump_curve, pump_sol
from bourse_ops.sandbox import pump_venue
from bourse_ops.sandbox.svm_chain import SvmChain, new_chain

SOL = 1_000_000_000


@cache
def world() -> tuple[SvmChain, pump_venue.PumpVenue, Keypair]:
    chain = new_chain()
    venue = pump_venue.install(chain)
    buyer = chain.new_wallet(sol=100_000)
    return chain, venue, buyer


@settings(max_examples=25, deadline=None)
@given(
    amount=st.integers(min_value=10_000, max_value=200 * SOL),
    real_tokens=st.sampled_from([793_100_000_000_000, 5_000_000_000_000]),
    new_vault=st.booleans(),
)
def test_a_sol_curve_buy_conserves_lamports_and_tokens(
    amount: int, real_tokens: int, new_vault: bool
) -> None:
    chain, venue, buyer = world()
    creator = Keypair().pubkey()
    market = pump_venue.launch(
        chain,
        venue,
        creator,
        token2022=False,
        quote_mint=WRAPPED_SOL_MINT,
        virtual_quote=30 * SOL,
        real_tokens=real_tokens,
    )
    curve = pump_curve.curve_address(market.mint)
    vault = pump_curve.creator_vault(creator)
    uva = pump_curve.user_volume_accumulator(buyer.pubkey())
    if new_vault:  # a creator vault that does not exist yet: the buy tops it up to rent
        chain.svm.set_account(vault, Account(0, b"", Pubkey.default(), False, 0))
    watched = [buyer.pubkey(), curve, venue.fee_recipient, vault, uva]
    base = chain.ata(buyer.pubkey(), market.mint, TOKEN_PROGRAM_ID)
    curve_tokens = get_associated_token_address(curve, market.mint, TOKEN_PROGRAM_ID)
    q = pump_sol.quote_buy_sol(market, amount, chain.lamports(vault))
    before = {a: chain.lamports(a) for a in watched}
    tokens_before = chain.token_balance(curve_tokens)
    ix = pump_sol.buy_sol_instruction(market, buyer.pubkey(), base, amount, q.tokens)
    chain.send([ix], [buyer], payer=buyer)
    after = {a: chain.lamports(a) for a in watched}
    rent = after[uva] - before[uva]  # created on the first buy only, charged to the buyer
    fee = 5_000  # the buyer paid this transaction's signature fee
    assert before[buyer.pubkey()] - after[buyer.pubkey()] == q.spent + rent + fee
    assert after[curve] - before[curve] == q.net
    assert after[venue.fee_recipient] - before[venue.fee_recipient] == q.protocol_fee
    assert after[vault] - before[vault] == q.creator_payment
    assert chain.token_balance(base) == q.tokens
    assert tokens_before - chain.token_balance(curve_tokens) == q.tokens
    state = pump_venue.refresh(chain, market).curve
    assert state.complete == q.completes
    assert state.real_token_reserves == real_tokens - q.tokens
