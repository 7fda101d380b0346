"""Group commit (``gateway/db/writer.py``): write functions submitted together commit in one
transaction, yet each caller gets its own outcome — a typed ledger error for a hold the
balance cannot cover, its own exception (and none of its writes) for a function that fails
half-way — and the balances stay exact. On SQLite (a batch on the event loop; a batch on the
writer thread while another connection holds the database lock) and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.engine import make_url

from gateway.db.engine import create_schema, make_engine, now_ms, reading
from gateway.db.schema import journal, users
from gateway.ledger import InsufficientFunds, Ledger


class HalfWay(Exception):
    pass


async def _batch(db: str, lock_for: float = 0.0) -> None:
    engine = make_engine(db)
    await create_schema(engine)
    ledger = Ledger(engine)
    try:
        uid = await ledger.ensure_user("batch")
        await ledger.credit(uid, 100, "grant", "g1")

        def half_way(conn: Connection) -> None:
            conn.execute(
                insert(journal).values(
                    user_id=uid,
                    kind="credit",
                    available_delta=10**6,
                    held_delta=0,
                    hold_id=None,
                    ref="must vanish",
                    at=now_ms(),
                )
            )
            raise HalfWay

        if lock_for:
            # Another connection (as another process would) holds the write lock for a while.
            other = sqlite3.connect(
                str(make_url(db).database), isolation_level=None, check_same_thread=False
            )
            other.execute("BEGIN IMMEDIATE")
            threading.Timer(lock_for, other.commit).start()
        holds = [asyncio.ensure_future(ledger.hold(uid, 30, 60_000)) for _ in range(6)]
        broken = asyncio.ensure_future(ledger.writer.run(half_way))
        outcomes = await asyncio.gather(*holds, return_exceptions=True)
        taken = [o for o in outcomes if not isinstance(o, BaseException)]
        refused = [o for o in outcomes if isinstance(o, InsufficientFunds)]
        assert len(taken) == 3 and len(refused) == 3
        assert all(e.available == 10 and e.needed == 30 for e in refused)
        assert isinstance((await asyncio.gather(broken, return_exceptions=True))[0], HalfWay)
        bal = await ledger.balance(uid)
        assert (bal.available, bal.held) == (10, 90)
        async with reading(engine) as conn:
            sums = (
                await conn.execute(
                    select(
                        func.sum(journal.c.available_delta), func.sum(journal.c.held_delta)
                    ).where(journal.c.user_id == uid)
                )
            ).one()
            row = (
                await conn.execute(select(users.c.available, users.c.held).where(users.c.id == uid))
            ).one()
        assert (int(sums[0]), int(sums[1])) == (10, 90) == (int(row[0]), int(row[1]))
        # and the batch did not leave the writer unusable
        await ledger.post(taken[0], 25)
        assert (await ledger.balance(uid)).available == 10 + 5
    finally:
        ledger.close()
        await engine.dispose()


def test_batched_writes_get_their_own_outcomes(db_url: str) -> None:
    asyncio.run(_batch(db_url))


def test_writes_wait_on_the_writer_thread_while_the_database_is_locked(tmp_path: Path) -> None:
    asyncio.run(_batch(f"sqlite+aiosqlite:///{tmp_path / 'locked.sqlite3'}", lock_for=0.5))
