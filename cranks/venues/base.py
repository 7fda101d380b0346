"""One interface for every swap venue: quote -> :class:`Route` -> buyback's remaining accounts.

The compute market's ``buyback`` instruction takes a swap program id, the swap's instruction
data and the swap's accounts (as remaining accounts, in order). It CPIs into the swap signing
with the model PDA, which is the authority of the model's USDC revenue vault (the swap's
source) and of its buyback vault (the destination), then checks that the USDC taken is at
most ``amount_in`` and that the tokens that *arrived* are at least ``min_out``.

A :class:`Route` is therefore everything the crank needs to build that call, and nothing a
CPI cannot carry: routes that need setup or cleanup instructions, that need a signer other
than the authority, or that need more accounts than buyback forwards are refused with a
typed error (see :mod:`cranks.venues.errors`). A route's size is bounded twice: buyback forwards
at most :data:`MAX_REMAINING_ACCOUNTS` entries, and the whole transaction may lock at most
``MAX_TX_ACCOUNT_LOCKS`` (64) distinct accounts. Routes of more than ~20 accounts do not fit a
1,232-byte transaction by their keys alone: the crank loads them through address lookup
tables (the venue's, and its own: :mod:`cranks.lookup`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from bourse_chain.tx import MAX_TX_ACCOUNT_LOCKS
from cranks.venues.errors import (
    MalformedResponse,
    QuoteExpired,
    RouteTooLarge,
    UnsupportedRoute,
    VenueError,
)

log = logging.getLogger(__name__)

#: Remaining accounts buyback forwards to the swap program at most
#: (``MAX_CPI_ACCOUNTS`` in program/sdk/cpi.rs: the runtime's CPI account-info limit).
MAX_REMAINING_ACCOUNTS = 128
#: Accounts of a buyback transaction besides the route's own (whose model PDA, vaults and
#: swap program are counted with it): the crank, the config, the compute-market program and
#: the ComputeBudget program.
BUYBACK_OWN_ACCOUNTS = 4

U64_MAX = 2**64 - 1
BPS_DENOMINATOR = 10_000

#: ``async (address) -> account data, or None when the account does not exist``.
AccountFetcher = Callable[[Pubkey], Awaitable[bytes | None]]
ClockFn = Callable[[], float]


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    """What the crank asked for; kept on the route so it can be re-quoted."""

    input_mint: Pubkey
    output_mint: Pubkey
    amount_in: int
    slippage_bps: int
    authority: Pubkey
    source: Pubkey
    destination: Pubkey

    def __post_init__(self) -> None:
        if not 0 < self.amount_in <= U64_MAX:
            raise ValueError(f"amount_in must be within 1..u64::MAX, got {self.amount_in}")
        if not 0 <= self.slippage_bps < BPS_DENOMINATOR:
            raise ValueError(f"slippage_bps must be within 0..9999, got {self.slippage_bps}")
        if self.input_mint == self.output_mint:
            raise ValueError("input and output mint are the same")
        if self.source == self.destination:
            raise ValueError("source and destination are the same account")


#: Accounts ``buyback_sol`` adds to a transaction besides the two legs' own: the buyer PDA,
#: its WSOL account, the WSOL mint, SPL Token, the ATA program and the System program.
BUYBACK_SOL_OWN_ACCOUNTS = 6


@dataclass(frozen=True, slots=True)
class BuyLeg:
    """The second CPI of ``buyback_sol`` (a SOL-paired coin): the buy that spends the SOL the
    first leg (the route's own swap, USDC -> WSOL) brought, signed by the model's data-less
    buyer PDA. ``accounts`` follow the first leg's in ``buyback_sol``'s remaining accounts."""

    program: Pubkey
    data: bytes
    accounts: tuple[AccountMeta, ...]


@dataclass(frozen=True, slots=True)
class Route:
    """A quoted swap, ready to be wrapped in ``buyback``.

    ``accounts`` are buyback's remaining accounts, in order. The authority (the model PDA)
    appears there with ``is_signer=False``: a PDA cannot sign the outer transaction, and
    buyback marks it signer for the CPI itself. :meth:`swap_instruction` gives the inner
    instruction as the swap program will see it.

    Amounts are raw token units. ``in_amount`` is what leaves ``source``; ``expected_out``
    and ``min_out`` are what *arrives* in ``destination`` (after any Token-2022 transfer
    fee of the output mint), ``min_out`` after slippage: it is buyback's ``min_out``.
    ``price_impact`` is a fraction (0.01 = 1%), ``None`` when the venue does not say.
    ``quoted_at`` and ``expires_at`` are unix seconds.
    """

    venue: str
    swap_program: Pubkey
    data: bytes
    accounts: tuple[AccountMeta, ...]
    in_amount: int
    expected_out: int
    min_out: int
    price_impact: float | None
    quoted_at: float
    expires_at: float
    request: QuoteRequest
    context_slot: int | None = None
    address_lookup_tables: tuple[Pubkey, ...] = ()
    compute_budget_instructions: tuple[Instruction, ...] = ()
    setup_instructions: tuple[Instruction, ...] = ()
    cleanup_instructions: tuple[Instruction, ...] = ()
    #: Idempotent instructions the crank sends first, in a transaction of its own that it
    #: pays for (accounts a venue charges to the swapping user, which a PDA cannot pay:
    #: pump.fun's per-user volume accumulators, the staging USDC account).
    prepare_instructions: tuple[Instruction, ...] = ()
    #: Set for SOL-paired coins: the crank sends ``buyback_sol`` (this route's swap is its
    #: USDC -> WSOL leg, ``request.destination`` is reached by the buy leg).
    buy_leg: BuyLeg | None = None
    raw_quote: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def remaining_accounts(self) -> list[AccountMeta]:
        """The accounts to append to ``buyback``, in order."""
        return list(self.accounts)

    def swap_instruction(self) -> Instruction:
        """The swap as the swap program receives it (authority signing)."""
        authority = self.request.authority
        metas = [
            AccountMeta(
                m.pubkey, is_signer=m.is_signer or m.pubkey == authority, is_writable=m.is_writable
            )
            for m in self.accounts
        ]
        return Instruction(self.swap_program, self.data, metas)

    def age(self, now: float) -> float:
        return now - self.quoted_at

    def is_expired(self, now: float) -> bool:
        return now >= self.expires_at


@runtime_checkable
class Venue(Protocol):
    """A place to swap. Implementations raise :class:`~cranks.venues.errors.VenueError`s."""

    @property
    def name(self) -> str: ...

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
    ) -> Route: ...


def min_out_after_slippage(expected_out: int, slippage_bps: int) -> int:
    """``floor(expected_out * (10000 - slippage_bps) / 10000)``: rounding favours the buyer."""
    return expected_out * (BPS_DENOMINATOR - slippage_bps) // BPS_DENOMINATOR


def tx_account_locks(route: Route) -> int:
    """Distinct accounts the buyback transaction carrying ``route`` locks."""
    req = route.request
    keys = {m.pubkey for m in route.accounts}
    keys |= {req.authority, req.source, req.destination, route.swap_program}
    if route.buy_leg is None:
        return len(keys) + BUYBACK_OWN_ACCOUNTS
    keys |= {m.pubkey for m in route.buy_leg.accounts} | {route.buy_leg.program}
    return len(keys) + BUYBACK_OWN_ACCOUNTS + BUYBACK_SOL_OWN_ACCOUNTS


def check_cpi_route(route: Route, *, max_accounts: int = MAX_REMAINING_ACCOUNTS) -> Route:
    """Refuse a route buyback cannot execute; return it unchanged otherwise.

    Checks: no setup or cleanup instructions; at most ``max_accounts`` accounts, and at most
    ``MAX_TX_ACCOUNT_LOCKS`` distinct ones in the whole transaction; the
    authority present; no signer in the remaining accounts (the authority's signature is
    supplied by buyback; any other signer would need the crank's key inside the swap);
    ``source`` and ``destination`` present and writable; ``0 < min_out <= expected_out``.
    """
    req = route.request
    if route.setup_instructions or route.cleanup_instructions:
        raise UnsupportedRoute(
            f"route needs {len(route.setup_instructions)} setup and "
            f"{len(route.cleanup_instructions)} cleanup instructions; a CPI cannot carry them",
            venue=route.venue,
        )
    leg = route.buy_leg
    for accounts in (route.accounts, () if leg is None else leg.accounts):
        if len(accounts) > max_accounts:
            raise RouteTooLarge(
                f"route needs {len(accounts)} accounts, buyback forwards {max_accounts}",
                venue=route.venue,
                accounts=len(accounts),
                limit=max_accounts,
            )
    if len(route.accounts) > max_accounts:
        raise RouteTooLarge(
            f"route needs {len(route.accounts)} accounts, buyback forwards {max_accounts}",
            venue=route.venue,
            accounts=len(route.accounts),
            limit=max_accounts,
        )
    keys = [m.pubkey for m in route.accounts]
    locks = tx_account_locks(route)
    if locks > MAX_TX_ACCOUNT_LOCKS:
        raise RouteTooLarge(
            f"route needs {locks} distinct accounts in the buyback transaction, "
            f"a transaction locks at most {MAX_TX_ACCOUNT_LOCKS}",
            venue=route.venue,
            accounts=locks,
            limit=MAX_TX_ACCOUNT_LOCKS,
        )
    every = route.accounts + (() if leg is None else leg.accounts)
    signers = [m.pubkey for m in every if m.is_signer]
    if signers:
        raise UnsupportedRoute(
            f"route needs signers {[str(s) for s in signers]} besides the authority",
            venue=route.venue,
        )
    if req.authority not in keys:
        raise UnsupportedRoute("the swap authority is not among the accounts", venue=route.venue)
    for label, key in (("source", req.source), ("destination", req.destination)):
        metas = [m for m in every if m.pubkey == key]
        if not metas:
            raise UnsupportedRoute(f"{label} {key} is not among the accounts", venue=route.venue)
        if not any(m.is_writable for m in metas):
            raise UnsupportedRoute(f"{label} {key} is not writable", venue=route.venue)
    if route.in_amount != req.amount_in:
        raise MalformedResponse(
            f"route spends {route.in_amount}, asked to spend {req.amount_in}", venue=route.venue
        )
    if route.min_out <= 0:
        raise VenueError(
            f"min_out is {route.min_out}: the amount is too small to buy anything",
            venue=route.venue,
        )
    if route.min_out > route.expected_out:
        raise MalformedResponse(
            f"min_out {route.min_out} > expected_out {route.expected_out}", venue=route.venue
        )
    return route


def ensure_fresh(route: Route, *, max_age_s: float, now: float | None = None) -> Route:
    """Raise :class:`QuoteExpired` if the route is older than ``max_age_s`` or past expiry."""
    t = time.time() if now is None else now
    age = route.age(t)
    if age > max_age_s or route.is_expired(t):
        raise QuoteExpired(
            f"{route.venue} quote is {age:.1f}s old (limit {max_age_s:.1f}s)",
            venue=route.venue,
            age_s=age,
        )
    return route


async def quote_request(venue: Venue, req: QuoteRequest) -> Route:
    """``venue.quote`` with the arguments of ``req``."""
    return await venue.quote(
        req.input_mint,
        req.output_mint,
        req.amount_in,
        req.slippage_bps,
        authority=req.authority,
        source=req.source,
        destination=req.destination,
    )


async def requote_if_stale(
    venue: Venue, route: Route, *, max_age_s: float, clock: ClockFn = time.time
) -> Route:
    """``route`` if it is younger than ``max_age_s``, else a fresh quote for the same request.

    The fresh quote is itself checked: a venue answering with an already-stale quote
    raises :class:`QuoteExpired` rather than looping.
    """
    try:
        return ensure_fresh(route, max_age_s=max_age_s, now=clock())
    except QuoteExpired as exc:
        log.info("re-quoting on %s: %s", route.venue, exc)
    fresh = await quote_request(venue, route.request)
    return ensure_fresh(fresh, max_age_s=max_age_s, now=clock())
