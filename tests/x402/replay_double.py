"""An in-memory :class:`gateway.x402.ReplayStore`, for tests only (the ledger is the real one)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class InMemoryReplayStore:
    claimed: dict[str, tuple[str, int]] = field(default_factory=dict)
    settled: dict[str, str | None] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def claim(self, payment_id: str, *, payer: str, amount: int) -> bool:
        async with self._lock:
            if payment_id in self.claimed:
                return False
            self.claimed[payment_id] = (payer, amount)
            return True

    async def release(self, payment_id: str) -> None:
        async with self._lock:
            if payment_id in self.settled:
                raise AssertionError(f"{payment_id} was released after a settlement attempt")
            self.claimed.pop(payment_id, None)
            self.released.append(payment_id)

    async def record_settlement(self, payment_id: str, transaction: str | None) -> None:
        async with self._lock:
            assert payment_id in self.claimed
            self.settled[payment_id] = transaction
