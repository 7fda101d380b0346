"""The buyback's reference price: what one transaction (or one lying quote) cannot move.

Each cycle the crank quotes a small *probe* amount of USDC for every model it may buy back
and records the probe's price (tokens that arrive per micro-USDC, exact fractions) in its
crash-safe state, at the chain's clock. The reference is the **median** of the recorded
observations that are at most ``max_age_secs`` old; observations closer than
``min_spacing_secs`` to the previous one are not recorded, so a burst of cycles (restarts,
``--once`` in a loop) records one. An attacker must therefore hold the price displaced over
most of the window, for minutes, to move the reference; one transaction moves at most one
observation, which the median ignores.

A buyback is executed only at a price within ``max_deviation_bps`` of the reference
(:func:`deviation_bps`): a quote worse than that is shrunk (:func:`smaller_amount`: its own
price impact is part of the deviation, so the amount per cycle follows the pool's depth) and
refused if even the smallest amount deviates. The ``min_out`` sent to the program is at
least :func:`floor_out` (the reference less the tolerance), so a price moved *after* the
quote, or a venue answering ``min_out = 1``, makes the transaction fail instead of filling.

Why this removes the sandwich profit: in a constant-product pool with input fee ``f``, a
front-run of ``A`` USDC before a buy of ``B`` gains about ``A * (2B/R - 2f)`` (``R`` the USDC
reserve). Every buy is bounded by ``B/R <= max_deviation`` less the front-run's own move, so
with ``max_deviation <= f`` the sandwich loses money for every ``A``
(``tests/unit/test_crank_reference.py`` checks it exactly on the pool's integer math).

Pure functions: :mod:`cranks.buyback` does the I/O, :mod:`cranks.state` the persistence.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol, TypeVar

BPS = 10_000
#: Re-quotes of a smaller amount while the price deviates from the reference.
MAX_SHRINK_STEPS = 6


class Quoted(Protocol):
    """What a quote says (a :class:`~cranks.venues.base.Route` is one)."""

    @property
    def in_amount(self) -> int: ...

    @property
    def expected_out(self) -> int: ...


Q = TypeVar("Q", bound=Quoted)


@dataclass(frozen=True, slots=True)
class Observation:
    """One probe: ``amount_in`` micro-USDC quoted to deliver ``amount_out`` tokens at ``at``
    (the chain's unix time)."""

    at: int
    amount_in: int
    amount_out: int

    def __post_init__(self) -> None:
        if self.amount_in <= 0 or self.amount_out < 0:
            raise ValueError(f"observation amounts must be positive: {self}")

    @property
    def price(self) -> Fraction:
        """Tokens per micro-USDC, rounded *up* by one token unit: the quote's output was
        rounded down, and a reference lower than the true price would let the crank pay
        more (a probe delivering few raw units is then stricter, never looser)."""
        return Fraction(self.amount_out + 1, self.amount_in)

    def to_json(self) -> list[int]:
        return [self.at, self.amount_in, self.amount_out]

    @classmethod
    def from_json(cls, raw: object) -> Observation:
        if not (isinstance(raw, list) and len(raw) == 3 and all(isinstance(x, int) for x in raw)):
            raise ValueError(f"not an observation: {raw!r}")
        return cls(raw[0], raw[1], raw[2])


@dataclass(frozen=True, slots=True)
class ReferencePolicy:
    """The reference guard's knobs (``[buyback]`` settings of the crank's config)."""

    #: Observations kept per model.
    window: int = 5
    #: Observations needed before any buyback; 0 turns the guard off.
    min_observations: int = 3
    #: An observation closer than this to the previous one is not recorded.
    min_spacing_secs: int = 240
    #: Observations older than this are dropped.
    max_age_secs: int = 21_600
    #: Execution price at most this much worse than the reference.
    max_deviation_bps: int = 25

    def __post_init__(self) -> None:
        if not 0 <= self.min_observations <= self.window:
            raise ValueError("min_observations must be within 0..window")
        if not 0 <= self.max_deviation_bps < BPS:
            raise ValueError("max_deviation_bps must be within 0..9999")
        if self.min_spacing_secs < 0 or self.max_age_secs <= 0:
            raise ValueError("min_spacing_secs must be >= 0 and max_age_secs > 0")

    @property
    def enabled(self) -> bool:
        return self.min_observations > 0


def fresh(history: Sequence[Observation], now: int, policy: ReferencePolicy) -> list[Observation]:
    """The observations still usable at ``now`` (none from the future: a clock set back
    does not let old entries live forever)."""
    return [o for o in history if 0 <= now - o.at <= policy.max_age_secs]


def admit(
    history: Sequence[Observation], new: Observation, policy: ReferencePolicy
) -> list[Observation]:
    """``history`` after recording ``new``: aged-out entries dropped, ``new`` kept only if
    at least ``min_spacing_secs`` after the newest kept one, at most ``window`` entries."""
    kept = fresh(history, new.at, policy)
    if kept and new.at - max(o.at for o in kept) < policy.min_spacing_secs:
        return kept[-policy.window :]
    return [*kept, new][-policy.window :]


def reference_price(
    history: Sequence[Observation], now: int, policy: ReferencePolicy
) -> Fraction | None:
    """The median price of the fresh observations; ``None`` while fewer than
    ``min_observations`` (or the guard is off)."""
    usable = fresh(history, now, policy)
    if not policy.enabled or len(usable) < policy.min_observations:
        return None
    return Fraction(statistics.median(o.price for o in usable))


def deviation_bps(reference: Fraction, amount_in: int, amount_out: int) -> Fraction:
    """How much worse than the reference ``amount_in -> amount_out`` is, in bps (negative:
    better)."""
    if reference <= 0:
        raise ValueError("the reference price must be positive")
    return (1 - Fraction(amount_out, amount_in) / reference) * BPS


def within(reference: Fraction, amount_in: int, amount_out: int, max_deviation_bps: int) -> bool:
    return deviation_bps(reference, amount_in, amount_out) <= max_deviation_bps


def floor_out(reference: Fraction, amount_in: int, max_deviation_bps: int) -> int:
    """The least output a buy of ``amount_in`` may deliver: the reference less the
    tolerance, rounded up (the program's ``min_out``)."""
    return math.ceil(reference * amount_in * (BPS - max_deviation_bps) / BPS)


def smaller_amount(amount_in: int, deviation: Fraction, max_deviation_bps: int) -> int:
    """The next amount to try after ``amount_in`` deviated by ``deviation`` bps: a price
    impact grows about linearly with the amount, so scale it to 90% of the tolerance;
    always strictly smaller."""
    if deviation <= 0:
        return amount_in - 1
    scaled = math.floor(amount_in * Fraction(max_deviation_bps) / deviation * Fraction(9, 10))
    return max(0, min(scaled, amount_in - 1))


async def within_reference(
    quote: Q,
    requote: Callable[[int], Awaitable[Q]],
    reference: Fraction,
    max_deviation_bps: int,
    *,
    smallest: int = 1,
    steps: int = MAX_SHRINK_STEPS,
) -> Q | None:
    """``quote`` if its price is within the tolerance of ``reference``, else the quote of a
    smaller amount (``requote(amount)``, at most ``steps`` times, never below ``smallest``)
    that is; ``None`` when there is none."""
    for _ in range(steps):
        deviation = deviation_bps(reference, quote.in_amount, quote.expected_out)
        if deviation <= max_deviation_bps:
            return quote
        amount = smaller_amount(quote.in_amount, deviation, max_deviation_bps)
        if amount < max(1, smallest):
            return None
        quote = await requote(amount)
    ok = within(reference, quote.in_amount, quote.expected_out, max_deviation_bps)
    return quote if ok else None
