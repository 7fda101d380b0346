"""The program's money rules in plain Python, the one production reference of them
(``idl/compute_market_spec.py`` states them for the program): usage charges and fees round up,
the provider gets the remainder. The gateway prices with these; tests compare chain state with
them."""

from __future__ import annotations

BPS = 10_000
TOKENS_PER_PRICE_UNIT = 1_000_000


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def expected_split(gross: int, protocol_bps: int, creator_bps: int) -> tuple[int, int, int]:
    """(provider, creator, protocol) of ``gross``."""
    protocol = ceil_div(gross * protocol_bps, BPS)
    creator = min(ceil_div(gross * creator_bps, BPS), gross - protocol)
    return gross - protocol - creator, creator, protocol


def usage_charge(price_in: int, price_out: int, tokens_in: int, tokens_out: int) -> int:
    """Charge for a usage at per-million-token prices (each part rounded up)."""
    return ceil_div(price_in * tokens_in, TOKENS_PER_PRICE_UNIT) + ceil_div(
        price_out * tokens_out, TOKENS_PER_PRICE_UNIT
    )
