"""Instruction builders for the localnet swap venue, the ``cp_pool`` program, at the level
of a pair of mints: the order of the pair, the pool PDA and its vaults are derived here, so
callers name only mints, token programs, token accounts and amounts.

(The generated builders in ``bourse_chain.generated.cp_pool`` take the IDL's accounts; the
crank's ``cranks.venues.local_pool`` quotes and routes from on-chain pool state.)
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from bourse_chain.generated.cp_pool import instructions as ix
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID
from bourse_chain.pda import ordered_mints, pool_pda, pool_vault_pda


@dataclass(frozen=True)
class Side:
    """One mint of a pair, with its token program and (for deposits/swaps) a token account."""

    mint: Pubkey
    token_program: Pubkey
    account: Pubkey | None = None


@dataclass(frozen=True)
class PoolAddresses:
    pool: Pubkey
    mint_a: Pubkey
    mint_b: Pubkey
    vaults: dict[Pubkey, Pubkey]

    def vault(self, mint: Pubkey) -> Pubkey:
        return self.vaults[mint]


def pool_addresses(
    mint_x: Pubkey, mint_y: Pubkey, program_id: Pubkey = PROGRAM_ID
) -> PoolAddresses:
    a, b = ordered_mints(mint_x, mint_y)
    pool = pool_pda(a, b, program_id)[0]
    return PoolAddresses(pool, a, b, {m: pool_vault_pda(pool, m, program_id)[0] for m in (a, b)})


def _ordered(x: Side, y: Side) -> tuple[Side, Side]:
    a, _ = ordered_mints(x.mint, y.mint)
    return (x, y) if a == x.mint else (y, x)


def create_pool(
    payer: Pubkey, x: Side, y: Side, fee_bps: int, program_id: Pubkey = PROGRAM_ID
) -> Instruction:
    a, b = _ordered(x, y)
    return ix.create_pool(
        ix.CreatePoolArgs(fee_bps=fee_bps),
        ix.CreatePoolAccounts(
            payer=payer,
            mint_a=a.mint,
            mint_b=b.mint,
            token_program_a=a.token_program,
            token_program_b=b.token_program,
        ),
        program_id,
    )


def add_liquidity(
    depositor: Pubkey,
    x: Side,
    amount_x: int,
    y: Side,
    amount_y: int,
    program_id: Pubkey = PROGRAM_ID,
) -> Instruction:
    """Deposit from ``x.account`` and ``y.account`` (owned by ``depositor``)."""
    amounts = {x.mint: amount_x, y.mint: amount_y}
    a, b = _ordered(x, y)
    if a.account is None or b.account is None:
        raise ValueError("add_liquidity needs the depositor's token account of both mints")
    where = pool_addresses(a.mint, b.mint, program_id)
    return ix.add_liquidity(
        ix.AddLiquidityArgs(amount_a=amounts[a.mint], amount_b=amounts[b.mint]),
        ix.AddLiquidityAccounts(
            depositor=depositor,
            pool=where.pool,
            depositor_a=a.account,
            depositor_b=b.account,
            vault_a=where.vault(a.mint),
            vault_b=where.vault(b.mint),
            mint_a=a.mint,
            mint_b=b.mint,
            token_program_a=a.token_program,
            token_program_b=b.token_program,
        ),
        program_id,
    )


def swap(
    user: Pubkey,
    source: Side,
    destination: Side,
    amount_in: int,
    min_out: int,
    program_id: Pubkey = PROGRAM_ID,
) -> Instruction:
    """Swap ``amount_in`` of ``source.mint`` from ``source.account`` to ``destination.account``."""
    if source.account is None or destination.account is None:
        raise ValueError("swap needs the source and destination token accounts")
    where = pool_addresses(source.mint, destination.mint, program_id)
    return ix.swap(
        ix.SwapArgs(amount_in=amount_in, min_out=min_out),
        ix.SwapAccounts(
            user=user,
            pool=where.pool,
            user_source=source.account,
            user_destination=destination.account,
            vault_in=where.vault(source.mint),
            vault_out=where.vault(destination.mint),
            mint_in=source.mint,
            mint_out=destination.mint,
            token_program_in=source.token_program,
            token_program_out=destination.token_program,
        ),
        program_id,
    )


def as_cpi_accounts(instruction: Instruction) -> list[AccountMeta]:
    """The swap's accounts as ``buyback``'s remaining accounts: no outer signer (the model
    PDA signs inside the program's CPI)."""
    return [
        AccountMeta(m.pubkey, is_signer=False, is_writable=m.is_writable)
        for m in instruction.accounts
    ]
