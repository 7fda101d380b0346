"""Jupiter (mainnet): quote + swap instruction over Jupiter's Swap API, shaped for CPI.

Two wire formats, selected by :attr:`JupiterConfig.api`:

* ``build`` (Swap API V2): one ``GET /swap/v2/build`` returning the quote *and* the
  instructions (``swapInstruction``, ``setupInstructions``, ``cleanupInstruction``,
  ``otherInstructions``, ``computeBudgetInstructions``, ``addressesByLookupTableAddress``,
  ``blockhashWithMetadata``). The swapping wallet is the ``taker`` query parameter (name
  configurable: the docs also show ``userPublicKey``).
* ``v1`` (Metis): ``GET /swap/v1/quote`` then ``POST /swap/v1/swap-instructions`` with the
  quote as ``quoteResponse`` (answer: the same instruction fields, with
  ``addressLookupTableAddresses`` as a plain list).

For buyback the swapping wallet is the model PDA (the authority of both vaults), the output
goes to ``destinationTokenAccount`` = the buyback vault, SOL is never wrapped
(``wrapAndUnwrapSol=false``), and v1 asks for shared accounts and no user-account RPC checks
so that no setup instruction is needed. Jupiter always spends from the wallet's associated
token account; buyback spends from the revenue vault, so that account is substituted by
``source`` in the swap's accounts (the route's data does not name accounts).

Routes that do not fit (more accounts than buyback forwards, or than a transaction may lock
together with buyback's own) are re-quoted with a smaller ``maxAccounts``
(:attr:`JupiterConfig.max_accounts_steps`, 56 -> 48 -> 40 -> 30 -> 20). The route's lookup
tables (``addressLookupTableAddresses`` / ``addressesByLookupTableAddress``) go with it; keys
they do not hold are loaded through the crank's own table (:mod:`cranks.lookup`).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from bourse_chain.token_layout import TOKEN_PROGRAMS, MintInfo, associated_token_address
from cranks.http import ClockFn, HttpRejected, JsonHttp, RandFn, RetryPolicy, SleepFn
from cranks.venues._json import Obj, decode_instruction, decode_instructions, parse_pubkey
from cranks.venues._transport import call_json
from cranks.venues.base import (
    BPS_DENOMINATOR,
    MAX_REMAINING_ACCOUNTS,
    AccountFetcher,
    QuoteRequest,
    Route,
    check_cpi_route,
    ensure_fresh,
    requote_if_stale,
)
from cranks.venues.chain import ChainReader
from cranks.venues.errors import (
    MalformedResponse,
    NoRoute,
    QuoteExpired,
    RequestRejected,
    RouteTooLarge,
    UnsupportedRoute,
    VenueError,
)

log = logging.getLogger(__name__)

VENUE = "jupiter"
JUPITER_V6_PROGRAM_ID = Pubkey.from_string("JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4")
DEFAULT_BASE_URL = "https://api.jup.ag"
BUILD_PATH = "/swap/v2/build"
V1_QUOTE_PATH = "/swap/v1/quote"
V1_SWAP_INSTRUCTIONS_PATH = "/swap/v1/swap-instructions"

#: Jupiter's routing error codes that mean "nothing to route" (docs: Common Errors).
NO_ROUTE_CODES = frozenset(
    {
        "NO_ROUTES_FOUND",
        "COULD_NOT_FIND_ANY_ROUTE",
        "TOKEN_NOT_TRADABLE",
        "ROUTE_PLAN_DOES_NOT_CONSUME_ALL_THE_AMOUNT",
        "MARKET_NOT_FOUND",
    }
)

#: ``async () -> current slot``, to judge a v1 quote's ``contextSlot``.
SlotFetcher = Callable[[], Awaitable[int]]


class JupiterApi(enum.StrEnum):
    BUILD = "build"
    V1 = "v1"


@dataclass(frozen=True, slots=True)
class JupiterConfig:
    base_url: str = DEFAULT_BASE_URL
    api: JupiterApi = JupiterApi.BUILD
    api_key: str | None = field(default=None, repr=False)
    #: ``maxAccounts`` values tried in turn while the route does not fit.
    max_accounts_steps: tuple[int, ...] = (56, 48, 40, 30, 20)
    #: Accounts the swap instruction may have (buyback forwards at most 128; the
    #: transaction's 64-account lock limit is checked on top, see ``check_cpi_route``).
    account_limit: int = MAX_REMAINING_ACCOUNTS
    #: A quote older than this is refused (and re-quoted by :meth:`JupiterVenue.requote`).
    max_quote_age_s: float = 20.0
    #: v1 with a slot fetcher: a quote whose ``contextSlot`` lags more than this is stale.
    max_slot_lag: int = 150
    #: Query parameter naming the swapping wallet on ``/build``.
    taker_param: str = "taker"
    #: Pays rent/fees if the route needs any; ``None`` lets Jupiter default to the taker.
    payer: Pubkey | None = None
    dexes: tuple[str, ...] = ()
    exclude_dexes: tuple[str, ...] = ()
    only_direct_routes: bool = False
    restrict_intermediate_tokens: bool = True
    use_shared_accounts: bool = True
    #: Replace the authority's associated token account by ``source`` in the route.
    substitute_source_ata: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if not self.max_accounts_steps:
            raise ValueError("max_accounts_steps must not be empty")
        if any(not 1 <= m <= 64 for m in self.max_accounts_steps):
            raise ValueError("maxAccounts values must be within 1..64")
        if self.dexes and self.exclude_dexes:
            raise ValueError("dexes and exclude_dexes are mutually exclusive")


@dataclass(frozen=True, slots=True)
class _Answer:
    """The parts of either API's answer that make a route."""

    quote: Obj
    swap: Instruction
    compute_budget: tuple[Instruction, ...]
    setup: tuple[Instruction, ...]
    cleanup: tuple[Instruction, ...]
    lookup_tables: tuple[Pubkey, ...]
    quoted_at: float
    context_slot: int | None
    raw: dict[str, Any]


