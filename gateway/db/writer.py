"""Write transactions as one synchronous function of a connection, run where it is cheapest.

* SQLite: on a single writer thread with the stdlib driver, so a whole transaction is one
  hand-off between the event loop and a thread (aiosqlite makes one per statement); SQLite
  admits one writer at a time anyway.
* PostgreSQL: ``AsyncConnection.run_sync`` on the event loop (asyncpg, no thread).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db.engine import _sqlite_events

T = TypeVar("T")


class Writer:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._executor: ThreadPoolExecutor | None = None
        self._sync = None
        if engine.dialect.name == "sqlite":
            url = engine.url.set(drivername="sqlite")
            self._sync = create_engine(
                url,
                connect_args={"timeout": 30, "check_same_thread": False},
                pool_reset_on_return=None,
            )
            _sqlite_events(self._sync)
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="gw-sqlite-writer")

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in one transaction (committed if it returns, rolled back if it raises)."""
        if self._sync is not None and self._executor is not None:
            sync = self._sync

            def tx() -> T:
                with sync.begin() as conn:
                    return fn(conn)

            return await asyncio.get_running_loop().run_in_executor(self._executor, tx)
        async with self.engine.begin() as conn:
            return await conn.run_sync(fn)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._sync is not None:
            self._sync.dispose()
