"""Each payment is used once: the store the rail claims a payment id in before serving.

The facilitators' own duplicate caches live in memory for minutes; the gateway keeps its own,
durable one (its ledger implements this protocol, so a payment stays used across restarts and
across gateway processes). ``claim`` must be atomic (one winner among concurrent requests).
"""

from __future__ import annotations

from typing import Protocol


class ReplayStore(Protocol):
    async def claim(self, payment_id: str, *, payer: str, amount: int) -> bool:
        """Record the id as in use; False when it was already claimed (used or in flight)."""
        ...

    async def release(self, payment_id: str) -> None:
        """Forget a claim whose settlement was never attempted (the same payment may come back)."""
        ...

    async def record_settlement(self, payment_id: str, transaction: str | None) -> None:
        """The settlement was attempted: its transaction, or None when it failed.

        The id stays claimed either way: a settlement whose outcome is unsure must never be
        retried with the same signed transaction (it could land once and be served twice).
        """
        ...
