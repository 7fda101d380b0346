"""An older gateway's database (no ``gw_calls.rail``, no ``gw_batches``) is upgraded in place at
start, on SQLite and PostgreSQL: its rows keep their values and get the new columns'
defaults; upgrading again changes nothing; a column no ALTER can add is refused."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, inspect, select

from gateway.db import migrate
from gateway.db.engine import create_schema, make_engine, reading
from gateway.db.schema import calls, metadata
from gateway.settlement.outbox import Outbox

#: gw_calls as it was before the rail column
OLD_COLUMNS = [c for c in calls.columns if c.name != "rail"]


def _old_calls(md: MetaData) -> Table:
    return Table(
        "gw_calls",
        md,
        *[
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in OLD_COLUMNS
        ],
    )


ROW = {
    "id": "old-call",
    "user_id": 1,
    "hold_id": "h1",
    "model": "deepseek-chat",
    "provider": "P",
    "prompt_tokens": 10,
    "completion_tokens": 5,
    "usage_source": "upstream",
    "gross": 42,
    "provider_amount": 38,
    "creator_fee": 3,
    "protocol_fee": 1,
    "state": "pending",
    "attempts": 0,
    "created_at": 1,
}


def test_an_older_database_is_upgraded_in_place(db_url: str) -> None:
    async def run() -> None:
        engine = make_engine(db_url)
        try:
            old = MetaData()
            table = _old_calls(old)
            async with engine.begin() as conn:
                await conn.run_sync(old.create_all)
                await conn.execute(table.insert().values(**ROW))
            assert await create_schema(engine) == ["gw_calls.rail"]
            assert await create_schema(engine) == []  # idempotent
            async with reading(engine) as conn:
                row = (await conn.execute(select(calls).where(calls.c.id == "old-call"))).one()
                names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert row.rail == "credits" and row.gross == 42 and row.state == "pending"
            assert {t.name for t in metadata.sorted_tables} <= names  # gw_batches and the rest
            # the outbox reads the upgraded table
            assert await Outbox(engine).groups() == [("deepseek-chat", "P", "credits")]
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_a_column_no_alter_can_add_is_refused(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    md = MetaData()
    Table("gw_probe", md, Column("id", Integer, primary_key=True))
    grown = MetaData()
    Table(
        "gw_probe",
        grown,
        Column("id", Integer, primary_key=True),
        Column("note", String(8), nullable=True),
        Column("weight", BigInteger, nullable=False, server_default="7"),
        Column("must", BigInteger, nullable=False),
    )

    async def run() -> None:
        engine = make_engine(db_url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(md.create_all)
            monkeypatch.setattr(migrate, "metadata", grown)
            with pytest.raises(migrate.SchemaError, match=r"gw_probe\.must"):
                async with engine.begin() as conn:
                    await conn.run_sync(migrate.upgrade)
            async with reading(engine) as conn:
                cols = await conn.run_sync(
                    lambda c: [x["name"] for x in inspect(c).get_columns("gw_probe")]
                )
            assert cols == ["id"]  # rolled back as a whole
        finally:
            await engine.dispose()

    asyncio.run(run())
