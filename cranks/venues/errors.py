"""Typed venue errors: the buyback crank catches these, never a bare ``Exception``."""

from __future__ import annotations


class VenueError(Exception):
    """Base of every venue error. ``venue`` names the venue that raised it."""

    def __init__(self, message: str, *, venue: str | None = None) -> None:
        super().__init__(message)
        self.venue = venue


class RateLimited(VenueError):
    """The venue kept answering 429. ``retry_after`` is its last requested wait, if any."""

    def __init__(
        self, message: str, *, venue: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, venue=venue)
        self.retry_after = retry_after


class VenueUnavailable(VenueError):
    """Timeouts, transport errors or 5xx answers until the attempts ran out."""


class MalformedResponse(VenueError):
    """Not JSON, a missing or ill-typed field, or an answer to a question we did not ask."""


class RequestRejected(VenueError):
    """A final 4xx answer that is not a known condition (bad API key, bad parameter...)."""

    def __init__(self, message: str, *, venue: str | None = None, status: int) -> None:
        super().__init__(message, venue=venue)
        self.status = status


class NoRoute(VenueError):
    """The venue has no route (or pool, or liquidity) for this pair and amount."""


class RouteTooLarge(VenueError):
    """The swap needs more accounts than buyback forwards to the swap program."""

    def __init__(
        self, message: str, *, venue: str | None = None, accounts: int, limit: int
    ) -> None:
        super().__init__(message, venue=venue)
        self.accounts = accounts
        self.limit = limit


class UnsupportedRoute(VenueError):
    """A route buyback cannot CPI into: setup or cleanup instructions, signers other than
    the swap authority, or a swap that does not spend from ``source`` into ``destination``."""


class QuoteExpired(VenueError):
    """The quote is older than allowed (or was already stale when it arrived)."""

    def __init__(self, message: str, *, venue: str | None = None, age_s: float) -> None:
        super().__init__(message, venue=venue)
        self.age_s = age_s


class PriceDeviation(VenueError):
    """Our quote and a reference quote differ by more than the configured tolerance."""

    def __init__(
        self,
        message: str,
        *,
        venue: str | None = None,
        ours: int,
        reference: int,
        deviation_bps: int,
    ) -> None:
        super().__init__(message, venue=venue)
        self.ours = ours
        self.reference = reference
        self.deviation_bps = deviation_bps
