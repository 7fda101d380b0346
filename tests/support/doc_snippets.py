"""Run a Markdown document's ```python blocks in order, as one program with top-level
``await`` (as ``python -m asyncio`` does). Used by the tests that keep docs/ runnable."""

from __future__ import annotations

import ast
import re
import types

_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(text: str) -> list[str]:
    return [m.group(1) for m in _BLOCK.finditer(text)]


async def run_block(source: str, namespace: dict[str, object], where: str) -> None:
    """Run one block in ``namespace`` (our own documentation, nothing from outside)."""
    code = compile(source, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)
    if isinstance(result, types.CoroutineType):
        await result
