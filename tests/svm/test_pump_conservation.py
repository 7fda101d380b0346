"""Money conserves to the unit on the pump.fun and PumpSwap stand-ins, and the client quotes
(``bourse_chain.pump_curve`` / ``pump_swap``) are exactly what the programs do: for any
amount, the USDC that leaves the buyer is exactly what the curve / pool and the fee
recipients gain, and the tokens that leave the curve / pool are exactly what the buyer
gains."""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from bourse_chain import pump_curve, pump_swap
from bourse_ops.sandbox import pump_venue
from bourse_ops.sandbox.svm_chain import SvmChain, new_chain

USDC = 1_000_000


@cache
def world() -> tuple[SvmChain, pump_venue.PumpVenue, Keypair, Pubkey, pump_swap.SwapMarket]:
    chain = new_chain()
    venue = pump_venue.install(chain)
    config = pump_venue.install_amm(chain)
    buyer = chain.new_wallet(usdc=10_000_000 * USDC)
    creator = Keypair().pubkey()
    # a coin that already graduated, for the PumpSwap side
    small = pump_venue.launch(chain, venue, creator, real_tokens=1_000_000_000)
    base = chain.ata(buyer.pubkey(), small.mint, small.token_program)
    chain.send([pump_curve.buy_instruction(small, buyer.pubkey(), base, 10 * USDC, 1)], [buyer])
    amm = pump_venue.graduate(chain, small, config)
    return chain, venue, buyer, creator, amm


def _usdc(chain: SvmChain, owner: Pubkey) -> int:
    return chain.token_balance(get_associated_token_address(owner, chain.usdc_mint))


@settings(max_examples=25, deadline=None)
@given(amount=st.integers(min_value=1_000, max_value=2_000 * USDC))
def test_a_curve_buy_conserves_usdc_and_tokens(amount: int) -> None:
    chain, venue, buyer, creator, _ = world()
    market = pump_venue.launch(chain, venue, creator, real_tokens=100_000_000_000_000)
    q = pump_curve.quote_buy(market, amount)
    curve = pump_curve.curve_address(market.mint)
    holders = [
        buyer.pubkey(),
        curve,
        venue.fee_recipient,
        venue.buyback_fee_recipient,
        pump_curve.creator_vault(creator),
    ]
    before = [_usdc(chain, h) for h in holders]
    base = chain.ata(buyer.pubkey(), market.mint, market.token_program)
    curve_base = get_associated_token_address(curve, market.mint, market.token_program)
    tokens_before = chain.token_balance(curve_base)
    chain.send(
        [pump_curve.buy_instruction(market, buyer.pubkey(), base, amount, q.tokens)], [buyer]
    )
    after = [_usdc(chain, h) for h in holders]
    deltas = [a - b for a, b in zip(after, before, strict=True)]
    assert -deltas[0] == q.spent == sum(deltas[1:])
    assert deltas[1] == q.net
    assert chain.token_balance(base) == q.tokens == tokens_before - chain.token_balance(curve_base)
    assert pump_venue.refresh(chain, market).curve.complete == q.completes


@settings(max_examples=25, deadline=None)
@given(amount=st.integers(min_value=1_000, max_value=500 * USDC))
def test_a_pumpswap_buy_conserves_usdc_and_tokens(amount: int) -> None:
    chain, _venue, buyer, _creator, amm = world()
    market = pump_venue.swap_market(chain, amm.address, amm.base_token_program, amm.config)
    q = pump_swap.quote_buy(market, amount)
    p = market.pool
    fee_owner = market.protocol_fee_recipient
    creator_vault = pump_swap.creator_vault_authority(p.coin_creator)
    pool_quote = p.pool_quote_token_account
    before = (
        _usdc(chain, buyer.pubkey()),
        chain.token_balance(pool_quote),
        _usdc(chain, fee_owner),
        _usdc(chain, creator_vault),
    )
    base = chain.ata(buyer.pubkey(), p.base_mint, market.base_token_program)
    base_before = chain.token_balance(base)
    user_quote = get_associated_token_address(buyer.pubkey(), chain.usdc_mint)
    chain.send(
        [pump_swap.buy_instruction(market, buyer.pubkey(), base, user_quote, amount, q.base_out)],
        [buyer],
    )
    after = (
        _usdc(chain, buyer.pubkey()),
        chain.token_balance(pool_quote),
        _usdc(chain, fee_owner),
        _usdc(chain, creator_vault),
    )
    gained = sum(a - b for a, b in zip(after[1:], before[1:], strict=True))
    assert before[0] - after[0] == q.spent == gained
    assert chain.token_balance(base) - base_before == q.base_out
    assert market.base_reserve - chain.token_balance(p.pool_base_token_account) == q.base_out
