"""The localnet swap venue: create a ``cp_pool`` pool of a model token against USDC and seed
its liquidity, so the buyback crank has somewhere to buy. (On devnet and mainnet the crank
buys on Raydium or through Jupiter; see ``cranks/venues``.)
``python scripts/pool.py ...`` is ``bourse pool ...``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from bourse_chain import pools
from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from bourse_chain.generated.cp_pool.accounts import Pool
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_chain.token_layout import token_amount
from bourse_ops.common import Session, base_units_json
from bourse_ops.errors import InsufficientUsdc, InvalidInput
from bourse_ops.market_view import fetch_model

DEFAULT_POOL_FEE_BPS = 30


@dataclass(frozen=True)
class PoolView:
    pool: str
    mint: str
    usdc_mint: str
    token_vault: str
    usdc_vault: str
    token_reserve: int
    usdc_reserve: int
    fee_bps: int
    token_decimals: int = 0

    def to_json(self) -> dict[str, Any]:
        return base_units_json(asdict(self), "token_reserve")


async def add_pool(
    session: Session,
    owner: Keypair,
    slug: str,
    *,
    tokens: int,
    usdc: int,
    fee_bps: int | None = None,
    program_id: Pubkey = CP_POOL_ID,
) -> PoolView:
    """Create (if missing) the pool of the model's token against USDC and deposit ``tokens``
    model-token base units and ``usdc`` micro-USDC from ``owner``'s associated accounts.

    ``fee_bps`` (default 30) is the new pool's fee; a pool's fee is fixed at creation, so
    asking for another fee on an existing pool is refused (``InvalidInput``) before anything
    is sent."""
    _, model = await fetch_model(session, slug)
    if model.token_kind == TokenKind.NONE:
        raise InvalidInput(f"model {slug!r} has no token yet: `bourse model tokenize` first")
    market = session.market
    mint, usdc_mint = model.mint, market.usdc_mint
    key = owner.pubkey()
    token_source = get_associated_token_address(key, mint, model.token_program)
    usdc_source = market.usdc_account(key)
    token = pools.Side(mint, model.token_program, token_source)
    cash = pools.Side(usdc_mint, market.usdc_token_program, usdc_source)
    where = pools.pool_addresses(mint, usdc_mint, program_id)
    vault = where.vaults
    usdc_balance = await session.token_balance(usdc_source)
    if usdc and (usdc_balance or 0) < usdc:
        raise InsufficientUsdc(usdc_source, usdc_balance or 0, usdc)
    await session.require_sol(key)
    ixs = []
    pool_account = await session.client.get_account(where.pool)
    if pool_account is not None and pool_account.owner != program_id:
        raise InvalidInput(f"{where.pool} is not a pool of {program_id}")
    existing = None if pool_account is None else Pool.decode(bytes(pool_account.data))
    if existing is None:
        fee_bps = DEFAULT_POOL_FEE_BPS if fee_bps is None else fee_bps
        ixs.append(pools.create_pool(key, token, cash, fee_bps, program_id))
    elif fee_bps is not None and fee_bps != existing.fee_bps:
        raise InvalidInput(
            f"the {slug} pool exists with a {existing.fee_bps} bps fee, fixed at its creation; "
            f"--fee-bps {fee_bps} cannot change it (leave it out to add liquidity)"
        )
    else:
        fee_bps = existing.fee_bps
    ixs.append(pools.add_liquidity(key, token, tokens, cash, usdc, program_id))
    await session.send(ixs, [owner])
    balances = await session.client.get_accounts([vault[mint], vault[usdc_mint]])
    reserves = [0 if acc is None else token_amount(bytes(acc.data)) for acc in balances]
    return PoolView(
        pool=str(where.pool),
        mint=str(mint),
        usdc_mint=str(usdc_mint),
        token_vault=str(vault[mint]),
        usdc_vault=str(vault[usdc_mint]),
        token_reserve=reserves[0],
        usdc_reserve=reserves[1],
        fee_bps=fee_bps,
        token_decimals=(await session.mint_info(mint))[2],
    )
