"""The localnet swap venue: create a ``cp_pool`` pool of a model token against USDC and seed
its liquidity, so the buyback crank has somewhere to buy. (On devnet and mainnet the crank
buys on Raydium or through Jupiter; see ``cranks/venues``.)
``python -m scripts.pool ...`` is ``bourse pool ...``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from bourse_chain.generated.cp_pool import instructions as pool_ix
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_chain.pda import ordered_mints, pool_pda, pool_vault_pda
from scripts.common import Session, token_amount
from scripts.errors import InsufficientUsdc, InvalidInput
from scripts.market_view import fetch_model

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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def add_pool(
    session: Session,
    owner: Keypair,
    slug: str,
    *,
    tokens: int,
    usdc: int,
    fee_bps: int = DEFAULT_POOL_FEE_BPS,
    program_id: Pubkey = CP_POOL_ID,
) -> PoolView:
    """Create (if missing) the pool of the model's token against USDC and deposit ``tokens``
    model-token base units and ``usdc`` micro-USDC from ``owner``'s associated accounts."""
    _, model = await fetch_model(session, slug)
    if model.token_kind == TokenKind.NONE:
        raise InvalidInput(f"model {slug!r} has no token yet: `bourse model tokenize` first")
    market = session.market
    mint, usdc_mint = model.mint, market.usdc_mint
    a, b = ordered_mints(mint, usdc_mint)
    programs = {mint: model.token_program, usdc_mint: market.usdc_token_program}
    pool = pool_pda(a, b, program_id)[0]
    vault = {x: pool_vault_pda(pool, x, program_id)[0] for x in (a, b)}
    key = owner.pubkey()
    source = {
        mint: get_associated_token_address(key, mint, model.token_program),
        usdc_mint: market.usdc_account(key),
    }
    usdc_balance = await session.token_balance(source[usdc_mint])
    if usdc and (usdc_balance or 0) < usdc:
        raise InsufficientUsdc(source[usdc_mint], usdc_balance or 0, usdc)
    await session.require_sol(key)
    ixs = []
    if await session.client.get_account(pool) is None:
        ixs.append(
            pool_ix.create_pool(
                pool_ix.CreatePoolArgs(fee_bps=fee_bps),
                pool_ix.CreatePoolAccounts(
                    payer=key,
                    mint_a=a,
                    mint_b=b,
                    token_program_a=programs[a],
                    token_program_b=programs[b],
                ),
                program_id,
            )
        )
    amount = {mint: tokens, usdc_mint: usdc}
    ixs.append(
        pool_ix.add_liquidity(
            pool_ix.AddLiquidityArgs(amount_a=amount[a], amount_b=amount[b]),
            pool_ix.AddLiquidityAccounts(
                depositor=key,
                pool=pool,
                depositor_a=source[a],
                depositor_b=source[b],
                vault_a=vault[a],
                vault_b=vault[b],
                mint_a=a,
                mint_b=b,
                token_program_a=programs[a],
                token_program_b=programs[b],
            ),
            program_id,
        )
    )
    await session.send(ixs, [owner])
    balances = await session.client.get_accounts([vault[mint], vault[usdc_mint]])
    reserves = [0 if acc is None else token_amount(bytes(acc.data)) for acc in balances]
    return PoolView(
        pool=str(pool),
        mint=str(mint),
        usdc_mint=str(usdc_mint),
        token_vault=str(vault[mint]),
        usdc_vault=str(vault[usdc_mint]),
        token_reserve=reserves[0],
        usdc_reserve=reserves[1],
        fee_bps=fee_bps,
    )


if __name__ == "__main__":
    from bourse_cli.app import run_group

    run_group("pool")
