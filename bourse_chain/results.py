"""Typed results of the client and the settlement API.

:class:`Split` checks its own arithmetic, so an inconsistent split can never be built:

>>> Split(gross=1_000, provider=890, creator=100, protocol=10, refund=500).hold
1500
>>> Split(gross=1_000, provider=900, creator=100, protocol=10, refund=0)
Traceback (most recent call last):
...
ValueError: split parts 1010 != gross 1000
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey
from solders.signature import Signature


@dataclass(frozen=True)
class TxResult:
    """A landed, successful transaction.

    ``compute_units`` and ``fee`` come from the transaction's own status meta (None when the
    node did not report them); ``events`` are the program's events decoded from its logs, in
    emission order.  ``cu_limit`` / ``cu_price`` are what the client set (None: not set);
    ``attempts`` counts signings (1 unless the blockhash expired and it was re-signed).
    """

    signature: Signature
    slot: int
    compute_units: int | None
    fee: int | None
    logs: tuple[str, ...]
    events: tuple[object, ...]
    cu_limit: int | None = None
    cu_price: int | None = None
    attempts: int = 1

    @property
    def logs_truncated(self) -> bool:
        """Whether the node cut the logs (10 KB per transaction): later events are missing."""
        return "Log truncated" in self.logs

    def events_of(self, kind: type[object]) -> list[object]:
        """The events of one class, in order."""
        return [e for e in self.events if isinstance(e, kind)]


@dataclass(frozen=True)
class Simulation:
    """What a successful simulation reported."""

    units_consumed: int | None
    logs: tuple[str, ...]
    events: tuple[object, ...]


@dataclass(frozen=True)
class Split:
    """Where one settlement's money went, in micro-USDC.

    ``gross`` is what was charged; it is split into ``provider`` + ``creator`` (the model's
    revenue vault) + ``protocol`` (treasury), exactly.  ``refund`` is what went back to the
    payer (the unspent hold of an order; 0 for a collected payment), so ``hold`` =
    ``gross + refund``.  Fees round up and the provider takes the remainder.
    """

    gross: int
    provider: int
    creator: int
    protocol: int
    refund: int = 0

    def __post_init__(self) -> None:
        for name in ("gross", "provider", "creator", "protocol", "refund"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"split {name} must be a non-negative int, got {value!r}")
        parts = self.provider + self.creator + self.protocol
        if parts != self.gross:
            raise ValueError(f"split parts {parts} != gross {self.gross}")

    @property
    def hold(self) -> int:
        return self.gross + self.refund

    def check_hold(self, hold: int) -> Split:
        """Return self, raising ``ValueError`` unless ``gross + refund == hold``."""
        if self.hold != hold:
            raise ValueError(f"split gross {self.gross} + refund {self.refund} != hold {hold}")
        return self

    @classmethod
    def refund_only(cls, hold: int) -> Split:
        """The split of a released hold: nothing charged, everything refunded."""
        return cls(gross=0, provider=0, creator=0, protocol=0, refund=hold)


@dataclass(frozen=True)
class Hold:
    """An open order: ``amount`` micro-USDC escrowed from ``payer_token`` until ``expires_at``.

    ``signature`` is the open_order transaction when this call sent it (None when an
    existing order was found for the idempotency key).
    """

    order: Pubkey
    payer: Pubkey
    payer_token: Pubkey
    model: Pubkey
    provider: Pubkey
    offer: Pubkey
    nonce: int
    amount: int
    price_input_per_mtok: int
    price_output_per_mtok: int
    opened_at: int
    expires_at: int
    signature: Signature | None = None
