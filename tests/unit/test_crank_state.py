"""Crash-safe state (fee ledger, send journal), the per-(key, job) lock, the fee budget, the
health report, exit codes, structured logs, and Token-2022 withheld-fee parsing."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from solders.keypair import Keypair

from cranks.__main__ import JsonFormatter
from cranks.config import SendSettings
from cranks.daemon import JobOutcome, exit_code
from cranks.lock import JobLock
from cranks.metrics import Health, JobHealth, Metrics
from cranks.sender import FeeBudgetExhausted, Sender
from cranks.state import CrankState, PendingTx

DAY = 86_400.0
T0 = 1_764_000_000.0  # 2025-11-24 16:00 UTC


def entry(sig: str = "sig1") -> PendingTx:
    return PendingTx(sig, "hash", 99, ("A", "B"), T0, "buyback")


def test_fee_ledger_is_per_utc_day_and_survives_a_restart(tmp_path: Path) -> None:
    now = [T0]
    state = CrankState(tmp_path / "k.json", clock=lambda: now[0])
    assert state.add_fee(5_000) == 5_000
    assert state.add_fee(7_000) == 12_000
    # A new process on the same file sees today's spending
    again = CrankState(tmp_path / "k.json", clock=lambda: now[0])
    assert again.fees_spent_today() == 12_000
    now[0] += DAY
    assert again.fees_spent_today() == 0
    for _ in range(10):
        now[0] += DAY
        again.add_fee(1)
    assert len(json.loads((tmp_path / "k.json").read_text())["fees"]) == 7


def test_journal_records_once_and_forgets(tmp_path: Path) -> None:
    state = CrankState(tmp_path / "k.json")
    state.record_sent(entry("s1"))
    state.record_sent(entry("s1"))  # a rebroadcast
    state.record_sent(entry("s2"))
    assert [p.signature for p in CrankState(tmp_path / "k.json").pending()] == ["s1", "s2"]
    assert state.pending()[0] == entry("s1")
    state.forget(["s1"])
    assert [p.signature for p in state.pending()] == ["s2"]


def test_writes_are_atomic_and_a_corrupt_file_is_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    state = CrankState(path, clock=lambda: T0)
    state.add_fee(1)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
    path.write_text("{truncated")
    assert state.fees_spent_today() == 0
    assert list(tmp_path.glob("k.json.broken-*"))


def test_job_lock_excludes_a_second_holder_of_the_same_key_and_job(tmp_path: Path) -> None:
    key = Keypair().pubkey()
    a, b = JobLock(tmp_path, key, "buyback"), JobLock(tmp_path, key, "buyback")
    assert a.acquire() and a.held
    assert not b.acquire()
    assert b.holder_pid() is not None
    assert JobLock(tmp_path, key, "harvest").acquire()  # another job: independent
    assert JobLock(tmp_path, Keypair().pubkey(), "buyback").acquire()  # another key
    a.release()
    with b.hold() as got:
        assert got
        assert not JobLock(tmp_path, key, "buyback").acquire()
    assert JobLock(tmp_path, key, "buyback").acquire()


class _Client:
    pass


def sender(tmp_path: Path, budget_sol: str, spent: int) -> Sender:
    from decimal import Decimal

    state = CrankState(tmp_path / "k.json")
    if spent:
        state.add_fee(spent)
    settings = SendSettings(daily_fee_budget_sol=Decimal(budget_sol), cu_cap=200_000)
    return Sender(_Client(), Keypair(), settings, state, Metrics())  # type: ignore[arg-type]


def test_fee_budget_lowers_the_priority_fee_then_refuses(tmp_path: Path) -> None:
    # 0.00002 SOL = 20,000 lamports budget
    s = sender(tmp_path, "0.00002", 0)
    assert s._affordable_price(50, 1) == 50  # 5,000 + 50 x 200,000 / 1e6 = 5,010: fits
    # 20,000 left - 5,000 base = 15,000 lamports for 200,000 CU: 75,000 micro-lamports/CU
    assert s._affordable_price(10**9, 1) == 75_000
    s = sender(tmp_path / "x", "0.00002", 15_000)
    assert s._affordable_price(10**9, 1) == 0  # the base fee only
    s = sender(tmp_path / "z", "0.00002", 16_000)
    with pytest.raises(FeeBudgetExhausted):
        s._affordable_price(0, 1)  # 4,000 left < 5,000 for one signature
    assert sender(tmp_path / "y", "0", 10**12)._affordable_price(77, 1) == 77  # no budget


def test_health_goes_unhealthy_when_a_job_stops_succeeding() -> None:
    now = [1_000.0]
    h = Health(started_at=now[0], jobs={"buyback": JobHealth(60)}, clock=lambda: now[0])
    assert h.report()[0]  # not yet due
    now[0] += 100
    h.record("buyback", "ok", True)
    now[0] += 150
    assert h.report()[0]
    h.record("buyback", "error", False)
    now[0] += 40  # 190 s since the last success: more than 3 intervals
    healthy, body = h.report()
    assert not healthy and body["status"] == "unhealthy"
    assert body["jobs"]["buyback"]["consecutive_failures"] == 1
    h.record("buyback", "ok", True)
    assert h.report()[0]


def test_once_exit_codes() -> None:
    assert exit_code([JobOutcome("buyback", "ok"), JobOutcome("harvest", "ok")]) == 0
    assert exit_code([JobOutcome("buyback", "ok"), JobOutcome("harvest", "failed")]) == 1
    assert exit_code([JobOutcome("buyback", "error"), JobOutcome("harvest", "locked")]) == 1
    assert exit_code([JobOutcome("buyback", "locked")]) == 75


def test_json_logs_carry_the_extra_fields() -> None:
    record = logging.LogRecord(
        "cranks.buyback", logging.INFO, __file__, 1, "%s: %s", ("m", "ok"), None
    )
    record.__dict__.update({"event": "model_result", "model": "m", "usdc_spent": 5})
    out: dict[str, Any] = json.loads(JsonFormatter().format(record))
    assert out["message"] == "m: ok" and out["event"] == "model_result"
    assert out["usdc_spent"] == 5 and out["level"] == "INFO" and out["time"].endswith("Z")
