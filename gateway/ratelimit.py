"""Per-key token buckets (in this process): ``per_minute`` sustained, ``burst`` at once."""

from __future__ import annotations

import math
import time


class RateLimiter:
    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(1, burst)
        self._buckets: dict[int, tuple[float, float]] = {}

    def take(self, key_id: int) -> float:
        """0 when allowed, else the seconds to wait before the next request is."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        tokens, last = self._buckets.get(key_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key_id] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key_id] = (tokens, now)
        return (1.0 - tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
