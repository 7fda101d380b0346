"""Crash safety with real processes: the gateway killed during a call, between the ledger
write and settlement, and in the middle of a settlement batch — nothing lost, nothing
settled twice."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from gateway.db.schema import holds
from tests.gateway.harness import (
    ADMIN_TOKEN,
    Chain,
    Process,
    Upstreams,
    balances,
    call_rows,
    gateway_process,
    journal_sums,
    read_db,
    settings_for,
    user_row,
    wait_settled,
    watched_accounts,
    write_config,
)

FUNDS = 3_000_000


def _key(p: Process, user: str) -> str:
    h = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    key = httpx.post(p.url + "/api/admin/keys", json={"user": user}, headers=h).json()["key"]
    g = httpx.post(
        p.url + "/api/admin/credits",
        json={"user": user, "amount": FUNDS, "reference": user},
        headers=h,
    )
    assert g.json()["credited"]
    return str(key)


def _call(p: Process, key: str, content: str = "hi") -> httpx.Response:
    return httpx.post(
        p.url + "/api/v1/chat/completions",
        json={
            "model": "standin-a/deepseek-chat",
            "messages": [{"role": "user", "content": content}],
            "stream": False,
        },
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def _wait(pred: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_killed_during_a_call_the_hold_expires_and_nothing_is_charged(
    chain: Chain, upstreams: Upstreams, db_url: str, tmp_path: Path
) -> None:
    settings = settings_for(
        chain,
        upstreams,
        db_url,
        behaviours=("slow", "good"),
        upstream_first_byte_timeout=20.0,
        hold_ttl_seconds=2.0,
    )
    config = write_config(settings, tmp_path / "gw.toml")
    p = gateway_process(config, tmp_path / "gw.log")
    key = _key(p, "victim")
    failed: list[BaseException] = []

    def doomed_call() -> None:
        try:
            _call(p, key)
        except httpx.HTTPError as e:
            failed.append(e)

    t = threading.Thread(target=doomed_call)
    t.start()
    user_id, _, _ = user_row(db_url, "victim")
    _wait(lambda: user_row(db_url, "victim")[2] > 0)  # the hold is taken, upstream is slow
    p.kill()
    t.join()
    assert failed  # the client saw the connection die
    _, available, held = user_row(db_url, "victim")
    assert held > 0 and available == FUNDS - held
    p = gateway_process(config, tmp_path / "gw.log")
    try:
        _wait(lambda: user_row(db_url, "victim")[1:] == (FUNDS, 0), timeout=30)
    finally:
        p.stop()
    (hold,) = read_db(db_url, select(holds.c.state).where(holds.c.user_id == user_id))
    assert hold.state == "expired"
    assert call_rows(db_url, user_id) == []
    assert journal_sums(db_url, user_id) == (FUNDS, 0)


def test_killed_after_the_ledger_write_the_call_is_settled_once_after_restart(
    chain: Chain, upstreams: Upstreams, db_url: str, tmp_path: Path
) -> None:
    w = watched_accounts(chain)
    before = balances(chain, w)
    settings = settings_for(chain, upstreams, db_url, worker=False)
    config = write_config(settings, tmp_path / "gw.toml")
    p = gateway_process(config, tmp_path / "gw.log")
    key = _key(p, "posted")
    assert _call(p, key, "first").status_code == 200
    p.stop()
    p = gateway_process(config, tmp_path / "gw.log", env={"BOURSE_GATEWAY_CRASH_AT": "after_post"})
    with pytest.raises(httpx.HTTPError):
        _call(p, key, "second")
    p.proc.wait(timeout=30)
    assert p.proc.returncode != 0
    user_id, available, held = user_row(db_url, "posted")
    rows = call_rows(db_url, user_id)
    assert len(rows) == 2 and all(r.state == "pending" for r in rows)
    assert (available, held) == (FUNDS - sum(r.gross for r in rows), 0)
    # restart with the worker: both calls settle, once
    settings2 = settings.with_(worker=True)
    config2 = write_config(settings2, tmp_path / "gw2.toml")
    p = gateway_process(config2, tmp_path / "gw.log")
    try:
        rows = wait_settled(db_url, 2)
    finally:
        p.stop()
    after = balances(chain, w)
    assert before["wallet"] - after["wallet"] == sum(r.gross for r in rows)
    assert after["payout0"] - before["payout0"] == sum(r.provider_amount for r in rows)
    assert journal_sums(db_url, user_id) == (FUNDS - sum(r.gross for r in rows), 0)


def test_killed_mid_batch_the_batch_is_resent_and_settles_once(
    chain: Chain, upstreams: Upstreams, db_url: str, tmp_path: Path
) -> None:
    w = watched_accounts(chain)
    before = balances(chain, w)
    settings = settings_for(chain, upstreams, db_url, settle_interval=1.5)
    config = write_config(settings, tmp_path / "gw.toml")
    p = gateway_process(config, tmp_path / "gw.log", env={"BOURSE_GATEWAY_CRASH_AT": "after_chain"})
    key = _key(p, "batch")
    for i in range(3):
        assert _call(p, key, f"call {i}").status_code == 200
    p.proc.wait(timeout=60)  # the worker landed the batch on-chain, then died
    user_id, _, _ = user_row(db_url, "batch")
    rows = call_rows(db_url, user_id)
    assert [r.state for r in rows] == ["sending"] * 3
    landed = balances(chain, w)
    gross = sum(r.gross for r in rows)
    assert before["wallet"] - landed["wallet"] == gross  # on-chain already
    p = gateway_process(config, tmp_path / "gw.log")
    try:
        rows = wait_settled(db_url, 3)
    finally:
        p.stop()
    after = balances(chain, w)
    assert after == landed  # re-sending the batch moved nothing
    assert all(r.tx_signature and r.attempts == 1 for r in rows)
    assert len({r.batch_id for r in rows}) == 1
