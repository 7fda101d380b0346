"""The settlement worker: every ``interval`` seconds, if this process is the leader, it
re-sends batches a dead worker left half-done (at the stream sequence they were pinned to),
then claims batches of at most ``size`` pending calls per (model, provider, rail), pins each
in the ledger (stream, sequence, root) and settles it through the :class:`ChainPort`.
Every process also expires overdue holds and refreshes the ledger gauges."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

from solders.pubkey import Pubkey

from bourse_chain.results import Split
from gateway import faults
from gateway.ledger import Ledger
from gateway.metrics import Metrics
from gateway.settlement.chain_port import BatchRow, ChainPort, RowReceipt
from gateway.settlement.leader import Leadership
from gateway.settlement.outbox import Outbox, OutboxRow

log = logging.getLogger("bourse.gateway.settlement")


class SettlementWorker:
    def __init__(
        self,
        ledger: Ledger,
        outbox: Outbox,
        port: ChainPort | None,
        metrics: Metrics,
        *,
        interval: float,
        size: int,
    ) -> None:
        self.ledger = ledger
        self.outbox = outbox
        self.port = port
        self.metrics = metrics
        self.interval = interval
        self.size = max(1, size)
        self.leader = Leadership(ledger.engine)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.leader.release()

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("settlement round failed")
                self.metrics.settle_errors.inc()
            await asyncio.sleep(self.interval)

    async def run_once(self) -> int:
        """One round; returns how many calls it settled."""
        expired = await self.ledger.expire()
        if expired:
            self.metrics.holds.labels("expired").inc(expired)
        settled = 0
        if self.port is not None and await self.leader.acquire():
            for batch_id, rows in (await self.outbox.stranded()).items():
                log.info(
                    "re-sending batch %s left by a dead worker (%d calls)", batch_id, len(rows)
                )
                settled += await self._send(batch_id, rows)
            for model, provider, rail in await self.outbox.groups():
                while True:
                    batch_id = uuid.uuid4().hex
                    rows = await self.outbox.claim(model, provider, batch_id, self.size, rail)
                    if not rows:
                        break
                    settled += await self._send(batch_id, rows)
                    if len(rows) < self.size:
                        break
        await self._gauges()
        return settled

    async def _send(self, batch_id: str, rows: list[OutboxRow]) -> int:
        assert self.port is not None
        free = [RowReceipt(r.id, _zero(), None, batch_id, None) for r in rows if r.gross == 0]
        paid = [r for r in rows if r.gross > 0]
        receipts = list(free)
        if paid:
            receipts += await self._settle_paid(batch_id, paid)
        faults.point("after_chain")
        by_id = {r.id: r for r in rows}
        for rec in receipts:
            row = by_id[rec.call_id]
            if rec.split is not None and rec.split.gross != row.gross:
                log.error("on-chain amount of %s differs from the ledger's: %s", row.id, rec.split)
        await self.outbox.record(receipts)
        done = sum(1 for r in receipts if r.split is not None)
        self.metrics.settled.inc(done)
        errors = {r.error for r in receipts if r.split is None}
        if errors:
            log.warning("batch %s: %d calls not settled: %s", batch_id, len(rows) - done, errors)
        log.info("settled batch %s: %d of %d calls", batch_id, done, len(rows))
        return done

    async def _settle_paid(self, batch_id: str, paid: list[OutboxRow]) -> list[RowReceipt]:
        """Pin the batch (stream, sequence, root) in the ledger unless a dead worker already
        did, then send it at that sequence."""
        assert self.port is not None
        first = paid[0]
        provider = Pubkey.from_string(first.provider)
        rows = [BatchRow(r.id, r.gross) for r in paid]
        pin = await self.outbox.pinned(batch_id)
        if pin is None:
            try:
                pin = await self.port.plan(first.model, provider, rows)
            except Exception as e:  # nothing recorded, nothing sent: back to the outbox
                err = f"{type(e).__name__}: {e}"
                return [RowReceipt(r.id, None, None, batch_id, None, err, True) for r in paid]
            await self.outbox.pin(batch_id, first.model, first.provider, first.rail, pin)
        faults.point("after_pin")
        return await self.port.settle_batch(
            first.model, provider, batch_id, rows, pin, rail=first.rail
        )

    async def _gauges(self) -> None:
        pending, oldest = await self.outbox.backlog()
        self.metrics.settlement_pending.set(pending)
        self.metrics.settlement_lag.set(0 if oldest is None else time.time() - oldest / 1000)
        for bucket, value in (await self.ledger.totals()).items():
            self.metrics.ledger.labels(bucket).set(value)


def _zero() -> Split:
    return Split(gross=0, provider=0, creator=0, protocol=0)
