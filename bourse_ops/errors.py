"""The scripts' own errors: each says, in the user's words, what is wrong and what to do.

All are :class:`~bourse_chain.errors.BourseError`, so callers catching our errors catch these.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from bourse_chain.errors import BourseError

LAMPORTS_PER_SOL = 1_000_000_000
USDC_UNIT = 1_000_000


def sol(lamports: int) -> str:
    """``1.5 SOL`` from lamports (up to 9 decimals, trailing zeros dropped)."""
    return f"{_decimal(lamports, 9)} SOL"


def usdc(micro: int) -> str:
    """``0.27 USDC`` from micro-USDC."""
    return f"{_decimal(micro, 6)} USDC"


def _decimal(value: int, decimals: int) -> str:
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**decimals)
    text = f"{whole:,}"
    if frac:
        text += "." + f"{frac:0{decimals}d}".rstrip("0")
    return sign + text


class ScriptError(BourseError):
    """Base of the scripts' errors."""


class InvalidInput(ScriptError):
    """An argument the program would refuse (caught before sending anything)."""


class NotInitialized(ScriptError):
    """The compute market has no config account on this cluster."""

    def __init__(self, url: str, detail: str = "") -> None:
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"the compute market is not initialized on {url}{extra}: run `bourse admin init`"
        )


class UnknownModel(ScriptError):
    def __init__(self, slug: str, address: Pubkey | None = None) -> None:
        self.slug = slug
        where = f" (no model account at {address})" if address is not None else ""
        super().__init__(f"unknown model slug {slug!r}{where}; `bourse market list` shows them")


class UnknownProvider(ScriptError):
    def __init__(self, authority: Pubkey) -> None:
        super().__init__(
            f"no provider registered for {authority}: run `bourse provider register` first"
        )


class AlreadyExists(ScriptError):
    """Something the command would create exists already."""


class InsufficientSol(ScriptError):
    def __init__(self, account: Pubkey, lamports: int) -> None:
        self.account = account
        self.lamports = lamports
        super().__init__(
            f"insufficient SOL: {account} holds {sol(lamports)}, not enough for fees and rent; "
            f"fund it (e.g. `solana airdrop 1 {account}` on devnet or localnet)"
        )


class InsufficientUsdc(ScriptError):
    def __init__(self, account: Pubkey | None, balance: int | None, needed: int | None) -> None:
        self.account = account
        self.balance = balance
        self.needed = needed
        has = (
            f"{account} holds {usdc(balance)}"
            if account is not None and balance is not None
            else ""
        )
        need = f"{usdc(needed)} needed" if needed is not None else ""
        detail = ", ".join(x for x in (need, has) if x)
        super().__init__(f"insufficient USDC{': ' + detail if detail else ''}")


class FeeAboveCap(ScriptError):
    def __init__(self, what: str, bps: int, cap: int) -> None:
        self.bps = bps
        self.cap = cap
        super().__init__(
            f"fee above cap: {what} of {bps} bps is above the cap of {cap} bps "
            "fixed when the market was initialized"
        )
