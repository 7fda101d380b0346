"""Fixtures: one localnet with the demo market and the stand-in upstreams per session; a
database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.harness import Chain, Upstreams, database_url, start_chain, start_upstreams


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    ctx, c = start_chain(tmp_path_factory.mktemp("gw-localnet"))
    try:
        yield c
    finally:
        ctx.__exit__(None, None, None)


@pytest.fixture(scope="session")
def upstreams() -> Iterator[Upstreams]:
    ups = start_upstreams()
    try:
        yield ups
    finally:
        for s in ups.servers.values():
            s.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(str(request.param), tmp_path)
