"""Schema upgrades of existing databases, additive only.

The tables are :data:`gateway.db.schema.metadata`; a database made by an older gateway gets
the tables it lacks from ``create_all`` and the columns it lacks from one
``ALTER TABLE … ADD COLUMN`` each (their DDL from the same metadata, so a new column must be
nullable or carry a ``server_default`` — the rows already there take it). Idempotent: it reads
the columns first, so running it at every start is a no-op once the database is current.
Anything else (a renamed or retyped column, a new index on an old table) is not additive and
needs a hand-written migration — see docs/gateway.md.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect
from sqlalchemy.schema import CreateColumn

from gateway.db.schema import metadata


class SchemaError(RuntimeError):
    """The database lacks a column no additive upgrade can add."""


def upgrade(conn: Connection) -> list[str]:
    """Create missing tables, add missing columns; returns ``table.column`` of those added."""
    metadata.create_all(conn)
    inspector = inspect(conn)
    prepare = conn.dialect.identifier_preparer
    added = []
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable and column.server_default is None:
                raise SchemaError(
                    f"{table.name}.{column.name} is NOT NULL without a server default: "
                    "an older database cannot gain it by ALTER TABLE; migrate it by hand"
                )
            ddl = CreateColumn(column).compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {prepare.format_table(table)} ADD COLUMN {ddl}")
            added.append(f"{table.name}.{column.name}")
    return added
