"""PumpSwap (pump_amm), where a pump.fun coin trades after its curve graduates, client
side: pool addresses, the quote of a ``buy_exact_quote_in`` and its instructions, built with
the bindings generated from the public IDL (``bourse_chain.generated.pump_amm``).

The quote mirrors the localnet stand-in (program/pump_amm_standin): LP, protocol and coin
creator fees (each rounded up) come on top of the amount that prices the swap, ``net`` the
largest amount with ``net + fees(net) <= spendable``; ``base_out = floor(base_reserve * net
/ (quote_reserve + net))``. The LP fee stays in the pool.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.instruction import Instruction
from solders.pubkey import Pubkey

from bourse_chain.generated.pump import PROGRAM_ID as PUMP_ID
from bourse_chain.generated.pump_amm import PROGRAM_ID
from bourse_chain.generated.pump_amm import instructions as aix
from bourse_chain.generated.pump_amm.accounts import GlobalConfig, Pool
from bourse_chain.generated.pump_amm.constants import SEED_USER_VOLUME_ACCUMULATOR
from bourse_chain.generated.pump_amm.types import OptionBool
from bourse_chain.money import ceil_div

BPS = 10_000
SEED_POOL = b"pool"
SEED_CREATOR_VAULT = b"creator_vault"
SEED_GLOBAL_CONFIG = b"global_config"
SEED_POOL_AUTHORITY = b"pool-authority"


def global_config_address(program_id: Pubkey = PROGRAM_ID) -> Pubkey:
    return Pubkey.find_program_address([SEED_GLOBAL_CONFIG], program_id)[0]


def pool_address(
    index: int,
    creator: Pubkey,
    base_mint: Pubkey,
    quote_mint: Pubkey,
    program_id: Pubkey = PROGRAM_ID,
) -> tuple[Pubkey, int]:
    seeds = [
        SEED_POOL,
        index.to_bytes(2, "little"),
        bytes(creator),
        bytes(base_mint),
        bytes(quote_mint),
    ]
    return Pubkey.find_program_address(seeds, program_id)


def canonical_pool(
    base_mint: Pubkey, quote_mint: Pubkey, program_id: Pubkey = PROGRAM_ID
) -> tuple[Pubkey, int]:
    """The pool pump.fun's migration creates for a graduated coin: index 0, creator = pump's
    ``["pool-authority", mint]`` PDA."""
    authority = Pubkey.find_program_address([SEED_POOL_AUTHORITY, bytes(base_mint)], PUMP_ID)[0]
    return pool_address(0, authority, base_mint, quote_mint, program_id)


def creator_vault_authority(coin_creator: Pubkey, program_id: Pubkey = PROGRAM_ID) -> Pubkey:
    return Pubkey.find_program_address([SEED_CREATOR_VAULT, bytes(coin_creator)], program_id)[0]


def user_volume_accumulator(user: Pubkey, program_id: Pubkey = PROGRAM_ID) -> Pubkey:
    return Pubkey.find_program_address([SEED_USER_VOLUME_ACCUMULATOR, bytes(user)], program_id)[0]


@dataclass(frozen=True)
class SwapMarket:
    """One graduated coin's pool and what a buy needs to know."""

    address: Pubkey
    pool: Pool
    config: GlobalConfig
    base_token_program: Pubkey
    quote_token_program: Pubkey
    base_reserve: int
    quote_reserve: int

    @property
    def protocol_fee_recipient(self) -> Pubkey:
        return self.config.protocol_fee_recipients[0]


@dataclass(frozen=True)
class SwapQuote:
    base_out: int
    net: int
    fees: int

    @property
    def spent(self) -> int:
        return self.net + self.fees


def quote_buy(market: SwapMarket, spendable: int) -> SwapQuote:
    """What ``buy_exact_quote_in(spendable)`` does on ``market`` (ValueError if nothing)."""
    c = market.config
    each = (c.lp_fee_basis_points, c.protocol_fee_basis_points, c.coin_creator_fee_basis_points)

    def fees_of(n: int) -> int:
        return sum(ceil_div(n * bps, BPS) for bps in each)

    net = spendable * BPS // (BPS + sum(each))
    while net > 0 and net + fees_of(net) > spendable:
        net -= 1
    out = market.base_reserve * net // (market.quote_reserve + net)
    if out == 0:
        raise ValueError(f"{spendable} buys nothing in this pool")
    return SwapQuote(out, net, fees_of(net))


def buy_instruction(
    market: SwapMarket,
    user: Pubkey,
    user_base: Pubkey,
    user_quote: Pubkey,
    spendable: int,
    min_base_out: int,
    program_id: Pubkey = PROGRAM_ID,
) -> Instruction:
    """``buy_exact_quote_in``: quote from ``user_quote`` (any account ``user`` is the
    authority of), tokens to ``user_base``."""
    p = market.pool
    return aix.buy_exact_quote_in(
        aix.BuyExactQuoteInArgs(
            spendable_quote_in=spendable,
            min_base_amount_out=min_base_out,
            track_volume=OptionBool(False),
        ),
        aix.BuyExactQuoteInAccounts(
            pool=market.address,
            user=user,
            global_config=global_config_address(program_id),
            base_mint=p.base_mint,
            quote_mint=p.quote_mint,
            user_base_token_account=user_base,
            user_quote_token_account=user_quote,
            pool_base_token_account=p.pool_base_token_account,
            pool_quote_token_account=p.pool_quote_token_account,
            protocol_fee_recipient=market.protocol_fee_recipient,
            base_token_program=market.base_token_program,
            quote_token_program=market.quote_token_program,
            coin_creator_vault_authority=creator_vault_authority(p.coin_creator, program_id),
        ),
        program_id,
    )


def init_accumulator_instruction(
    payer: Pubkey, user: Pubkey, program_id: Pubkey = PROGRAM_ID
) -> Instruction:
    """``init_user_volume_accumulator`` of PumpSwap: ``payer`` prepays ``user``'s rent."""
    return aix.init_user_volume_accumulator(
        aix.InitUserVolumeAccumulatorAccounts(payer=payer, user=user, program=program_id),
        program_id,
    )
