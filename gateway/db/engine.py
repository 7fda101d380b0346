"""Engines for the two supported databases.

* SQLite (``sqlite+aiosqlite:///path``, the embedded default): WAL, and every transaction
  starts with ``BEGIN IMMEDIATE`` so writers queue on the database lock instead of failing
  on upgrade; a busy timeout makes other processes wait.
* PostgreSQL (``postgresql+asyncpg://…``): READ COMMITTED; every balance change is one
  conditional ``UPDATE … WHERE available >= :amount``, which row locks make atomic.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.db.migrate import upgrade

DEFAULT_SQLITE = "sqlite+aiosqlite:///bourse-gateway.sqlite3"
READ_OPTION = "bourse_read_only"


def normalize_url(url: str) -> str:
    """Accept plain ``sqlite:///`` / ``postgresql://`` URLs and pick the async drivers."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Every connection is used inside ``engine.begin()`` (commits or rolls back) or
    :func:`reading` (closing rolls back), so the pool's reset-on-return would only add a
    second rollback round trip per transaction: it is off."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_reset_on_return=None)
        _sqlite_events(engine)
        return engine
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_reset_on_return=None
    )


def _sqlite_events(engine: AsyncEngine | Engine) -> None:
    sync = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(sync, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver: we emit BEGIN IMMEDIATE ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync, "begin")
    def _begin(conn: Any) -> None:
        # Reads (see :func:`reading`) run in autocommit mode and never block writers.
        if not conn.get_execution_options().get(READ_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


async def create_schema(engine: AsyncEngine) -> list[str]:
    """Create missing tables and add missing columns (``gateway.db.migrate``: additive
    upgrades of an older gateway's database); idempotent, and safe when several processes
    start at once. Returns the ``table.column`` names added."""
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Serialize concurrent schema changes of processes starting together.
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(72120001)")
        return await conn.run_sync(upgrade)


def reading(engine: AsyncEngine) -> AsyncConnection:
    """A connection for reads only: on SQLite it takes no write lock (``engine.begin()`` is
    for writes: ``BEGIN IMMEDIATE``)."""
    return engine.execution_options(**{READ_OPTION: True}).connect()


def now_ms() -> int:
    return int(time.time() * 1000)