def _rejection(exc: HttpRejected) -> VenueError:
    body = exc.body
    code = message = ""
    if isinstance(body, dict):
        code = str(body.get("errorCode") or "")
        message = str(body.get("error") or body.get("message") or "")
    else:
        message = str(body)
    if code in NO_ROUTE_CODES or "route" in message.lower():
        return NoRoute(f"no route: {message or code}", venue=VENUE)
    return RequestRejected(
        f"HTTP {exc.status}: {code} {message}".strip(), venue=VENUE, status=exc.status or 400
    )


def _error_in_body(payload: object) -> None:
    """Jupiter may answer 200 with ``{"error": ...}``: treat it like the 4xx it means."""
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        raise _rejection(HttpRejected("error in body", url="", status=400, body=payload))


#: How far outAmount may be from what the route plan's last hops deliver (rounding).
PLAN_TOLERANCE_BPS = 100


def refuse_absurd(
    q: Obj, req: QuoteRequest, out_amount: int, threshold: int, price_impact: float | None
) -> None:
    """Refuse a quote that contradicts itself (a broken or hostile answer); an answer that
    is consistent but priced wrong is the buyback's reference price's to refuse.

    * ``outAmount`` 0, or an ``otherAmountThreshold`` below ``outAmount`` less the
      ``slippageBps`` we asked for (it would become a ``min_out`` that protects nothing);
    * ``priceImpactPct`` not a fraction within [0, 1);
    * the route plan's last hops delivering another amount than ``outAmount`` (e.g. the
      issue's ``outAmount = 1`` beside a real route).
    """
    if out_amount == 0:
        raise MalformedResponse("outAmount is 0", venue=VENUE)
    least = out_amount * (BPS_DENOMINATOR - req.slippage_bps) // BPS_DENOMINATOR
    if threshold < least - 1:
        raise MalformedResponse(
            f"otherAmountThreshold {threshold} is below outAmount {out_amount} less "
            f"slippageBps {req.slippage_bps} ({least})",
            venue=VENUE,
        )
    if price_impact is not None and not 0 <= price_impact < 1:
        raise MalformedResponse(f"priceImpactPct {price_impact} is not within [0, 1)", venue=VENUE)
    delivered = 0
    for step in q.list_("routePlan"):
        info = Obj(step, "routePlan[]", VENUE).obj("swapInfo")
        if info.pubkey("outputMint") == req.output_mint:
            delivered += info.u64("outAmount")
    if delivered == 0 or abs(delivered - out_amount) * BPS_DENOMINATOR > (
        delivered * PLAN_TOLERANCE_BPS
    ):
        raise MalformedResponse(
            f"outAmount {out_amount} but the route plan delivers {delivered}", venue=VENUE
        )


