"""Write transactions as one synchronous function of a connection, run where it is cheapest.

* SQLite: on a single writer thread with the stdlib driver (aiosqlite makes one thread
  hand-off per statement; SQLite admits one writer at a time anyway), with **group commit**:
  the functions queued while the thread was busy run together in one ``BEGIN IMMEDIATE``
  transaction, each inside its own savepoint, and one commit makes them all durable. Each
  caller still gets its own outcome: a function that raises rolls back to its savepoint
  (only its own writes) and its caller gets that exception; the others commit. No caller
  is answered before the commit that holds its writes. A lone function runs without a
  savepoint (its transaction is its own).
* PostgreSQL: ``AsyncConnection.run_sync`` on the event loop (asyncpg, no thread), one
  transaction per function.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db.engine import _sqlite_events

T = TypeVar("T")

#: Most functions in one transaction (bounds a batch's lock time and rollback cost).
MAX_BATCH = 256


@dataclass
class _Job:
    fn: Callable[[Connection], Any]
    future: asyncio.Future[Any]
    ok: bool = False
    value: Any = None


class Writer:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sync: Engine | None = None
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        if engine.dialect.name == "sqlite":
            url = engine.url.set(drivername="sqlite")
            self._sync = create_engine(
                url,
                connect_args={"timeout": 30, "check_same_thread": False},
                pool_reset_on_return=None,
            )
            _sqlite_events(self._sync)

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in a transaction (its writes committed if it returns, rolled back if
        it raises)."""
        if self._sync is None:
            async with self.engine.begin() as conn:
                return await conn.run_sync(fn)
        job = _Job(fn, asyncio.get_running_loop().create_future())
        self._start()
        self._queue.put(job)
        result: T = await job.future
        return result

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._loop, name="gw-sqlite-writer", daemon=True
                    )
                    self._thread.start()

    def _loop(self) -> None:
        assert self._sync is not None
        conn: Connection | None = None
        while True:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                batch.append(job)
            if conn is None:
                conn = self._sync.connect()
            if not _commit(conn, batch):
                conn.close()  # start the next batch on a fresh connection
                conn = None
            _answer(batch)
            if stop:
                break
        if conn is not None:
            conn.close()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._sync is not None:
            self._sync.dispose()


def _commit(conn: Connection, batch: list[_Job]) -> bool:
    """Run the batch in one transaction; False if the transaction itself failed (then no
    job succeeded: each gets that error, or its own)."""
    try:
        with conn.begin():
            if len(batch) == 1:
                job = batch[0]
                try:
                    job.value, job.ok = job.fn(conn), True
                except BaseException as e:
                    job.value = e
                    raise
            else:
                raw = conn.connection.dbapi_connection
                assert raw is not None
                for job in batch:
                    raw.execute("SAVEPOINT gw_job")
                    try:
                        job.value, job.ok = job.fn(conn), True
                    except Exception as e:
                        raw.execute("ROLLBACK TO gw_job")
                        job.value = e
                    raw.execute("RELEASE gw_job")
    except BaseException as e:
        if len(batch) == 1 and batch[0].value is e:
            return True  # the lone job's own error, rolled back
        for job in batch:
            if job.ok:  # its writes were in the failed transaction
                job.value, job.ok = e, False
            elif job.value is None:
                job.value = e
        return False
    return True


def _answer(batch: list[_Job]) -> None:
    """Hand each job's outcome to its event loop (one wake-up per loop)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
    for job in batch:
        by_loop.setdefault(job.future.get_loop(), []).append(job)
    for loop, jobs in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_resolve, jobs)


def _resolve(jobs: list[_Job]) -> None:
    for job in jobs:
        if job.future.done():  # the caller was cancelled; the outcome stands
            continue
        if job.ok:
            job.future.set_result(job.value)
        else:
            job.future.set_exception(job.value)
