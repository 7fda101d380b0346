"""pump.fun's USDC-paired bonding curve, client side: addresses, the quote of a
``buy_exact_quote_in_v2`` and its instructions, built with the bindings generated from the
public IDL (``bourse_chain.generated.pump``).

The quote mirrors the localnet stand-in (program/pump_standin): fees are taken on top of the
amount that enters the curve, ``net = floor(spendable * 10_000 / (10_000 + fee_bps))``,
``tokens = floor(virtual_tokens * net / (virtual_quote + net))``; the buy that reaches the
real token reserves takes what is left, pays ``ceil(virtual_quote * tokens / (virtual_tokens
- tokens))`` and switches the curve's ``complete`` flag (graduation).
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from spl.token.instructions import get_associated_token_address

from bourse_chain.generated.pump import PROGRAM_ID
from bourse_chain.generated.pump import instructions as pix
from bourse_chain.generated.pump.accounts import BondingCurve, Global
from bourse_chain.generated.pump.constants import (
    MAYHEM_PROGRAM_ID,
    SEED_BONDING_CURVE,
    SEED_CREATOR_VAULT,
    SEED_GLOBAL,
    SEED_QUOTE_CONTROL,
    SEED_SOL_VAULT,
    SEED_USER_VOLUME_ACCUMULATOR,
)
from bourse_chain.generated.pump.types import OptionBool, OptionU64
from bourse_chain.money import ceil_div

BPS = 10_000


def global_address(program_id: Pubkey = PROGRAM_ID) -> Pubkey:
    return Pubkey.find_program_address([SEED_GLOBAL], program_id)[0]


def curve_address(mint: Pubkey, program_id: Pubkey = PROGRAM_ID) -> Pubkey:
    return Pubkey.find_program_address([SEED_BONDING_CURVE, bytes(mint)], program_id)[0]


def creator_vault(creator: Pubkey, program_id: Pubkey = PROGRAM_ID) -> Pubkey:
    return Pubkey.find_program_address([SEED_CREATOR_VAULT, bytes(creator)], program_id)[0]


def user_volume_accumulator(user: Pubkey, program_id: Pubkey = PROGRAM_ID) -> Pubkey:
    return Pubkey.find_program_address([SEED_USER_VOLUME_ACCUMULATOR, bytes(user)], program_id)[0]


@dataclass(frozen=True)
class CurveMarket:
    """One USDC-paired coin on the curve: what a buy needs to know."""

    mint: Pubkey
    token_program: Pubkey
    quote_mint: Pubkey
    quote_token_program: Pubkey
    curve: BondingCurve
    glob: Global

    @property
    def fee_bps(self) -> int:
        g = self.glob
        return int(g.fee_basis_points + g.creator_fee_basis_points + g.buyback_basis_points)

    @property
    def fee_recipient(self) -> Pubkey:
        return self.glob.fee_recipient

    @property
    def buyback_fee_recipient(self) -> Pubkey:
        return self.glob.buyback_fee_recipients[0]


@dataclass(frozen=True)
class CurveQuote:
    tokens: int  # base tokens out
    net: int  # quote that enters the curve
    fees: int  # protocol + creator + buyback fees
    completes: bool  # this buy graduates the curve

    @property
    def spent(self) -> int:
        return self.net + self.fees


def quote_buy(market: CurveMarket, spendable: int) -> CurveQuote:
    """What ``buy_exact_quote_in_v2(spendable)`` does on ``market`` (raises ValueError when
    the curve is complete or the amount buys nothing)."""
    c, g = market.curve, market.glob
    if c.complete:
        raise ValueError("bonding curve is complete (graduated)")
    bps_each = (g.fee_basis_points, g.creator_fee_basis_points, g.buyback_basis_points)

    def fees_of(n: int) -> int:
        return sum(ceil_div(n * bps, BPS) for bps in bps_each)

    net = spendable * BPS // (BPS + market.fee_bps)
    while net > 0 and net + fees_of(net) > spendable:  # each fee rounds up: at most 3 steps
        net -= 1
    tokens = c.virtual_token_reserves * net // (c.virtual_quote_reserves + net)
    completes = tokens >= c.real_token_reserves
    if completes:
        tokens = c.real_token_reserves
        net = ceil_div(c.virtual_quote_reserves * tokens, c.virtual_token_reserves - tokens)
    fees = fees_of(net)
    if tokens == 0 or net + fees > spendable:
        raise ValueError(f"{spendable} buys nothing on this curve")
    return CurveQuote(tokens, net, fees, completes)


def buy_instruction(
    market: CurveMarket,
    user: Pubkey,
    base_account: Pubkey,
    spendable: int,
    min_tokens_out: int,
    program_id: Pubkey = PROGRAM_ID,
) -> Instruction:
    """``buy_exact_quote_in_v2``: quote from ``user``'s associated quote account, tokens to
    ``base_account``."""
    return pix.buy_exact_quote_in_v2(
        pix.BuyExactQuoteInV2Args(spendable_quote_in=spendable, min_tokens_out=min_tokens_out),
        pix.BuyExactQuoteInV2Accounts(
            base_mint=market.mint,
            quote_mint=market.quote_mint,
            base_token_program=market.token_program,
            quote_token_program=market.quote_token_program,
            fee_recipient=market.fee_recipient,
            buyback_fee_recipient=market.buyback_fee_recipient,
            user=user,
            associated_base_user=base_account,
            associated_quote_user=get_associated_token_address(
                user, market.quote_mint, market.quote_token_program
            ),
            creator_vault=creator_vault(market.curve.creator, program_id),
        ),
        program_id,
    )


def init_accumulator_instruction(
    payer: Pubkey, user: Pubkey, program_id: Pubkey = PROGRAM_ID
) -> Instruction:
    """``init_user_volume_accumulator``: ``payer`` prepays ``user``'s per-user rent (a PDA
    that carries data cannot pay it inside a buy)."""
    return pix.init_user_volume_accumulator(
        pix.InitUserVolumeAccumulatorAccounts(payer=payer, user=user, program=program_id),
        program_id,
    )


def create_v2_instruction(
    user: Pubkey,
    mint: Pubkey,
    creator: Pubkey,
    name: str,
    symbol: str,
    uri: str,
    quote_mint: Pubkey,
    quote_token_program: Pubkey = TOKEN_PROGRAM_ID,
    program_id: Pubkey = PROGRAM_ID,
) -> Instruction:
    """``create_v2`` of a coin paired with ``quote_mint`` (USDC): a Token-2022 mint with
    metadata, its bonding curve, all of the supply in the curve. ``user`` pays, ``mint``
    signs (a fresh keypair). The quote mint is selected by the remaining accounts
    ``quote_mint, the curve's quote ATA, quote_token_program, quote-control PDA``."""
    curve = curve_address(mint, program_id)
    sol_vault = Pubkey.find_program_address([SEED_SOL_VAULT], MAYHEM_PROGRAM_ID)[0]
    quote_control = Pubkey.find_program_address([SEED_QUOTE_CONTROL], program_id)[0]
    return pix.create_v2(
        pix.CreateV2Args(
            name=name,
            symbol=symbol,
            uri=uri,
            creator=creator,
            is_mayhem_mode=False,
            is_cashback_enabled=OptionBool(False),
            creator_fee_bps=OptionU64(0),
            is_holder_reward=OptionBool(False),
        ),
        pix.CreateV2Accounts(
            mint=mint,
            user=user,
            mayhem_token_vault=get_associated_token_address(sol_vault, mint, TOKEN_2022_PROGRAM_ID),
            program=program_id,
        ),
        program_id,
        remaining_accounts=[
            AccountMeta(quote_mint, is_signer=False, is_writable=False),
            AccountMeta(
                get_associated_token_address(curve, quote_mint, quote_token_program),
                is_signer=False,
                is_writable=True,
            ),
            AccountMeta(quote_token_program, is_signer=False, is_writable=False),
            AccountMeta(quote_control, is_signer=False, is_writable=False),
        ],
    )


def as_cpi_accounts(instruction: Instruction) -> list[AccountMeta]:
    """The buy's accounts as ``buyback``'s remaining accounts (the model PDA signs inside)."""
    return [
        AccountMeta(m.pubkey, is_signer=False, is_writable=m.is_writable)
        for m in instruction.accounts
    ]
