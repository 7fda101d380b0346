"""Crash points for the crash tests: ``BOURSE_GATEWAY_CRASH_AT=<point>`` makes the process
die at once (``os._exit``, like SIGKILL: no cleanup, no flush) when it reaches that point.
Points: ``after_post`` (a call's ledger rows are committed, the answer not yet sent),
``after_pin`` (a settlement batch is pinned in the ledger — stream, sequence, root — and its
transaction not yet sent), ``after_chain`` (the batch landed on-chain, the outbox not yet
updated)."""

from __future__ import annotations

import os

_POINT = os.environ.get("BOURSE_GATEWAY_CRASH_AT", "")


def point(name: str) -> None:
    if name == _POINT:
        os._exit(137)
