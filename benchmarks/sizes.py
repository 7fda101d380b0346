"""The command line of the benchmarks measured over model counts: ``python -m benchmarks.X
[N ...]`` prints the report; with the default sizes it also rewrites the committed ``.md``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def run_sizes(
    argv: Sequence[str] | None,
    default: tuple[int, ...],
    report: Callable[[tuple[int, ...]], str],
    out: Path,
) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    sizes = tuple(int(a) for a in args) or default
    text = report(sizes)
    sys.stdout.write(text)
    if sizes == default:
        out.write_text(text)
    return 0
