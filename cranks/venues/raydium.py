"""Raydium CPMM (devnet): ``swap_base_input`` built from the pool's own accounts.

The pool state (``PoolState``, zero-copy, packed) names its ``AmmConfig``, both vaults, both
mints and token programs, and its observation account. The quote follows the program:

1. the input mint's Token-2022 transfer fee (if any) is taken off ``amount_in``;
2. reserves are the vault balances *less* the protocol, fund and creator fees the pool
   owes (they sit in the vaults but are not liquidity);
3. the trade fee is ``ceil(x * trade_fee_rate / 1e6)`` of the input (rates in millionths);
   with the creator fee on the input side, ``trade_fee_rate + creator_fee_rate`` is taken
   and split, on the output side the creator fee is ``ceil(out * creator_fee_rate / 1e6)``
   of the output; protocol and fund fees are carved out of the trade fee and change nothing
   for the trader;
4. ``out = floor(x' * R_out / (R_in + x'))`` with ``x'`` the input after fees;
5. the output mint's transfer fee (if any) is taken off what the vault sends: the program
   checks ``minimum_amount_out`` against what arrives, and so does buyback.

An optional price check compares the result with the Trade API's
``GET /compute/swap-base-in`` and refuses a quote that differs by more than
``price_tolerance_bps`` (:class:`~cranks.venues.errors.PriceDeviation`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
import time
from dataclasses import dataclass, field

import httpx
from solders.instruction import AccountMeta
from solders.pubkey import Pubkey

from cranks.http import ClockFn, JsonHttp, RandFn, RetryPolicy, SleepFn
from cranks.venues._anchor import account_discriminator, instruction_discriminator
from cranks.venues._json import Obj
from cranks.venues._transport import call_json
from cranks.venues.base import (
    BPS_DENOMINATOR,
    AccountFetcher,
    QuoteRequest,
    Route,
    check_cpi_route,
    min_out_after_slippage,
)
from cranks.venues.chain import ChainReader
from cranks.venues.errors import (
    MalformedResponse,
    NoRoute,
    PriceDeviation,
    RequestRejected,
)

log = logging.getLogger(__name__)

VENUE = "raydium"
RAYDIUM_CPMM_PROGRAM_ID = Pubkey.from_string("CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C")
RAYDIUM_CPMM_DEVNET_PROGRAM_ID = Pubkey.from_string("DRaycpLY18LhpbydsBWbVJtxpNv9oXPgjRSfpF2bWpYb")
AUTH_SEED = b"vault_and_lp_mint_auth_seed"
FEE_RATE_DENOMINATOR = 1_000_000
SWAP_BASE_INPUT = instruction_discriminator("swap_base_input")
POOL_STATE_DISCRIMINATOR = account_discriminator("PoolState")
AMM_CONFIG_DISCRIMINATOR = account_discriminator("AmmConfig")
COMPUTE_PATH = "/compute/swap-base-in"

#: PoolState after its discriminator: 10 pubkeys, 5 u8, 7 u64, u8 + bool, 6 padding, 2 u64.
_POOL = struct.Struct("<32s32s32s32s32s32s32s32s32s32sBBBBBQQQQQQQBB6xQQ")
POOL_STATE_LEN = 8 + _POOL.size + 8 * 28  # 637, PoolState::LEN
#: AmmConfig after its discriminator: bump, disable_create_pool, index, four u64 rates/fees,
#: two owners, creator_fee_rate; then 15 u64 of padding.
_CONFIG = struct.Struct("<BBHQQQQ32s32sQ")
AMM_CONFIG_LEN = 8 + _CONFIG.size + 8 * 15  # 236, AmmConfig::LEN
_SWAP_ARGS = struct.Struct("<QQ")
SWAP_DISABLED_BIT = 1 << 2

CREATOR_FEE_BOTH = 0
CREATOR_FEE_ONLY_TOKEN_0 = 1
CREATOR_FEE_ONLY_TOKEN_1 = 2


@dataclass(frozen=True, slots=True)
class PoolState:
    amm_config: Pubkey
    token_0_vault: Pubkey
    token_1_vault: Pubkey
    token_0_mint: Pubkey
    token_1_mint: Pubkey
    token_0_program: Pubkey
    token_1_program: Pubkey
    observation_key: Pubkey
    status: int
    protocol_fees: tuple[int, int]
    fund_fees: tuple[int, int]
    creator_fees: tuple[int, int]
    open_time: int
    creator_fee_on: int
    enable_creator_fee: bool


@dataclass(frozen=True, slots=True)
class AmmConfig:
    trade_fee_rate: int
    protocol_fee_rate: int
    fund_fee_rate: int
    creator_fee_rate: int


def decode_pool_state(data: bytes) -> PoolState:
    if len(data) < POOL_STATE_LEN or data[:8] != POOL_STATE_DISCRIMINATOR:
        raise MalformedResponse("account is not a Raydium CPMM PoolState", venue=VENUE)
    f = _POOL.unpack_from(data, 8)
    pk = [Pubkey.from_bytes(b) for b in f[:10]]
    (
        _bump,
        status,
        _lp_dec,
        _d0,
        _d1,
        _lp_supply,
        prot0,
        prot1,
        fund0,
        fund1,
        open_time,
        _epoch,
        creator_fee_on,
        enable_creator_fee,
        creator0,
        creator1,
    ) = f[10:]
    return PoolState(
        amm_config=pk[0],
        token_0_vault=pk[2],
        token_1_vault=pk[3],
        token_0_mint=pk[5],
        token_1_mint=pk[6],
        token_0_program=pk[7],
        token_1_program=pk[8],
        observation_key=pk[9],
        status=status,
        protocol_fees=(prot0, prot1),
        fund_fees=(fund0, fund1),
        creator_fees=(creator0, creator1),
        open_time=open_time,
        creator_fee_on=creator_fee_on,
        enable_creator_fee=bool(enable_creator_fee),
    )


def decode_amm_config(data: bytes) -> AmmConfig:
    if len(data) < AMM_CONFIG_LEN or data[:8] != AMM_CONFIG_DISCRIMINATOR:
        raise MalformedResponse("account is not a Raydium CPMM AmmConfig", venue=VENUE)
    f = _CONFIG.unpack_from(data, 8)
    return AmmConfig(
        trade_fee_rate=f[3], protocol_fee_rate=f[4], fund_fee_rate=f[5], creator_fee_rate=f[9]
    )


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True, slots=True)
class CpmmQuote:
    input_amount: int  # after the input transfer fee: what the pool trades
    output_amount: int  # what the output vault sends
    trade_fee: int
    protocol_fee: int
    fund_fee: int
    creator_fee: int


def swap_base_input(
    input_amount: int,
    input_reserve: int,
    output_reserve: int,
    config: AmmConfig,
    *,
    creator_fee_rate: int,
    creator_fee_on_input: bool,
) -> CpmmQuote:
    """``CurveCalculator::swap_base_input`` of raydium-cp-swap, on Python integers."""
    d = FEE_RATE_DENOMINATOR
    creator_fee = 0
    if creator_fee_on_input:
        total_fee = _ceil_div(input_amount * (config.trade_fee_rate + creator_fee_rate), d)
        rate_sum = config.trade_fee_rate + creator_fee_rate
        creator_fee = total_fee * creator_fee_rate // rate_sum if rate_sum else 0
        trade_fee = total_fee - creator_fee
        net_in = input_amount - total_fee
    else:
        trade_fee = _ceil_div(input_amount * config.trade_fee_rate, d)
        net_in = input_amount - trade_fee
    if net_in < 0:
        raise NoRoute("fees exceed the input", venue=VENUE)
    swapped = net_in * output_reserve // (input_reserve + net_in)
    output = swapped
    if not creator_fee_on_input:
        creator_fee = _ceil_div(swapped * creator_fee_rate, d)
        output = swapped - creator_fee
    return CpmmQuote(
        input_amount=input_amount,
        output_amount=output,
        trade_fee=trade_fee,
        protocol_fee=trade_fee * config.protocol_fee_rate // d,
        fund_fee=trade_fee * config.fund_fee_rate // d,
        creator_fee=creator_fee,
    )


@dataclass(frozen=True, slots=True)
class RaydiumConfig:
    #: The CPMM pool state account to trade against.
    pool: Pubkey
    program_id: Pubkey = RAYDIUM_CPMM_DEVNET_PROGRAM_ID
    #: Trade API host for the price check (e.g. the devnet transaction host); None = no check.
    trade_api_url: str | None = None
    price_tolerance_bps: int = 100
    max_quote_age_s: float = 20.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class RaydiumVenue:
    """:class:`~cranks.venues.base.Venue` over one Raydium CPMM pool."""

    def __init__(
        self,
        config: RaydiumConfig,
        account_fetcher: AccountFetcher,
        *,
        client: httpx.AsyncClient | None = None,
        sleep: SleepFn = asyncio.sleep,
        rand: RandFn = random.random,
        clock: ClockFn = time.time,
    ) -> None:
        if config.trade_api_url is not None and client is None:
            raise ValueError("the Trade API price check needs an httpx client")
        self.config = config
        self._chain = ChainReader(account_fetcher, venue=VENUE)
        self._http = (
            JsonHttp(client, config.retry, sleep=sleep, rand=rand, clock=clock) if client else None
        )
        self._clock = clock
        self.pool_authority = Pubkey.find_program_address([AUTH_SEED], config.program_id)[0]

    @property
    def name(self) -> str:
        return VENUE

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
        pool = decode_pool_state(await self._chain.required(cfg.pool, "pool state"))
        if pool.status & SWAP_DISABLED_BIT:
            raise NoRoute(f"pool {cfg.pool} has swaps disabled", venue=VENUE)
        now = self._clock()
        if now < pool.open_time:
            raise NoRoute(f"pool {cfg.pool} opens at {pool.open_time}", venue=VENUE)
        if (input_mint, output_mint) == (pool.token_0_mint, pool.token_1_mint):
            side_in, side_out = 0, 1
        elif (input_mint, output_mint) == (pool.token_1_mint, pool.token_0_mint):
            side_in, side_out = 1, 0
        else:
            raise NoRoute(
                f"pool {cfg.pool} does not trade {input_mint} -> {output_mint}", venue=VENUE
            )
        vaults = (pool.token_0_vault, pool.token_1_vault)
        mints = (pool.token_0_mint, pool.token_1_mint)
        programs = (pool.token_0_program, pool.token_1_program)

        config_data, vault_in, vault_out, mint_in, mint_out, epoch = await asyncio.gather(
            self._chain.required(pool.amm_config, "amm config"),
            self._chain.token_account(vaults[side_in], mint=mints[side_in]),
            self._chain.token_account(vaults[side_out], mint=mints[side_out]),
            self._chain.mint(mints[side_in]),
            self._chain.mint(mints[side_out]),
            self._chain.epoch(),
        )
        amm = decode_amm_config(config_data)

        owed = [
            p + f + c
            for p, f, c in zip(pool.protocol_fees, pool.fund_fees, pool.creator_fees, strict=True)
        ]
        reserve_in = vault_in.amount - owed[side_in]
        reserve_out = vault_out.amount - owed[side_out]
        if reserve_in <= 0 or reserve_out <= 0:
            raise NoRoute(f"pool {cfg.pool} has no liquidity", venue=VENUE)
        actual_in = mint_in.received(amount_in, epoch)
        if actual_in <= 0:
            raise NoRoute("the input transfer fee takes the whole amount", venue=VENUE)
        creator_rate = amm.creator_fee_rate if pool.enable_creator_fee else 0
        on_input = (
            pool.creator_fee_on == CREATOR_FEE_BOTH
            or (pool.creator_fee_on == CREATOR_FEE_ONLY_TOKEN_0 and side_in == 0)
            or (pool.creator_fee_on == CREATOR_FEE_ONLY_TOKEN_1 and side_in == 1)
        )
        q = swap_base_input(
            actual_in,
            reserve_in,
            reserve_out,
            amm,
            creator_fee_rate=creator_rate,
            creator_fee_on_input=on_input,
        )
        received = mint_out.received(q.output_amount, epoch)
        if received <= 0:
            raise NoRoute(f"{amount_in} buys nothing in pool {cfg.pool}", venue=VENUE)
        min_out = min_out_after_slippage(received, slippage_bps)
        spot_out = actual_in * reserve_out / reserve_in
        impact = 1.0 - q.output_amount / spot_out if spot_out else None

        reference = await self._price_check(req, received)
        data = SWAP_BASE_INPUT + _SWAP_ARGS.pack(amount_in, min_out)
        accounts = (
            AccountMeta(authority, is_signer=False, is_writable=False),  # payer: signs by CPI
            AccountMeta(self.pool_authority, is_signer=False, is_writable=False),
            AccountMeta(pool.amm_config, is_signer=False, is_writable=False),
            AccountMeta(cfg.pool, is_signer=False, is_writable=True),
            AccountMeta(source, is_signer=False, is_writable=True),
            AccountMeta(destination, is_signer=False, is_writable=True),
            AccountMeta(vaults[side_in], is_signer=False, is_writable=True),
            AccountMeta(vaults[side_out], is_signer=False, is_writable=True),
            AccountMeta(programs[side_in], is_signer=False, is_writable=False),
            AccountMeta(programs[side_out], is_signer=False, is_writable=False),
            AccountMeta(input_mint, is_signer=False, is_writable=False),
            AccountMeta(output_mint, is_signer=False, is_writable=False),
            AccountMeta(pool.observation_key, is_signer=False, is_writable=True),
        )
        route = Route(
            venue=VENUE,
            swap_program=cfg.program_id,
            data=data,
            accounts=accounts,
            in_amount=amount_in,
            expected_out=received,
            min_out=min_out,
            price_impact=impact,
            quoted_at=now,
            expires_at=now + cfg.max_quote_age_s,
            request=req,
            raw_quote={
                "pool": str(cfg.pool),
                "reserve_in": reserve_in,
                "reserve_out": reserve_out,
                "actual_in": actual_in,
                "output_amount": q.output_amount,
                "trade_fee": q.trade_fee,
                "creator_fee": q.creator_fee,
                "epoch": epoch,
                "reference": reference,
            },
        )
        return check_cpi_route(route)

    async def _price_check(self, req: QuoteRequest, ours: int) -> dict[str, object] | None:
        cfg = self.config
        if cfg.trade_api_url is None or self._http is None:
            return None
        payload = await call_json(
            self._http,
            VENUE,
            "GET",
            cfg.trade_api_url.rstrip("/") + COMPUTE_PATH,
            params={
                "inputMint": str(req.input_mint),
                "outputMint": str(req.output_mint),
                "amount": str(req.amount_in),
                "slippageBps": str(req.slippage_bps),
                "txVersion": "V0",
            },
            headers={"accept": "application/json"},
        )
        top = Obj(payload, "compute", VENUE)
        if not top.bool_("success"):
            msg = top.opt_str("msg") or ""
            if "ROUTE" in msg.upper():
                raise NoRoute(f"Trade API has no route ({msg})", venue=VENUE)
            raise RequestRejected(f"Trade API refused: {msg}", venue=VENUE, status=200)
        data = top.obj("data")
        if (
            data.pubkey("inputMint") != req.input_mint
            or data.pubkey("outputMint") != req.output_mint
        ):
            raise MalformedResponse("Trade API quoted another pair", venue=VENUE)
        if data.u64("inputAmount") != req.amount_in:
            raise MalformedResponse("Trade API quoted another amount", venue=VENUE)
        if data.str_("swapType") != "BaseIn":
            raise MalformedResponse(f"swapType {data.str_('swapType')!r}", venue=VENUE)
        data.u64("otherAmountThreshold")
        data.list_("routePlan")
        reference = data.u64("outputAmount")
        if reference == 0:
            raise NoRoute("Trade API quotes zero output", venue=VENUE)
        deviation = abs(ours - reference) * BPS_DENOMINATOR // reference
        if deviation > cfg.price_tolerance_bps:
            raise PriceDeviation(
                f"pool quote {ours} vs Trade API {reference}: {deviation} bps "
                f"(tolerance {cfg.price_tolerance_bps})",
                venue=VENUE,
                ours=ours,
                reference=reference,
                deviation_bps=deviation,
            )
        log.debug("raydium: pool %d vs Trade API %d (%d bps)", ours, reference, deviation)
        return {"id": top.opt_str("id"), "outputAmount": reference, "deviation_bps": deviation}


__all__ = [
    "RAYDIUM_CPMM_DEVNET_PROGRAM_ID",
    "RAYDIUM_CPMM_PROGRAM_ID",
    "AmmConfig",
    "CpmmQuote",
    "PoolState",
    "RaydiumConfig",
    "RaydiumVenue",
    "decode_amm_config",
    "decode_pool_state",
    "swap_base_input",
]
