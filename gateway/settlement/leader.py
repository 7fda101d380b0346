"""Exactly one settlement worker at a time across processes sharing a database.

* PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) held on a dedicated
  connection; it is released when the process (or its connection) dies.
* SQLite: a lease row renewed by its holder and taken over once it has lapsed (SQLite has no
  advisory locks; the lease also covers several processes on one file).
"""

from __future__ import annotations

import uuid

from sqlalchemy import insert, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.db.engine import now_ms
from gateway.db.schema import leases

LOCK_KEY = 72120002


class Leadership:
    def __init__(self, engine: AsyncEngine, name: str = "settlement", lease_ms: int = 15_000):
        self.engine = engine
        self.name = name
        self.lease_ms = lease_ms
        self.me = uuid.uuid4().hex
        self._conn: AsyncConnection | None = None

    async def acquire(self) -> bool:
        """True while this process is the leader (call it before each round)."""
        if self.engine.dialect.name == "postgresql":
            return await self._advisory()
        return await self._lease()

    async def _advisory(self) -> bool:
        if self._conn is not None:
            try:
                await self._conn.execute(text("SELECT 1"))
                await self._conn.commit()
                return True
            except Exception:
                self._conn = None
        conn = await self.engine.connect()
        got = (await conn.execute(text(f"SELECT pg_try_advisory_lock({LOCK_KEY})"))).scalar()
        await conn.commit()
        if got:
            self._conn = conn
            return True
        await conn.close()
        return False

    async def _lease(self) -> bool:
        now = now_ms()
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(leases)
                .where(
                    leases.c.name == self.name,
                    (leases.c.holder == self.me) | (leases.c.expires_at < now),
                )
                .values(holder=self.me, expires_at=now + self.lease_ms)
            )
            if done.rowcount == 1:
                return True
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(leases).values(
                        name=self.name, holder=self.me, expires_at=now + self.lease_ms
                    )
                )
            return True
        except IntegrityError:
            return False

    async def release(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.execute(text(f"SELECT pg_advisory_unlock({LOCK_KEY})"))
                await self._conn.close()
            finally:
                self._conn = None
        elif self.engine.dialect.name != "postgresql":
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(leases)
                    .where(leases.c.name == self.name, leases.c.holder == self.me)
                    .values(expires_at=0)
                )
