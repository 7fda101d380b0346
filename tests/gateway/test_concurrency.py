"""200 parallel calls on a key funded for exactly 100: exactly 100 served, 100 refused with
402, the ledger exact (never an overdraft) — in one gateway, and across two gateway
processes sharing one PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import openai

from bourse_chain.money import usage_charge
from gateway.quote import PER_MESSAGE_OVERHEAD, PRIMING_OVERHEAD
from tests.gateway.harness import (
    Chain,
    Upstreams,
    call_rows,
    database_url,
    gateway_process,
    gateway_thread,
    journal_sums,
    settings_for,
    user_row,
    write_config,
)

N = 200
MAX_TOKENS = 32
MESSAGES = [{"role": "user", "content": "same prompt"}]


def _hold() -> int:
    # The request body openai-python sends for this call (compact JSON, same for each call).
    import json

    body = json.dumps(
        {"messages": MESSAGES, "model": "standin-a/deepseek-chat", "max_tokens": MAX_TOKENS},
        separators=(",", ":"),
    ).encode()
    bound_in = len(body) + PER_MESSAGE_OVERHEAD + PRIMING_OVERHEAD
    return usage_charge(270_000, 1_100_000, bound_in, MAX_TOKENS)


async def _burst(base_urls: list[str], key: str) -> list[int]:
    clients = [
        openai.AsyncOpenAI(base_url=u, api_key=key, max_retries=0, timeout=120) for u in base_urls
    ]

    async def one(i: int) -> int:
        try:
            await clients[i % len(clients)].chat.completions.create(
                model="standin-a/deepseek-chat",
                messages=MESSAGES,  # type: ignore[arg-type]
                max_tokens=MAX_TOKENS,
            )
            return 200
        except openai.APIStatusError as e:
            return e.status_code

    try:
        return list(await asyncio.gather(*(one(i) for i in range(N))))
    finally:
        for c in clients:
            await c.close()


def _check(db: str, user: str, funds: int, hold: int, statuses: list[int]) -> None:
    assert statuses.count(200) == N // 2, statuses
    assert statuses.count(402) == N // 2
    user_id, available, held = user_row(db, user)
    assert (available, held) == (0, 0)
    assert journal_sums(db, user_id) == (0, 0)
    rows = call_rows(db, user_id)
    assert len(rows) == N // 2
    assert all(r.gross == hold for r in rows)  # usage above the hold is capped at it
    assert sum(r.gross for r in rows) == funds


def test_exactly_the_funded_calls_are_served(
    chain: Chain, upstreams: Upstreams, db_url: str
) -> None:
    settings = settings_for(chain, upstreams, db_url, behaviours=("overuse", "good"))
    with gateway_thread(settings) as gw:
        hold = _hold()
        funds = hold * (N // 2)
        key = gw.new_key("crowd", credit=funds)
        statuses = asyncio.run(_burst([gw.base_url], key))
    _check(settings.db, "crowd", funds, hold, statuses)


def test_two_processes_on_one_postgres_never_overdraw(
    chain: Chain, upstreams: Upstreams, tmp_path: Path
) -> None:
    db = database_url("postgres", tmp_path)
    settings = settings_for(chain, upstreams, db, behaviours=("overuse", "good"), worker=False)
    config = write_config(settings, tmp_path / "gw.toml")
    procs = [gateway_process(config, tmp_path / f"gw{i}.log") for i in range(2)]
    try:
        hold = _hold()
        funds = hold * (N // 2)
        r = httpx.post(
            procs[0].url + "/api/admin/keys",
            json={"user": "crowd"},
            headers={"Authorization": f"Bearer {settings.admin_token}"},
        )
        key = r.json()["key"]
        g = httpx.post(
            procs[1].url + "/api/admin/credits",
            json={"user": "crowd", "amount": funds, "reference": "x"},
            headers={"Authorization": f"Bearer {settings.admin_token}"},
        )
        assert g.json()["credited"]
        statuses = asyncio.run(_burst([p.url + "/api/v1" for p in procs], key))
    finally:
        for p in procs:
            p.stop()
    _check(db, "crowd", funds, hold, statuses)
