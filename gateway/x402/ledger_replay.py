"""The gateway's durable :class:`gateway.x402.ReplayStore`: the ``gw_x402_payments`` table.

``claim`` is one INSERT (the primary key makes it atomic: among concurrent requests, in one
process or several, exactly one wins), ``release`` one DELETE of a claim whose settlement was
never attempted, ``record_settlement`` one UPDATE. Works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db.engine import now_ms, reading
from gateway.db.schema import calls
from gateway.db.writer import Writer
from gateway.db.x402_payments import x402_payments

CLAIMED = "claimed"
SETTLED = "settled"
FAILED = "failed"


class LedgerReplayStore:
    """Replay protection in the ledger's database (share the ledger's ``writer``)."""

    def __init__(self, engine: AsyncEngine, writer: Writer) -> None:
        self.engine = engine
        self.writer = writer

    async def claim(self, payment_id: str, *, payer: str, amount: int) -> bool:
        row = {
            "payment_id": payment_id,
            "payer": payer,
            "amount": amount,
            "state": CLAIMED,
            "tx_signature": None,
            "claimed_at": now_ms(),
            "settled_at": None,
        }

        def tx(conn: Connection) -> None:
            conn.execute(insert(x402_payments), row)

        try:
            await self.writer.run(tx)
        except IntegrityError:
            return False
        return True

    async def release(self, payment_id: str) -> None:
        def tx(conn: Connection) -> None:
            conn.execute(
                delete(x402_payments).where(
                    x402_payments.c.payment_id == payment_id, x402_payments.c.state == CLAIMED
                )
            )

        await self.writer.run(tx)

    async def record_settlement(self, payment_id: str, transaction: str | None) -> None:
        values = {
            "state": SETTLED if transaction else FAILED,
            "tx_signature": transaction,
            "settled_at": now_ms(),
        }

        def tx(conn: Connection) -> None:
            conn.execute(
                update(x402_payments)
                .where(x402_payments.c.payment_id == payment_id)
                .values(**values)
            )

        await self.writer.run(tx)

    async def state(self, payment_id: str) -> tuple[str, str | None] | None:
        """(state, transaction) of a payment id, None when unknown."""
        async with reading(self.engine) as conn:
            row = (
                await conn.execute(
                    select(x402_payments.c.state, x402_payments.c.tx_signature).where(
                        x402_payments.c.payment_id == payment_id
                    )
                )
            ).first()
        return None if row is None else (str(row[0]), row[1])

    async def unrecorded(self) -> list[tuple[str, str]]:
        """(payment id, transaction) of payments settled into an inbox whose call has no
        outbox row (a process that died between /settle and the ledger write): that USDC
        waits, unattributed, in the inbox until an operator records it."""
        async with reading(self.engine) as conn:
            rows = (
                await conn.execute(
                    select(x402_payments.c.payment_id, x402_payments.c.tx_signature)
                    .outerjoin(calls, calls.c.id == x402_payments.c.payment_id)
                    .where(x402_payments.c.state == SETTLED, calls.c.id.is_(None))
                    .order_by(x402_payments.c.settled_at)
                )
            ).all()
        return [(str(p), str(t)) for p, t in rows]
