"""Swap venues for the buyback crank, behind one quote -> :class:`Route` interface.

* :class:`~cranks.venues.jupiter.JupiterVenue` (mainnet): Jupiter's Swap API.
* :class:`~cranks.venues.raydium.RaydiumVenue` (devnet): a Raydium CPMM pool, read on chain.
* :class:`~cranks.venues.local_pool.LocalPoolVenue` (localnet): our ``cp_pool`` program.

Import the venue modules themselves; this package only re-exports the interface.
"""

from __future__ import annotations

from cranks.venues.base import (
    BUYBACK_OWN_ACCOUNTS,
    MAX_REMAINING_ACCOUNTS,
    AccountFetcher,
    BuyLeg,
    QuoteRequest,
    Route,
    Venue,
    check_cpi_route,
    ensure_fresh,
    min_out_after_slippage,
    quote_request,
    requote_if_stale,
    tx_account_locks,
)
from cranks.venues.errors import (
    MalformedResponse,
    NoRoute,
    PriceDeviation,
    QuoteExpired,
    RateLimited,
    RequestRejected,
    RouteTooLarge,
    UnsupportedRoute,
    VenueError,
    VenueUnavailable,
)

__all__ = [
    "BUYBACK_OWN_ACCOUNTS",
    "MAX_REMAINING_ACCOUNTS",
    "AccountFetcher",
    "BuyLeg",
    "MalformedResponse",
    "NoRoute",
    "PriceDeviation",
    "QuoteExpired",
    "QuoteRequest",
    "RateLimited",
    "RequestRejected",
    "Route",
    "RouteTooLarge",
    "UnsupportedRoute",
    "Venue",
    "VenueError",
    "VenueUnavailable",
    "check_cpi_route",
    "ensure_fresh",
    "min_out_after_slippage",
    "quote_request",
    "requote_if_stale",
    "tx_account_locks",
]
