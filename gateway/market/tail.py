"""The program's events over the chart window, kept current from its transactions.

One ``getSignaturesForAddress`` on the program id per update (``until`` the newest seen)
lists what landed since; one ``getTransaction`` per new transaction reads its events. So an
update costs one call when nothing happened and grows with the transactions that landed,
never with the models listed. The first update reads back ``window_days`` of transactions
(at most ``max_transactions``).
"""

from __future__ import annotations

from collections.abc import Sequence

from solders.signature import Signature

from bourse_ops.common import Session
from bourse_ops.market_view import HistoryEntry, history_entries, signatures

DAY = 86_400


class EventTail:
    """Events newest first, as a whole and by model address."""

    def __init__(
        self, *, window_days: int, max_transactions: int = 50_000, concurrency: int = 8
    ) -> None:
        self.window_days = window_days
        self.max_transactions = max_transactions
        self.concurrency = concurrency
        self.entries: list[HistoryEntry] = []
        self.by_model: dict[str, list[HistoryEntry]] = {}
        self.newest: Signature | None = None

    def horizon(self, now: int) -> int:
        """The oldest block time kept: the start of the window's first UTC day."""
        return (now // DAY - (self.window_days - 1)) * DAY

    async def update(self, session: Session, now: int) -> int:
        """Read what landed since the last update; returns the transactions read."""
        since = self.horizon(now)
        sigs = await signatures(
            session,
            session.client.program_id,
            self.max_transactions,
            until=self.newest,
            since=since,
        )
        if sigs:
            fresh = await history_entries(session, sigs, concurrency=self.concurrency)
            self._add(fresh)
            self.newest = sigs[0][0]
        self._prune(since)
        return len(sigs)

    def _add(self, fresh: Sequence[HistoryEntry]) -> None:
        self.entries = [*fresh, *self.entries]
        grouped: dict[str, list[HistoryEntry]] = {}
        for e in fresh:
            model = e.fields.get("model")
            if isinstance(model, str):
                grouped.setdefault(model, []).append(e)
        for model, new in grouped.items():
            self.by_model[model] = new + self.by_model.get(model, [])

    def _prune(self, since: int) -> None:
        def keep(e: HistoryEntry) -> bool:
            return e.block_time is None or e.block_time >= since

        if self.entries and not keep(self.entries[-1]):
            self.entries = [e for e in self.entries if keep(e)]
            self.by_model = {
                m: kept for m, es in self.by_model.items() if (kept := [e for e in es if keep(e)])
            }

    def of_model(self, address: str) -> list[HistoryEntry]:
        return self.by_model.get(address, [])
