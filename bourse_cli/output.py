"""Output in the mode ``--output`` asks for: JSON (one document on stdout, raw units, for
scripts and tests) or tables (rich, formatted amounts, for people)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from rich.console import Console, RenderableType
from rich.table import Table

from bourse_ops.common import format_amount

Json = Any
Renderer = Callable[[Json], RenderableType]


class OutputMode(StrEnum):
    table = "table"
    json = "json"


def stdout_console() -> Console:
    """A console on stdout; wide when stdout is not a terminal so addresses are not cut."""
    tty = sys.stdout.isatty()
    return Console(file=sys.stdout, width=None if tty else 200, soft_wrap=not tty)


def stderr_console() -> Console:
    return Console(file=sys.stderr, stderr=True)


class Output:
    """Writes a command's result in one mode."""

    def __init__(self, mode: OutputMode) -> None:
        self.mode = mode

    @property
    def json(self) -> bool:
        return self.mode is OutputMode.json

    def emit(self, data: Json, render: Renderer | None = None) -> None:
        if self.json:
            sys.stdout.write(json.dumps(data, indent=2) + "\n")
            sys.stdout.flush()
            return
        stdout_console().print(render(data) if render is not None else auto_table(data))

    def line(self, data: Json) -> None:
        """One compact JSON document per line (``--watch`` in JSON mode)."""
        sys.stdout.write(json.dumps(data) + "\n")
        sys.stdout.flush()


# ---------------------------------------------------------------------------- renderers


def usdc(micro: int | None) -> str:
    return "-" if micro is None else format_amount(micro, 6)


def tokens(raw: int | None, decimals: int | None) -> str:
    return "-" if raw is None else format_amount(raw, decimals or 0)


def key_values(title: str | None, rows: Sequence[tuple[str, Any]]) -> Table:
    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in rows:
        table.add_row(name, _cell(value))
    return table


def auto_table(data: Json, title: str | None = None) -> RenderableType:
    """A key/value table for a mapping, a column table for a list of mappings."""
    if isinstance(data, Mapping):
        return key_values(title, list(data.items()))
    if isinstance(data, list) and data and all(isinstance(r, Mapping) for r in data):
        columns = list(data[0].keys())
        table = Table(title=title)
        for c in columns:
            table.add_column(c, overflow="fold")
        for row in data:
            table.add_row(*(_cell(row.get(c)) for c in columns))
        return table
    if isinstance(data, list) and not data:
        return "(none)"
    return _cell(data)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)
