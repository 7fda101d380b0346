"""Write transactions as one synchronous function of a connection, run where it is cheapest.

* SQLite (one writer at a time anyway), with **group commit**: the functions submitted
  together run in one ``BEGIN IMMEDIATE`` transaction, each inside its own savepoint, and
  one commit makes them all durable. Each caller still gets its own outcome: a function
  that raises rolls back to its savepoint (only its own writes) and its caller gets that
  exception; the others commit. No caller is answered before the commit that holds its
  writes. A lone function runs without a savepoint (its transaction is its own).

  Where a batch runs: the functions submitted during one turn of the event loop run at the
  start of its next turn, on the loop itself, on a connection that never waits for the
  database lock (``busy_timeout`` 0: no thread hand-off, nothing to wait for when this
  process is the only writer). If the database is locked (another process, or one of this
  process's ``aiosqlite`` transactions, which need the loop to finish), or the writer
  thread still has work, the batch goes to a single writer thread whose connection waits
  for the lock, and the functions queued while that thread was busy commit together.
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

from sqlalchemy import Connection, Engine, create_engine, event
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
        self._inline: Engine | None = None
        self._inline_conn: Connection | None = None
        self._home: asyncio.AbstractEventLoop | None = None
        self._pending: list[_Job] = []
        self._queued = 0  # jobs handed to the thread and not yet answered (loop side)
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        if engine.dialect.name == "sqlite":
            url = engine.url.set(drivername="sqlite")
            args = {"timeout": 30, "check_same_thread": False}
            self._sync = create_engine(url, connect_args=args, pool_reset_on_return=None)
            _sqlite_events(self._sync)
            self._inline = create_engine(url, connect_args=args, pool_reset_on_return=None)
            _sqlite_events(self._inline)
            event.listen(self._inline, "connect", _never_wait)

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in a transaction (its writes committed if it returns, rolled back if
        it raises)."""
        if self._sync is None:
            async with self.engine.begin() as conn:
                return await conn.run_sync(fn)
        loop = asyncio.get_running_loop()
        job = _Job(fn, loop.create_future())
        if self._home is None:
            self._home = loop
        if loop is self._home:
            self._pending.append(job)
            if len(self._pending) == 1:
                loop.call_soon(self._flush)
        else:
            self._to_thread([job])
        result: T = await job.future
        return result

    def _flush(self) -> None:
        """Run the jobs of the last loop turn here, or hand them to the thread."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        if self._queued == 0 and self._inline is not None:
            if self._inline_conn is None:
                self._inline_conn = self._inline.connect()
            try:
                ok = _commit(self._inline_conn, batch)
            except Exception:  # BEGIN IMMEDIATE found the database locked
                self._inline_conn.close()
                self._inline_conn = None
            else:
                if not ok:
                    self._inline_conn.close()
                    self._inline_conn = None
                _resolve(batch)
                return
        self._to_thread(batch)

    def _to_thread(self, batch: list[_Job]) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._loop, name="gw-sqlite-writer", daemon=True
                    )
                    self._thread.start()
        for job in batch:
            if job.future.get_loop() is self._home:
                self._queued += 1
            self._queue.put(job)

    def _done(self, jobs: list[_Job]) -> None:
        self._queued -= len(jobs)
        _resolve(jobs)

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
            try:
                ok = _commit(conn, batch)
            except BaseException as e:  # BEGIN failed
                for job in batch:
                    job.value = e
                ok = False
            if not ok:
                conn.close()  # start the next batch on a fresh connection
                conn = None
            self._answer(batch)
            if stop:
                break
        if conn is not None:
            conn.close()

    def _answer(self, batch: list[_Job]) -> None:
        """Hand each job's outcome to its event loop (one wake-up per loop)."""
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        for job in batch:
            by_loop.setdefault(job.future.get_loop(), []).append(job)
        for loop, jobs in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                if loop is self._home:
                    loop.call_soon_threadsafe(self._done, jobs)
                else:
                    loop.call_soon_threadsafe(_resolve, jobs)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._inline_conn is not None:
            self._inline_conn.close()
            self._inline_conn = None
        for engine in (self._sync, self._inline):
            if engine is not None:
                engine.dispose()


def _never_wait(dbapi_connection: Any, _record: Any) -> None:
    # After _sqlite_events' busy_timeout: the loop's connection fails at once when locked.
    dbapi_connection.execute("PRAGMA busy_timeout=0")


def _commit(conn: Connection, batch: list[_Job]) -> bool:
    """Run the batch in one transaction; False if the transaction failed after it began
    (then no job succeeded: each gets that error, or its own). Raises if it cannot begin."""
    tx = conn.begin()
    try:
        with tx:
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


def _resolve(jobs: list[_Job]) -> None:
    for job in jobs:
        if job.future.done():  # the caller was cancelled; the outcome stands
            continue
        if job.ok:
            job.future.set_result(job.value)
        else:
            job.future.set_exception(job.value)
