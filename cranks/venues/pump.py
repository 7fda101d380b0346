"""pump.fun coins: the bonding curve while it runs, PumpSwap once it has graduated.

The venue reads the coin's ``BondingCurve`` (PDA ``["bonding-curve", mint]`` of pump.fun) on
every quote and picks the market itself, so no operator switches anything when a curve
completes:

* curve present, USDC-paired (``quote_mint`` = the input mint) and not ``complete`` → pump.fun
  ``buy_exact_quote_in_v2``. It spends only from the user's *associated* USDC account, so the
  route names the model PDA's associated USDC account: ``buyback`` stages ``amount_in`` there
  from the revenue vault and sweeps the rest back. The route's request names that account as
  its source.
* curve ``complete`` (or no curve) → PumpSwap ``buy_exact_quote_in`` on the canonical pool
  (index 0, creator = pump.fun's ``pool-authority`` PDA), spending straight from the revenue
  vault (PumpSwap leaves the user's token accounts free).
* a SOL-paired curve (``quote_mint`` WSOL or none: legacy ``create`` and ClawPump coins), not
  ``complete`` → ``buyback_sol``: the route's own swap is USDC -> WSOL quoted on ``sol_leg``
  (``local_pool`` on the localnet, Jupiter on mainnet) into the model's buyer PDA's WSOL
  account, and its :class:`~cranks.venues.base.BuyLeg` is pump.fun ``buy_exact_sol_in`` paid
  by that data-less buyer PDA with the leg's guaranteed SOL (``min_out``) plus what earlier
  buys left in it above its floor. Without a ``sol_leg`` →
  :class:`~cranks.venues.errors.NoRoute`.
* a SOL-paired curve that is ``complete`` → ``buyback_sol`` with the same USDC -> WSOL leg and
  PumpSwap ``buy_exact_quote_in`` on the canonical WSOL-quoted pool as its buy leg: ``user`` =
  the buyer PDA, spending the leg's guaranteed WSOL (``min_out``) from the buyer's WSOL
  account, which the program keeps wrapped for the buy (the leg names it) and closes after.

All three charge a per-user account's rent to the swapping ``user`` (the model PDA,
which cannot pay it): when it or the staging account is missing, the route carries
``prepare_instructions`` (idempotent, paid by the crank) that the crank sends first.
Quotes mirror the programs (``bourse_chain.pump_curve`` / ``bourse_chain.pump_swap``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
)

from bourse_chain import mints, pump_curve, pump_sol, pump_swap
from bourse_chain.errors import AccountDecodeError
from bourse_chain.generated.pump import PROGRAM_ID as PUMP_ID
from bourse_chain.generated.pump.accounts import BondingCurve, Global
from bourse_chain.generated.pump_amm import PROGRAM_ID as AMM_ID
from bourse_chain.generated.pump_amm.accounts import GlobalConfig, Pool
from cranks.http import ClockFn
from cranks.venues.base import (
    AccountFetcher,
    BuyLeg,
    QuoteRequest,
    Route,
    Venue,
    check_cpi_route,
    min_out_after_slippage,
)
from cranks.venues.chain import ChainReader
from cranks.venues.errors import MalformedResponse, NoRoute

log = logging.getLogger(__name__)

CURVE = "pump_curve"
CURVE_SOL = "pump_curve_sol"
SWAP = "pump_swap"
SWAP_SOL = "pump_swap_sol"

#: ``async (address) -> lamports (0 when the account does not exist)``.
LamportsFetcher = Callable[[Pubkey], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class PumpConfig:
    payer: Pubkey  # pays the one-time per-user accounts (the crank's key)
    pump_program: Pubkey = PUMP_ID
    amm_program: Pubkey = AMM_ID
    max_quote_age_s: float = 20.0


class PumpVenue:
    """:class:`~cranks.venues.base.Venue` over pump.fun's curve and PumpSwap."""

    def __init__(
        self,
        account_fetcher: AccountFetcher,
        config: PumpConfig,
        *,
        clock: ClockFn = time.time,
        sol_leg: Venue | None = None,
        lamports: LamportsFetcher | None = None,
    ) -> None:
        self.config = config
        self._fetch = account_fetcher
        self._chain = ChainReader(account_fetcher, venue=CURVE)
        self._clock = clock
        self._sol_leg = sol_leg
        self._lamports = lamports

    @property
    def name(self) -> str:
        return "pump"

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
        cfg = self.config
        curve_data = await self._fetch(pump_curve.curve_address(output_mint, cfg.pump_program))
        curve = _decode(BondingCurve, curve_data, "bonding curve") if curve_data else None
        if curve is not None and curve.quote_mint in (Pubkey.default(), WRAPPED_SOL_MINT):
            return await self._sol_route(req, curve)
        if curve is not None and not curve.complete:
            if curve.quote_mint != input_mint:
                raise NoRoute(
                    f"{output_mint} is paired with {curve.quote_mint} on its curve, not "
                    f"{input_mint}",
                    venue=CURVE,
                )
            return await self._curve_route(req, curve)
        return await self._swap_route(req)

    async def _sol_route(self, req: QuoteRequest, curve: BondingCurve) -> Route:
        """USDC -> WSOL on the SOL leg's venue, then ``buy_exact_sol_in`` by the buyer PDA
        (PumpSwap's WSOL pool once the curve is complete)."""
        cfg = self.config
        if self._sol_leg is None or self._lamports is None:
            raise NoRoute(
                f"{req.output_mint} is SOL-paired: set buyback.sol_venue for its USDC -> SOL leg",
                venue=SWAP_SOL if curve.complete else CURVE_SOL,
            )
        if curve.complete:
            return await self._sol_pool_route(req, self._sol_leg, self._lamports)
        glob = _decode(
            Global,
            await self._chain.required(pump_curve.global_address(cfg.pump_program), "global"),
            "global",
        )
        curve_key = pump_curve.curve_address(req.output_mint, cfg.pump_program)
        market = pump_curve.CurveMarket(
            mint=req.output_mint,
            token_program=await self._token_program(curve_key, req.output_mint),
            quote_mint=curve.quote_mint,
            quote_token_program=TOKEN_PROGRAM_ID,
            curve=curve,
            glob=glob,
        )
        buyer = pump_sol.buyer_address(req.authority)
        leg = await self._sol_leg.quote(
            req.input_mint,
            WRAPPED_SOL_MINT,
            req.amount_in,
            req.slippage_bps,
            authority=req.authority,
            source=req.source,
            destination=pump_sol.buyer_wsol(buyer),
        )
        vault = pump_curve.creator_vault(curve.creator, cfg.pump_program)
        uva = pump_curve.user_volume_accumulator(buyer, cfg.pump_program)
        held, vault_lamports, uva_data = await asyncio.gather(
            self._lamports(buyer), self._lamports(vault), self._fetch(uva)
        )
        # What the buyer surely holds for the buy: the leg's guaranteed SOL and what earlier
        # buys left above its floor, less a creator-vault rent top-up the buy may owe. The
        # route's price (expected_out, min_out) counts only this swap's SOL, so a leftover
        # never inflates a reference observation; the leftover's tokens arrive on top.
        topup = max(0, mints.rent_exempt_lamports(0) - vault_lamports)
        own = leg.min_out - topup
        spendable = own + max(0, held - pump_sol.BUYER_FLOOR)
        try:
            q = pump_sol.quote_buy_sol(market, spendable, vault_lamports)
            q_own = pump_sol.quote_buy_sol(market, own, vault_lamports)
        except ValueError as exc:
            raise NoRoute(str(exc), venue=CURVE_SOL) from exc
        min_out = min_out_after_slippage(q_own.tokens, req.slippage_bps)
        buy = pump_sol.buy_sol_instruction(
            market, buyer, req.destination, spendable, min_out, cfg.pump_program
        )
        prepare = pump_sol.prepare_instructions(
            cfg.payer, req.authority, held, uva_data is not None, cfg.pump_program
        )
        curve_impact = 1.0 - (q.tokens * curve.virtual_quote_reserves) / (
            q.net * curve.virtual_token_reserves
        )
        route = self._with_buy(
            leg,
            req,
            CURVE_SOL,
            buy,
            q_own.tokens,
            min_out,
            curve_impact,
            prepare,
            {"completes_curve": q.completes, "sol_in": spendable},
        )
        log.debug(
            "%s: %d -> %d lamports -> %d (min %d)",
            CURVE_SOL,
            req.amount_in,
            spendable,
            q.tokens,
            min_out,
        )
        return check_cpi_route(route)

    async def _curve_route(self, req: QuoteRequest, curve: BondingCurve) -> Route:
        cfg = self.config
        glob = _decode(
            Global,
            await self._chain.required(pump_curve.global_address(cfg.pump_program), "global"),
            "global",
        )
        curve_key = pump_curve.curve_address(req.output_mint, cfg.pump_program)
        mint_data, quote_data = await asyncio.gather(
            self._token_program(curve_key, req.output_mint),
            self._token_program(curve_key, req.input_mint),
        )
        market = pump_curve.CurveMarket(
            mint=req.output_mint,
            token_program=mint_data,
            quote_mint=req.input_mint,
            quote_token_program=quote_data,
            curve=curve,
            glob=glob,
        )
        try:
            q = pump_curve.quote_buy(market, req.amount_in)
        except ValueError as exc:
            raise NoRoute(str(exc), venue=CURVE) from exc
        min_out = min_out_after_slippage(q.tokens, req.slippage_bps)
        ix = pump_curve.buy_instruction(
            market, req.authority, req.destination, req.amount_in, min_out, cfg.pump_program
        )
        stage = get_associated_token_address(req.authority, req.input_mint, quote_data)
        prepare: list[Instruction] = []
        if await self._fetch(stage) is None:
            prepare.append(
                create_idempotent_associated_token_account(
                    cfg.payer, req.authority, req.input_mint, quote_data
                )
            )
        uva = pump_curve.user_volume_accumulator(req.authority, cfg.pump_program)
        if await self._fetch(uva) is None:
            prepare.append(
                pump_curve.init_accumulator_instruction(cfg.payer, req.authority, cfg.pump_program)
            )
        staged = dataclasses.replace(req, source=stage)
        impact = 1.0 - (q.tokens * curve.virtual_quote_reserves) / (
            q.net * curve.virtual_token_reserves
        )
        return self._route(CURVE, ix, staged, q.tokens, min_out, impact, prepare, q.completes)

    async def _sol_pool_route(
        self, req: QuoteRequest, sol_leg: Venue, lamports: LamportsFetcher
    ) -> Route:
        """USDC -> WSOL into the buyer's WSOL account, then PumpSwap ``buy_exact_quote_in`` on
        the WSOL pool by the buyer PDA, spending the leg's guaranteed WSOL from that account."""
        cfg = self.config
        market = await self._swap_market(req.output_mint, WRAPPED_SOL_MINT, SWAP_SOL)
        buyer = pump_sol.buyer_address(req.authority)
        wsol = pump_sol.buyer_wsol(buyer)
        leg = await sol_leg.quote(
            req.input_mint,
            WRAPPED_SOL_MINT,
            req.amount_in,
            req.slippage_bps,
            authority=req.authority,
            source=req.source,
            destination=wsol,
        )
        uva = pump_swap.user_volume_accumulator(buyer, cfg.amm_program)
        held, uva_data = await asyncio.gather(lamports(buyer), self._fetch(uva))
        try:
            q = pump_swap.quote_buy(market, leg.min_out)
        except ValueError as exc:
            raise NoRoute(str(exc), venue=SWAP_SOL) from exc
        min_out = min_out_after_slippage(q.base_out, req.slippage_bps)
        buy = pump_swap.buy_instruction(
            market, buyer, req.destination, wsol, leg.min_out, min_out, cfg.amm_program
        )
        # The buyer's floor (pump.fun's accumulator is not needed here) and PumpSwap's own.
        prepare = pump_sol.prepare_instructions(cfg.payer, req.authority, held, True)
        if uva_data is None:
            prepare.append(
                pump_swap.init_accumulator_instruction(cfg.payer, buyer, cfg.amm_program)
            )
        pool_impact = 1.0 - (q.base_out * market.quote_reserve) / (q.net * market.base_reserve)
        route = self._with_buy(
            leg,
            req,
            SWAP_SOL,
            buy,
            q.base_out,
            min_out,
            pool_impact,
            prepare,
            {"completes_curve": False, "sol_in": leg.min_out},
        )
        log.debug(
            "%s: %d -> %d WSOL -> %d (min %d)",
            SWAP_SOL,
            req.amount_in,
            leg.min_out,
            q.base_out,
            min_out,
        )
        return check_cpi_route(route)

    def _with_buy(
        self,
        leg: Route,
        req: QuoteRequest,
        venue: str,
        buy: Instruction,
        expected_out: int,
        min_out: int,
        buy_impact: float,
        prepare: list[Instruction],
        raw_quote: Mapping[str, Any],
    ) -> Route:
        """A SOL-paired coin's route: the USDC -> WSOL ``leg`` followed by the ``buy``
        instruction the buyer PDA runs (its price impact compounded with the leg's), valid
        for the leg's life and at most ``max_quote_age_s``."""
        now = self._clock()
        return dataclasses.replace(
            leg,
            venue=venue,
            expected_out=expected_out,
            min_out=min_out,
            price_impact=1.0 - (1.0 - (leg.price_impact or 0.0)) * (1.0 - buy_impact),
            quoted_at=now,
            expires_at=min(leg.expires_at, now + self.config.max_quote_age_s),
            request=req,
            prepare_instructions=leg.prepare_instructions + tuple(prepare),
            buy_leg=BuyLeg(buy.program_id, bytes(buy.data), tuple(pump_sol.as_cpi_accounts(buy))),
            raw_quote=raw_quote,
        )

    async def _swap_market(
        self, base_mint: Pubkey, quote_mint: Pubkey, venue: str
    ) -> pump_swap.SwapMarket:
        """The canonical PumpSwap pool of ``base_mint`` against ``quote_mint``, as it stands."""
        cfg = self.config
        address = pump_swap.canonical_pool(base_mint, quote_mint, cfg.amm_program)[0]
        reader = ChainReader(self._fetch, venue=venue)
        pool = _decode(Pool, await reader.required(address, "PumpSwap pool"), "pool", venue)
        config = _decode(
            GlobalConfig,
            await reader.required(pump_swap.global_config_address(cfg.amm_program), "config"),
            "global config",
            venue,
        )
        base, quote = await asyncio.gather(
            reader.token_account(pool.pool_base_token_account, mint=base_mint),
            reader.token_account(pool.pool_quote_token_account, mint=quote_mint),
        )
        base_tp = _program_of(address, base_mint, pool.pool_base_token_account, venue)
        quote_tp = _program_of(address, quote_mint, pool.pool_quote_token_account, venue)
        return pump_swap.SwapMarket(
            address, pool, config, base_tp, quote_tp, base.amount, quote.amount
        )

    async def _swap_route(self, req: QuoteRequest) -> Route:
        cfg = self.config
        market = await self._swap_market(req.output_mint, req.input_mint, SWAP)
        base_amount, quote_amount = market.base_reserve, market.quote_reserve
        try:
            q = pump_swap.quote_buy(market, req.amount_in)
        except ValueError as exc:
            raise NoRoute(str(exc), venue=SWAP) from exc
        min_out = min_out_after_slippage(q.base_out, req.slippage_bps)
        ix = pump_swap.buy_instruction(
            market,
            req.authority,
            req.destination,
            req.source,
            req.amount_in,
            min_out,
            cfg.amm_program,
        )
        prepare: list[Instruction] = []
        if (
            await self._fetch(pump_swap.user_volume_accumulator(req.authority, cfg.amm_program))
            is None
        ):
            prepare.append(
                pump_swap.init_accumulator_instruction(cfg.payer, req.authority, cfg.amm_program)
            )
        impact = 1.0 - (q.base_out * quote_amount) / (q.net * base_amount)
        return self._route(SWAP, ix, req, q.base_out, min_out, impact, prepare, False)

    def _route(
        self,
        venue: str,
        ix: Instruction,
        req: QuoteRequest,
        expected_out: int,
        min_out: int,
        impact: float,
        prepare: list[Instruction],
        completes: bool,
    ) -> Route:
        now = self._clock()
        route = Route(
            venue=venue,
            swap_program=ix.program_id,
            data=bytes(ix.data),
            accounts=tuple(
                AccountMeta(m.pubkey, is_signer=False, is_writable=m.is_writable)
                for m in ix.accounts
            ),
            in_amount=req.amount_in,
            expected_out=expected_out,
            min_out=min_out,
            price_impact=impact,
            quoted_at=now,
            expires_at=now + self.config.max_quote_age_s,
            request=req,
            prepare_instructions=tuple(prepare),
            raw_quote={"completes_curve": completes},
        )
        log.debug("%s: %d -> %d (min %d)", venue, req.amount_in, expected_out, min_out)
        return check_cpi_route(route)

    async def _token_program(self, owner: Pubkey, mint: Pubkey) -> Pubkey:
        """The token program of ``mint``: the one under which ``owner``'s (the curve's)
        associated account exists (the fetcher returns data, not the mint's owner)."""
        for tp in TOKEN_PROGRAMS:
            if await self._fetch(get_associated_token_address(owner, mint, tp)) is not None:
                return tp
        raise NoRoute(f"the curve {owner} holds no {mint} account", venue=CURVE)


TOKEN_PROGRAMS = (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)


class _Decodable(Protocol):
    @classmethod
    def decode(cls, data: bytes) -> Self: ...


D = TypeVar("D", bound=_Decodable)


def _decode(cls: type[D], data: bytes | None, what: str, venue: str = CURVE) -> D:
    if data is None:
        raise NoRoute(f"{what} does not exist", venue=venue)
    try:
        return cls.decode(data)
    except AccountDecodeError as exc:
        raise MalformedResponse(f"{what}: {exc}", venue=venue) from exc


def _program_of(owner: Pubkey, mint: Pubkey, account: Pubkey, venue: str) -> Pubkey:
    """The token program under which ``account`` is ``owner``'s associated account."""
    for tp in TOKEN_PROGRAMS:
        if get_associated_token_address(owner, mint, tp) == account:
            return tp
    raise MalformedResponse(f"{account} is not {owner}'s associated {mint} account", venue=venue)
