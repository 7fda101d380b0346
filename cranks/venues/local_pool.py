"""The localnet venue: our own constant-product pool program ``cp_pool``.

The pool for a mint pair is the PDA ``["pool", mint_a, mint_b]`` (mints ordered bytewise);
its reserves are its two vault balances. Pricing, exactly as the program does it
(idl/cp_pool_spec.py)::

    credited = amount_in - transfer_fee_in(amount_in)     # what arrives in vault_in
    fee      = ceil(credited * fee_bps / 10_000)          # stays in the pool
    out      = floor(R_out * (credited - fee) / (R_in + credited - fee))
    received = out - transfer_fee_out(out)                # what arrives in destination

The program checks ``min_out`` against ``received`` (and so does buyback), so ``min_out``
is taken off ``received``. The instruction is built with the generated bindings
(``bourse_chain.generated.cp_pool``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from solders.instruction import AccountMeta
from solders.pubkey import Pubkey

from bourse_chain.errors import AccountDecodeError
from bourse_chain.generated.cp_pool.accounts.pool import Pool
from bourse_chain.generated.cp_pool.instructions.swap import SwapAccounts, SwapArgs, swap
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_PROGRAM_ID
from bourse_chain.pda import pool_pda
from cranks.http import ClockFn
from cranks.venues.base import (
    BPS_DENOMINATOR,
    AccountFetcher,
    QuoteRequest,
    Route,
    check_cpi_route,
    min_out_after_slippage,
)
from cranks.venues.chain import ChainReader
from cranks.venues.errors import MalformedResponse, NoRoute

log = logging.getLogger(__name__)

VENUE = "local_pool"


def quote_exact_in(
    credited: int, reserve_in: int, reserve_out: int, fee_bps: int
) -> tuple[int, int]:
    """``(fee, out)`` for ``credited`` input tokens, as ``cp_pool``'s ``curve::quote``."""
    fee = -(-credited * fee_bps // BPS_DENOMINATOR)
    net = credited - fee
    denom = reserve_in + net
    return fee, (reserve_out * net // denom if denom else 0)


@dataclass(frozen=True, slots=True)
class LocalPoolConfig:
    program_id: Pubkey = CP_POOL_PROGRAM_ID
    max_quote_age_s: float = 20.0


class LocalPoolVenue:
    """:class:`~cranks.venues.base.Venue` over ``cp_pool`` (localnet)."""

    def __init__(
        self,
        account_fetcher: AccountFetcher,
        config: LocalPoolConfig | None = None,
        *,
        clock: ClockFn = time.time,
    ) -> None:
        self.config = config or LocalPoolConfig()
        self._chain = ChainReader(account_fetcher, venue=VENUE)
        self._clock = clock

    @property
    def name(self) -> str:
        return VENUE

    def pool_address(self, mint_x: Pubkey, mint_y: Pubkey) -> Pubkey:
        return pool_pda(mint_x, mint_y, self.config.program_id)[0]

    async def quote(
        self,
        input_mint: Pubkey,
        output_mint: Pubkey,
        amount_in: int,
        slippage_bps: int,
        *,
        authority: Pubkey,
        source: Pubkey,
        destination: Pubkey,
    ) -> Route:
        req = QuoteRequest(
            input_mint, output_mint, amount_in, slippage_bps, authority, source, destination
        )
        address = self.pool_address(input_mint, output_mint)
        try:
            pool = Pool.decode(await self._chain.required(address, "pool"))
        except AccountDecodeError as exc:
            raise MalformedResponse(f"pool {address}: {exc}", venue=VENUE) from exc
        if input_mint == pool.mint_a and output_mint == pool.mint_b:
            vault_in, vault_out = pool.vault_a, pool.vault_b
            program_in, program_out = pool.token_program_a, pool.token_program_b
        elif input_mint == pool.mint_b and output_mint == pool.mint_a:
            vault_in, vault_out = pool.vault_b, pool.vault_a
            program_in, program_out = pool.token_program_b, pool.token_program_a
        else:
            raise MalformedResponse(f"pool {address} does not hold this pair", venue=VENUE)

        v_in, v_out, mint_in, mint_out, epoch = await asyncio.gather(
            self._chain.token_account(vault_in, mint=input_mint),
            self._chain.token_account(vault_out, mint=output_mint),
            self._chain.mint(input_mint),
            self._chain.mint(output_mint),
            self._chain.epoch(),
        )
        if v_in.amount == 0 or v_out.amount == 0:
            raise NoRoute(f"pool {address} is empty on one side", venue=VENUE)
        credited = mint_in.received(amount_in, epoch)
        fee, out = quote_exact_in(credited, v_in.amount, v_out.amount, pool.fee_bps)
        received = mint_out.received(out, epoch)
        if out == 0 or received == 0:
            raise NoRoute(f"{amount_in} buys nothing in pool {address}", venue=VENUE)
        min_out = min_out_after_slippage(received, slippage_bps)
        spot = credited * v_out.amount / v_in.amount
        impact = 1.0 - out / spot if spot else None

        ix = swap(
            SwapArgs(amount_in=amount_in, min_out=min_out),
            SwapAccounts(
                user=authority,
                pool=address,
                user_source=source,
                user_destination=destination,
                vault_in=vault_in,
                vault_out=vault_out,
                mint_in=input_mint,
                mint_out=output_mint,
                token_program_in=program_in,
                token_program_out=program_out,
            ),
            program_id=self.config.program_id,
        )
        now = self._clock()
        route = Route(
            venue=VENUE,
            swap_program=ix.program_id,
            data=bytes(ix.data),
            # The authority signs through buyback's CPI, not the outer transaction.
            accounts=tuple(
                AccountMeta(m.pubkey, is_signer=False, is_writable=m.is_writable)
                for m in ix.accounts
            ),
            in_amount=amount_in,
            expected_out=received,
            min_out=min_out,
            price_impact=impact,
            quoted_at=now,
            expires_at=now + self.config.max_quote_age_s,
            request=req,
            raw_quote={
                "pool": str(address),
                "reserve_in": v_in.amount,
                "reserve_out": v_out.amount,
                "credited": credited,
                "fee": fee,
                "out": out,
                "received": received,
                "fee_bps": pool.fee_bps,
                "epoch": epoch,
            },
        )
        log.debug("local_pool: %d -> %d (min %d) via %s", amount_in, received, min_out, address)
        return check_cpi_route(route)
