"""Range checks of integer options, before anything is sent: a value outside what the
program's field can hold (or what makes sense) is a one-line error naming the option,
never an encoder's ``ValueError: ushort format requires ...``."""

from __future__ import annotations

from bourse_cli.errors import CliError

U64_MAX = 2**64 - 1
I64_MAX = 2**63 - 1
#: Basis points: 0 to 100%.
BPS_MAX = 10_000


def in_range(option: str, value: int | None, low: int, high: int) -> None:
    """``CliError`` unless ``low <= value <= high`` (``None``: option not given)."""
    if value is not None and not low <= value <= high:
        raise CliError(f"{option} {value} is out of range: it must be {low:,} to {high:,}")


def bps(option: str, value: int | None) -> None:
    in_range(option, value, 0, BPS_MAX)
