"""Hot-path statements: SQLAlchemy Core statements compiled once per dialect and run straight
on the connection's DB-API cursor (sqlite3's, or SQLAlchemy's asyncpg adapter inside
``run_sync``), inside the caller's transaction.

``Connection.execute`` spends about 80 µs of Python per statement (parameter processing,
events, result wrapping) where the driver needs about 10; a paid call makes seven ledger
statements. Only statements whose parameters and results need no type processing belong
here (integers and strings: the ledger's columns). Inserts fill the columns they are not
given from the columns' scalar Python defaults, as ``Connection.execute`` would; columns
with neither a value nor such a default are left to the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Insert, Table, insert
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    #: Values of the statement's own literals (``state == "pending"``), by bind name.
    literals: dict[str, Any]

    def args(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        lit = self.literals
        return tuple(params[n] if n in params else lit[n] for n in self.names)


class Prepared:
    """``stmt`` with its bind parameters named; ``first`` / ``run`` take them as a mapping."""

    def __init__(self, stmt: ClauseElement) -> None:
        self.stmt = stmt
        self._compiled: dict[tuple[str, frozenset[str]], _Compiled] = {}

    def _defaults(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        return params

    def _column_keys(self, params: Mapping[str, Any]) -> list[str] | None:
        return None

    def _compile(self, conn: Connection, params: Mapping[str, Any]) -> _Compiled:
        key = (conn.dialect.name, frozenset(params))
        found = self._compiled.get(key)
        if found is None:
            compiled = cast(
                SQLCompiler,
                self.stmt.compile(
                    dialect=conn.dialect,
                    column_keys=self._column_keys(params),
                    for_executemany=True,
                ),
            )
            names = tuple(compiled.positiontup or ())
            literals = {n: compiled.binds[n].effective_value for n in set(names) if n not in params}
            found = _Compiled(compiled.string, names, literals)
            self._compiled[key] = found
        return found

    def _execute(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        params = self._defaults(params)
        c = self._compile(conn, params)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(c.sql, c.args(params))
        return cursor

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row the statement returns (``RETURNING``), or None."""
        cursor = self._execute(conn, params)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else tuple(row)

    def run(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Execute; the number of rows it changed."""
        cursor = self._execute(conn, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()


class PreparedInsert(Prepared):
    """``INSERT INTO table`` of the given columns plus those with a scalar Python default."""

    def __init__(self, table: Table) -> None:
        stmt: Insert = insert(table)
        super().__init__(stmt)
        self.scalar_defaults = {
            c.key: c.default.arg  # type: ignore[attr-defined]
            for c in table.columns
            if c.default is not None and c.default.is_scalar
        }

    def _defaults(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        missing = self.scalar_defaults.keys() - params.keys()
        if not missing:
            return params
        return {**{k: self.scalar_defaults[k] for k in missing}, **params}

    def _column_keys(self, params: Mapping[str, Any]) -> list[str] | None:
        return sorted(params)
