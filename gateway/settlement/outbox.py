"""The settlement outbox: ``gw_calls`` rows (written in the same transaction that posts the
call's hold) go pending -> sending (claimed into a batch) -> settled (with transaction,
batch and proof). Before its transaction is sent, a batch is pinned in ``gw_batches``
(stream, sequence, root, count, total); a batch left ``sending`` by a worker that died is
re-sent as it was, at its pinned sequence. Rows go back to pending only when their batch can
never land (``RowReceipt.void``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db.engine import now_ms, reading
from gateway.db.schema import batches, calls
from gateway.settlement.chain_port import BatchPin, RowReceipt


@dataclass(frozen=True)
class OutboxRow:
    id: str
    model: str
    provider: str
    gross: int
    provider_amount: int
    creator_fee: int
    protocol_fee: int
    batch_id: str | None
    rail: str = "credits"


_COLS = (
    calls.c.id,
    calls.c.model,
    calls.c.provider,
    calls.c.gross,
    calls.c.provider_amount,
    calls.c.creator_fee,
    calls.c.protocol_fee,
    calls.c.batch_id,
    calls.c.rail,
)


class Outbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def stranded(self) -> dict[str, list[OutboxRow]]:
        """Rows claimed by a worker that never recorded the outcome, by batch id."""
        async with reading(self.engine) as conn:
            rows = (
                await conn.execute(
                    select(*_COLS).where(calls.c.state == "sending").order_by(calls.c.id)
                )
            ).all()
        out: dict[str, list[OutboxRow]] = {}
        for r in rows:
            row = OutboxRow(*r)
            out.setdefault(str(row.batch_id), []).append(row)
        return out

    async def groups(self) -> list[tuple[str, str, str]]:
        """(model, provider, rail) of the pending calls: one batch never mixes them."""
        async with reading(self.engine) as conn:
            rows = (
                await conn.execute(
                    select(calls.c.model, calls.c.provider, calls.c.rail)
                    .where(calls.c.state == "pending")
                    .group_by(calls.c.model, calls.c.provider, calls.c.rail)
                )
            ).all()
        return [(str(m), str(p), str(r)) for m, p, r in rows]

    async def claim(
        self, model: str, provider: str, batch_id: str, size: int, rail: str = "credits"
    ) -> list[OutboxRow]:
        async with self.engine.begin() as conn:
            ids = [
                r[0]
                for r in (
                    await conn.execute(
                        select(calls.c.id)
                        .where(
                            calls.c.state == "pending",
                            calls.c.model == model,
                            calls.c.provider == provider,
                            calls.c.rail == rail,
                        )
                        .order_by(calls.c.created_at, calls.c.id)
                        .limit(size)
                    )
                ).all()
            ]
            if not ids:
                return []
            await conn.execute(
                update(calls)
                .where(calls.c.id.in_(ids), calls.c.state == "pending")
                .values(state="sending", batch_id=batch_id, attempts=calls.c.attempts + 1)
            )
            rows = (
                await conn.execute(
                    select(*_COLS)
                    .where(calls.c.id.in_(ids), calls.c.batch_id == batch_id)
                    .order_by(calls.c.id)
                )
            ).all()
        return [OutboxRow(*r) for r in rows]

    async def pinned(self, batch_id: str) -> BatchPin | None:
        """The batch's recorded pin, if it was recorded (it may have been sent)."""
        async with reading(self.engine) as conn:
            row = (
                await conn.execute(
                    select(
                        batches.c.stream,
                        batches.c.sequence,
                        batches.c.root,
                        batches.c.count,
                        batches.c.total,
                    ).where(batches.c.id == batch_id, batches.c.state == "sending")
                )
            ).first()
        return None if row is None else BatchPin(str(row[0]), int(row[1]), str(row[2]), *row[3:])

    async def pin(self, batch_id: str, model: str, provider: str, rail: str, pin: BatchPin) -> None:
        """Record where the batch goes, before its transaction is sent."""
        async with self.engine.begin() as conn:
            await conn.execute(
                batches.insert().values(
                    id=batch_id,
                    model=model,
                    provider=provider,
                    rail=rail,
                    stream=pin.stream,
                    sequence=pin.sequence,
                    root=pin.root,
                    count=pin.count,
                    total=pin.total,
                    state="sending",
                    created_at=now_ms(),
                )
            )

    async def record(self, receipts: list[RowReceipt]) -> None:
        """Each row settled (with its split, transaction and proof), back to pending (void:
        its batch can never land) or left ``sending`` at its pinned sequence (may have
        landed: re-sent next round); the batch rows of ``gw_batches`` follow."""
        at = now_ms()
        async with self.engine.begin() as conn:
            settled: dict[str, str | None] = {}
            void: set[str] = set()
            for r in receipts:
                if r.split is None:
                    values: dict[str, object] = {"last_error": r.error}
                    if r.void:
                        values.update(state="pending", batch_id=None)
                        void.add(r.batch_id)
                    await conn.execute(
                        update(calls)
                        .where(calls.c.id == r.call_id, calls.c.state == "sending")
                        .values(**values)
                    )
                    continue
                if r.split.gross > 0:  # a row of the on-chain batch (free rows are not)
                    settled[r.batch_id] = r.signature
                await conn.execute(
                    update(calls)
                    .where(calls.c.id == r.call_id, calls.c.state == "sending")
                    .values(
                        state="settled",
                        # the call's attribution of its batch's on-chain split
                        provider_amount=r.split.provider,
                        creator_fee=r.split.creator,
                        protocol_fee=r.split.protocol,
                        tx_signature=r.signature,
                        batch_id=r.batch_id,
                        proof=r.proof,
                        settled_at=at,
                        last_error=r.error,
                    )
                )
            for batch_id, signature in settled.items():
                await conn.execute(
                    update(batches)
                    .where(batches.c.id == batch_id)
                    .values(state="settled", tx_signature=signature, settled_at=at)
                )
            for batch_id in void - settled.keys():
                await conn.execute(
                    update(batches)
                    .where(batches.c.id == batch_id, batches.c.state == "sending")
                    .values(state="void", settled_at=at)
                )

    async def backlog(self) -> tuple[int, int | None]:
        """(calls not yet settled, creation time of the oldest in ms)."""
        async with reading(self.engine) as conn:
            row = (
                await conn.execute(
                    select(func.count(), func.min(calls.c.created_at)).where(
                        calls.c.state != "settled"
                    )
                )
            ).one()
        return int(row[0]), (int(row[1]) if row[1] is not None else None)