class JupiterVenue:
    """:class:`~cranks.venues.base.Venue` over Jupiter's Swap API."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        config: JupiterConfig | None = None,
        *,
        account_fetcher: AccountFetcher | None = None,
        slot_fetcher: SlotFetcher | None = None,
        sleep: SleepFn = asyncio.sleep,
        rand: RandFn = random.random,
        clock: ClockFn = time.time,
    ) -> None:
        self.config = config or JupiterConfig()
        self._http = JsonHttp(client, self.config.retry, sleep=sleep, rand=rand, clock=clock)
        self._chain = ChainReader(account_fetcher, venue=VENUE) if account_fetcher else None
        self._slot_fetcher = slot_fetcher
        self._clock = clock

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
        out_mint, epoch = await self._output_mint(output_mint)
        too_large: RouteTooLarge | None = None
        for max_accounts in self.config.max_accounts_steps:
            try:
                return await self._quote_once(req, max_accounts, out_mint, epoch)
            except RouteTooLarge as exc:
                log.info("jupiter: maxAccounts=%d gave %s; trying fewer", max_accounts, exc)
                too_large = exc
            except NoRoute as exc:
                if too_large is None:
                    raise
                raise RouteTooLarge(
                    f"routes need {too_large.accounts} accounts (limit {too_large.limit}); "
                    f"with maxAccounts={max_accounts} there is none: {exc}",
                    venue=VENUE,
                    accounts=too_large.accounts,
                    limit=too_large.limit,
                ) from exc
        assert too_large is not None  # the loop ran at least once and did not return
        raise too_large

    def ensure_fresh(self, route: Route) -> Route:
        """Raise :class:`QuoteExpired` if ``route`` is older than ``max_quote_age_s``."""
        return ensure_fresh(route, max_age_s=self.config.max_quote_age_s, now=self._clock())

    async def requote(self, route: Route) -> Route:
        """``route`` while fresh, else a new quote for the same request."""
        return await requote_if_stale(
            self, route, max_age_s=self.config.max_quote_age_s, clock=self._clock
        )

    # --- internals ------------------------------------------------------------------------

    async def _output_mint(self, mint: Pubkey) -> tuple[MintInfo | None, int | None]:
        if self._chain is None:
            return None, None
        info, epoch = await asyncio.gather(self._chain.mint(mint), self._chain.epoch())
        return info, epoch

    def _headers(self) -> dict[str, str]:
        headers = {"accept": "application/json"}
        if self.config.api_key:
            headers["x-api-key"] = self.config.api_key
        return headers

    async def _quote_once(
        self, req: QuoteRequest, max_accounts: int, out_mint: MintInfo | None, epoch: int | None
    ) -> Route:
        if self.config.api is JupiterApi.BUILD:
            answer = await self._build(req, max_accounts)
        else:
            answer = await self._v1(req, max_accounts)
        return await self._route(req, answer, out_mint, epoch)

    def _routing_params(self, req: QuoteRequest, max_accounts: int) -> dict[str, str]:
        cfg = self.config
        params = {
            "inputMint": str(req.input_mint),
            "outputMint": str(req.output_mint),
            "amount": str(req.amount_in),
            "slippageBps": str(req.slippage_bps),
            "maxAccounts": str(max_accounts),
        }
        if cfg.dexes:
            params["dexes"] = ",".join(cfg.dexes)
        if cfg.exclude_dexes:
            params["excludeDexes"] = ",".join(cfg.exclude_dexes)
        return params

    async def _build(self, req: QuoteRequest, max_accounts: int) -> _Answer:
        cfg = self.config
        params = self._routing_params(req, max_accounts)
        params[cfg.taker_param] = str(req.authority)
        params["wrapAndUnwrapSol"] = "false"
        params["destinationTokenAccount"] = str(req.destination)
        if cfg.payer is not None:
            params["payer"] = str(cfg.payer)
        payload = await call_json(
            self._http,
            VENUE,
            "GET",
            cfg.base_url.rstrip("/") + BUILD_PATH,
            params=params,
            headers=self._headers(),
            on_rejected=_rejection,
        )
        received = self._clock()
        _error_in_body(payload)
        top = Obj(payload, "build", VENUE)
        quoted_at = received
        meta = top.opt_obj("blockhashWithMetadata")
        fetched = meta.opt_obj("fetchedAt") if meta is not None else None
        if fetched is not None:
            server_time = fetched.int_("secs_since_epoch") + fetched.int_("nanos_since_epoch") / 1e9
            quoted_at = min(received, server_time)
        alts = top.opt_obj("addressesByLookupTableAddress")
        lookup_tables: tuple[Pubkey, ...] = ()
        if alts is not None:  # {table address: [addresses in it]}
            for table in alts.raw:
                alts.pubkey_list(table)
            lookup_tables = tuple(parse_pubkey(k, alts.where, VENUE) for k in alts.raw)
        return _Answer(
            quote=top,
            swap=decode_instruction(top.obj("swapInstruction")),
            compute_budget=decode_instructions(top, "computeBudgetInstructions"),
            setup=decode_instructions(top, "setupInstructions"),
            cleanup=self._cleanup(top, ("tokenLedgerInstruction", "tipInstruction")),
            lookup_tables=lookup_tables,
            quoted_at=quoted_at,
            context_slot=top.opt_int("contextSlot"),
            raw=top.raw,
        )

    async def _v1(self, req: QuoteRequest, max_accounts: int) -> _Answer:
        cfg = self.config
        base = cfg.base_url.rstrip("/")
        params = self._routing_params(req, max_accounts)
        params["swapMode"] = "ExactIn"
        params["restrictIntermediateTokens"] = str(cfg.restrict_intermediate_tokens).lower()
        if cfg.only_direct_routes:
            params["onlyDirectRoutes"] = "true"
        quote_payload = await call_json(
            self._http,
            VENUE,
            "GET",
            base + V1_QUOTE_PATH,
            params=params,
            headers=self._headers(),
            on_rejected=_rejection,
        )
        quoted_at = self._clock()
        _error_in_body(quote_payload)
        quote = Obj(quote_payload, "quote", VENUE)
        body: dict[str, object] = {
            "quoteResponse": quote.raw,
            "userPublicKey": str(req.authority),
            "wrapAndUnwrapSol": False,
            "useSharedAccounts": cfg.use_shared_accounts,
            "destinationTokenAccount": str(req.destination),
            "skipUserAccountsRpcCalls": True,
            "dynamicComputeUnitLimit": False,
            "asLegacyTransaction": False,
        }
        if cfg.payer is not None:
            body["payer"] = str(cfg.payer)
        ix_payload = await call_json(
            self._http,
            VENUE,
            "POST",
            base + V1_SWAP_INSTRUCTIONS_PATH,
            body=body,
            headers=self._headers(),
            on_rejected=_rejection,
        )
        _error_in_body(ix_payload)
        ixs = Obj(ix_payload, "swap-instructions", VENUE)
        lookup_tables = ixs.pubkey_list("addressLookupTableAddresses")
        return _Answer(
            quote=quote,
            swap=decode_instruction(ixs.obj("swapInstruction")),
            compute_budget=decode_instructions(ixs, "computeBudgetInstructions"),
            setup=decode_instructions(ixs, "setupInstructions"),
            cleanup=self._cleanup(ixs, ("tokenLedgerInstruction",)),
            lookup_tables=lookup_tables,
            quoted_at=quoted_at,
            context_slot=quote.opt_int("contextSlot"),
            raw={"quote": quote.raw, "swapInstructions": ixs.raw},
        )

    @staticmethod
    def _cleanup(top: Obj, extra_keys: tuple[str, ...]) -> tuple[Instruction, ...]:
        """cleanupInstruction, otherInstructions and any other extra instruction: a CPI can
        carry none of them, so they are collected to be refused."""
        out: list[Instruction] = []
        cleanup = top.opt_obj("cleanupInstruction")
        if cleanup is not None:
            out.append(decode_instruction(cleanup))
        if top.has("otherInstructions"):
            out.extend(decode_instructions(top, "otherInstructions"))
        for key in extra_keys:
            extra = top.opt_obj(key)
            if extra is not None:
                out.append(decode_instruction(extra))
        return tuple(out)

    async def _route(
        self, req: QuoteRequest, a: _Answer, out_mint: MintInfo | None, epoch: int | None
    ) -> Route:
        q = a.quote
        if q.pubkey("inputMint") != req.input_mint or q.pubkey("outputMint") != req.output_mint:
            raise MalformedResponse("quote is for another pair", venue=VENUE)
        if q.str_("swapMode") != "ExactIn":
            raise MalformedResponse(
                f"swapMode {q.str_('swapMode')!r}, expected ExactIn", venue=VENUE
            )
        in_amount = q.u64("inAmount")
        out_amount = q.u64("outAmount")
        threshold = q.u64("otherAmountThreshold")
        if q.int_("slippageBps") != req.slippage_bps:
            raise MalformedResponse(
                f"slippageBps {q.int_('slippageBps')}, asked {req.slippage_bps}", venue=VENUE
            )
        if threshold > out_amount:
            raise MalformedResponse(
                f"otherAmountThreshold {threshold} > outAmount {out_amount}", venue=VENUE
            )
        price_impact = q.decimal_str("priceImpactPct") if q.has("priceImpactPct") else None
        refuse_absurd(q, req, out_amount, threshold, price_impact)

        accounts = self._remaining_accounts(req, a.swap)
        if len(accounts) > self.config.account_limit:
            raise RouteTooLarge(
                f"swap instruction has {len(accounts)} accounts",
                venue=VENUE,
                accounts=len(accounts),
                limit=self.config.account_limit,
            )
        if a.setup or a.cleanup:
            raise UnsupportedRoute(
                f"route needs {len(a.setup)} setup and {len(a.cleanup)} cleanup/other "
                "instructions; a CPI cannot carry them",
                venue=VENUE,
            )
        await self._check_fresh(a)

        expected_out, min_out = out_amount, threshold
        if out_mint is not None:  # what arrives after the output mint's transfer fee
            expected_out = out_mint.received(out_amount, epoch)
            min_out = out_mint.received(threshold, epoch)
        route = Route(
            venue=VENUE,
            swap_program=a.swap.program_id,
            data=bytes(a.swap.data),
            accounts=accounts,
            in_amount=in_amount,
            expected_out=expected_out,
            min_out=min_out,
            price_impact=price_impact,
            quoted_at=a.quoted_at,
            expires_at=a.quoted_at + self.config.max_quote_age_s,
            request=req,
            context_slot=a.context_slot,
            address_lookup_tables=a.lookup_tables,
            compute_budget_instructions=a.compute_budget,
            raw_quote=a.raw,
        )
        return check_cpi_route(route, max_accounts=self.config.account_limit)

    def _remaining_accounts(self, req: QuoteRequest, swap: Instruction) -> tuple[AccountMeta, ...]:
        ata = set()
        if self.config.substitute_source_ata:
            ata = {
                associated_token_address(req.authority, req.input_mint, p) for p in TOKEN_PROGRAMS
            }
        out = []
        for m in swap.accounts:
            key = req.source if m.pubkey in ata else m.pubkey
            if m.is_signer and key != req.authority:
                raise UnsupportedRoute(f"swap needs signer {key}", venue=VENUE)
            out.append(AccountMeta(key, is_signer=False, is_writable=m.is_writable))
        return tuple(out)

    async def _check_fresh(self, a: _Answer) -> None:
        now = self._clock()
        age = now - a.quoted_at
        if age > self.config.max_quote_age_s:
            raise QuoteExpired(f"quote arrived {age:.1f}s old", venue=VENUE, age_s=age)
        if a.context_slot is not None and self._slot_fetcher is not None:
            lag = await self._slot_fetcher() - a.context_slot
            if lag > self.config.max_slot_lag:
                raise QuoteExpired(
                    f"quote contextSlot {a.context_slot} lags the cluster by {lag} slots",
                    venue=VENUE,
                    age_s=lag * 0.4,
                )
