"""Identifier and text helpers for the generator."""

from __future__ import annotations

import keyword
import re
import textwrap

LINE = 100


def snake(name: str) -> str:
    """``ModelStatus`` -> ``model_status``; ``initConfig`` -> ``init_config``."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return safe(re.sub(r"[^0-9A-Za-z_]", "_", s).lower())


def pascal(name: str) -> str:
    """``initialize_config`` -> ``InitializeConfig``; ``ModelStatus`` stays."""
    parts = re.split(r"[^0-9A-Za-z]+|_", name)
    out = "".join(p[:1].upper() + p[1:] for p in parts if p)
    return safe(out)


def upper(name: str) -> str:
    return snake(name).rstrip("_").upper()


def safe(name: str, reserved: frozenset[str] = frozenset()) -> str:
    """A valid identifier: keywords and reserved names get a trailing underscore."""
    if not name or name[0].isdigit():
        name = "_" + name
    while keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in reserved:
        name += "_"
    return name


def docstring(lines: list[str] | tuple[str, ...], indent: str) -> list[str]:
    """A docstring as source lines, each given line wrapped; ``""`` makes a blank line."""
    width = LINE - len(indent) - 6
    wrapped: list[str] = []
    for raw in lines:
        text = raw.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
        if not text:
            if wrapped and wrapped[-1]:
                wrapped.append("")
            continue
        wrapped += textwrap.wrap(text, width=width, break_long_words=False)
    while wrapped and not wrapped[-1]:
        wrapped.pop()
    if not wrapped:
        return []
    if wrapped[-1].endswith('"'):
        wrapped[-1] = wrapped[-1][:-1] + '\\"'
    if wrapped[0].startswith('"'):
        wrapped[0] = "\\" + wrapped[0]
    if len(wrapped) == 1:
        return [f'{indent}"""{wrapped[0]}"""']
    out = [f'{indent}"""{wrapped[0]}']
    out += [f"{indent}{w}" if w else "" for w in wrapped[1:]]
    out.append(f'{indent}"""')
    return out


def comment(lines: list[str] | tuple[str, ...], indent: str, prefix: str = "#: ") -> list[str]:
    text = " ".join(x.strip() for x in lines if x.strip())
    if not text:
        return []
    width = LINE - len(indent) - len(prefix)
    return [f"{indent}{prefix}{w}" for w in textwrap.wrap(text, width=width)]
