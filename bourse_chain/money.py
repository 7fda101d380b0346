"""The program's money rules in plain Python, the one production reference of them
(``idl/compute_market_spec.py`` states them for the program).

* :func:`expected_split` — the split of one gross amount (an order's charge or a batch's
  total): the protocol fee is ``ceil(G * p / 10_000)``, taken first; the creator fee is
  ``ceil(G * c / 10_000)`` capped by what is left; the provider gets the remainder. So with
  ``G = 1`` and both fees non-zero the protocol gets 1 and the creator and provider 0.
* :func:`usage_charge` — an order's charge for a usage: each part rounded up.
* :func:`attribute` — a batch's split attributed to its calls (cumulative floors, protocol
  over the amounts, creator over what the protocol left): every part is ``>= 0``, each call's
  parts sum to its amount, and each part sums over the calls to the batch's split exactly.

The gateway prices with these; tests compare chain state with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

BPS = 10_000
TOKENS_PER_PRICE_UNIT = 1_000_000


class Parts(NamedTuple):
    """(provider, creator, protocol) micro-USDC of one amount."""

    provider: int
    creator: int
    protocol: int


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def expected_split(gross: int, protocol_bps: int, creator_bps: int) -> Parts:
    """(provider, creator, protocol) of ``gross``.

    >>> expected_split(100, 100, 500)
    Parts(provider=94, creator=5, protocol=1)
    >>> expected_split(1, 100, 500)
    Parts(provider=0, creator=0, protocol=1)
    """
    protocol = ceil_div(gross * protocol_bps, BPS)
    creator = min(ceil_div(gross * creator_bps, BPS), gross - protocol)
    return Parts(gross - protocol - creator, creator, protocol)


def batch_split(amounts: Sequence[int], protocol_bps: int, creator_bps: int) -> Parts:
    """The split of a batch: one :func:`expected_split` of its total (what settle_batch pays)."""
    return expected_split(sum(amounts), protocol_bps, creator_bps)


def call_share(prefix: int, amount: int, total: int, split: Parts) -> Parts:
    """The share of a batch's ``split`` attributed to one call of ``amount`` whose batch
    predecessors sum to ``prefix`` (a batch of ``total``): see :func:`attribute`. Needs only
    what the call's Merkle leaf and the batch's on-chain event hold."""
    if amount <= 0 or prefix < 0 or prefix + amount > total:
        raise ValueError(f"call ({prefix}, {amount}) is not inside a batch of {total}")
    fees = split.protocol
    p_before = fees * prefix // total
    p_after = fees * (prefix + amount) // total
    rest_total = total - fees
    r_before = prefix - p_before
    r_after = r_before + amount - (p_after - p_before)
    c_before = split.creator * r_before // rest_total if rest_total else 0
    c_after = split.creator * r_after // rest_total if rest_total else 0
    protocol = p_after - p_before
    creator = c_after - c_before
    return Parts(amount - protocol - creator, creator, protocol)


def attribute(amounts: Sequence[int], split: Parts) -> list[Parts]:
    """Each call's share of its batch's ``split``, in batch order.

    With ``P, C`` the batch's protocol and creator fees, ``T`` its total and ``A_i`` the
    prefix sums of the amounts: ``protocol_i = floor(P*A_i/T) - floor(P*A_(i-1)/T)``; with
    ``r_i = amount_i - protocol_i`` and its prefix sums ``R_i = A_i - floor(P*A_i/T)``:
    ``creator_i = floor(C*R_i/(T-P)) - floor(C*R_(i-1)/(T-P))`` (0 when ``T == P``);
    ``provider_i = r_i - creator_i``. Every part is ``>= 0`` and the sums telescope to the
    batch's split.

    >>> split = batch_split([1] * 4, 100, 500)  # total 4: provider 2, creator 1, protocol 1
    >>> [tuple(p) for p in attribute([1] * 4, split)]
    [(1, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)]
    """
    total = sum(amounts)
    if total != sum(split):
        raise ValueError(f"split {split} is not of a batch of {total}")
    out: list[Parts] = []
    prefix = 0
    for amount in amounts:
        out.append(call_share(prefix, amount, total, split))
        prefix += amount
    return out


def usage_charge(price_in: int, price_out: int, tokens_in: int, tokens_out: int) -> int:
    """Charge for a usage at per-million-token prices (each part rounded up)."""
    return ceil_div(price_in * tokens_in, TOKENS_PER_PRICE_UNIT) + ceil_div(
        price_out * tokens_out, TOKENS_PER_PRICE_UNIT
    )
