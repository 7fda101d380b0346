"""SOL-paired pump.fun coins (legacy ``create`` and ClawPump launches), client side: the quote
of ``buy_exact_sol_in``, its instruction (bindings generated from the public IDL), and the
model's data-less buyer PDA that pays the SOL inside ``buyback_sol``.

The quote is the IDL's own (``buy_exact_sol_in`` docs), as the localnet stand-in implements it:
``net = floor(spendable * 10_000 / (10_000 + protocol_bps + creator_bps))`` less any excess of
the rounded-up fees, ``tokens = floor((net - 1) * virtual_tokens / (virtual_sol + net - 1))``;
the buy reaching the real token reserves takes what is left for ``ceil(virtual_sol * tokens /
(virtual_tokens - tokens)) + 1``. The creator vault is topped up to its rent-exempt minimum at
the buyer's expense when the creator fee alone would leave it below.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT
from spl.token.instructions import get_associated_token_address

from bourse_chain import mints, token_layout
from bourse_chain.generated.compute_market.constants import SEED_BUYER
from bourse_chain.generated.compute_market.program_id import PROGRAM_ID as MARKET_ID
from bourse_chain.generated.pump import PROGRAM_ID
from bourse_chain.generated.pump import instructions as pix
from bourse_chain.generated.pump.types import OptionBool
from bourse_chain.money import ceil_div
from bourse_chain.pump_curve import BPS, CurveMarket, creator_vault, init_accumulator_instruction

#: What the crank prepays the buyer PDA once: its own rent-exempt minimum and that of the WSOL
#: account it opens and closes inside every ``buyback_sol`` (the program's floor).
BUYER_FLOOR = mints.rent_exempt_lamports(0) + mints.rent_exempt_lamports(
    token_layout.TOKEN_ACCOUNT_LEN
)


def is_sol_paired(market: CurveMarket) -> bool:
    """A curve quoted in SOL (legacy curves carry no quote mint; ``create_v2`` ones WSOL)."""
    return market.quote_mint in (Pubkey.default(), WRAPPED_SOL_MINT)


def buyer_address(model: Pubkey, program_id: Pubkey = MARKET_ID) -> Pubkey:
    """The model's data-less SOL buyer PDA ``["buyer", model]``."""
    return Pubkey.find_program_address([SEED_BUYER, bytes(model)], program_id)[0]


def buyer_wsol(buyer: Pubkey) -> Pubkey:
    """The buyer's associated WSOL account (the USDC -> WSOL leg's destination)."""
    return get_associated_token_address(buyer, WRAPPED_SOL_MINT, TOKEN_PROGRAM_ID)


@dataclass(frozen=True)
class SolQuote:
    tokens: int  # base tokens out
    net: int  # lamports that enter the curve
    protocol_fee: int
    creator_payment: int  # creator fee, or the creator vault's rent top-up when larger
    completes: bool

    @property
    def spent(self) -> int:
        """Lamports the buyer pays (price, protocol fee, creator payment)."""
        return self.net + self.protocol_fee + self.creator_payment


def quote_buy_sol(market: CurveMarket, spendable: int, creator_vault_lamports: int) -> SolQuote:
    """What ``buy_exact_sol_in(spendable)`` does (raises ValueError when the curve is complete
    or the amount buys nothing)."""
    c, g = market.curve, market.glob
    if c.complete:
        raise ValueError("bonding curve is complete (graduated)")
    creator_bps = 0 if c.creator == Pubkey.default() else g.creator_fee_basis_points
    protocol_bps = g.fee_basis_points

    def fees_of(n: int) -> int:
        return ceil_div(n * protocol_bps, BPS) + ceil_div(n * creator_bps, BPS)

    net = spendable * BPS // (BPS + protocol_bps + creator_bps)
    if net + fees_of(net) > spendable:
        net -= net + fees_of(net) - spendable
    if net <= 1:
        raise ValueError(f"{spendable} lamports buy nothing on this curve")
    vt, vs = c.virtual_token_reserves, c.virtual_quote_reserves
    tokens = (net - 1) * vt // (vs + net - 1)
    completes = tokens >= c.real_token_reserves
    if completes:
        tokens = c.real_token_reserves
        net = ceil_div(vs * tokens, vt - tokens) + 1
    protocol_fee = ceil_div(net * protocol_bps, BPS)
    creator_fee = ceil_div(net * creator_bps, BPS)
    if tokens == 0 or net + protocol_fee + creator_fee > spendable:
        raise ValueError(f"{spendable} lamports buy nothing on this curve")
    rent = mints.rent_exempt_lamports(0)
    creator_payment = creator_fee
    if creator_vault_lamports + creator_fee < rent:
        creator_payment = rent - creator_vault_lamports
    return SolQuote(tokens, net, protocol_fee, creator_payment, completes)


def buy_sol_instruction(
    market: CurveMarket,
    user: Pubkey,
    base_account: Pubkey,
    spendable: int,
    min_tokens_out: int,
    program_id: Pubkey = PROGRAM_ID,
) -> Instruction:
    """``buy_exact_sol_in``: SOL from ``user``, tokens to ``base_account``."""
    return pix.buy_exact_sol_in(
        pix.BuyExactSolInArgs(
            spendable_sol_in=spendable,
            min_tokens_out=min_tokens_out,
            track_volume=OptionBool(False),
        ),
        pix.BuyExactSolInAccounts(
            fee_recipient=market.fee_recipient,
            mint=market.mint,
            associated_user=base_account,
            user=user,
            token_program=market.token_program,
            creator_vault=creator_vault(market.curve.creator, program_id),
        ),
        program_id,
    )


def as_cpi_accounts(instruction: Instruction) -> list[AccountMeta]:
    """An instruction's accounts as ``buyback_sol`` remaining accounts (no outer signer: the
    program signs for its PDAs)."""
    return [
        AccountMeta(m.pubkey, is_signer=False, is_writable=m.is_writable)
        for m in instruction.accounts
    ]


def prepare_instructions(
    payer: Pubkey,
    model: Pubkey,
    buyer_lamports: int,
    accumulator_exists: bool,
    program_id: Pubkey = PROGRAM_ID,
) -> list[Instruction]:
    """What the crank pays once per model before its first ``buyback_sol``: the buyer PDA
    funded up to ``BUYER_FLOOR`` and pump.fun's volume accumulator for the buyer."""
    buyer = buyer_address(model)
    out: list[Instruction] = []
    if buyer_lamports < BUYER_FLOOR:
        out.append(
            transfer(
                TransferParams(
                    from_pubkey=payer, to_pubkey=buyer, lamports=BUYER_FLOOR - buyer_lamports
                )
            )
        )
    if not accumulator_exists:
        out.append(init_accumulator_instruction(payer, buyer, program_id))
    return out
