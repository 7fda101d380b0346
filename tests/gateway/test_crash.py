"""Crash safety with real processes: the gateway killed during a call, between the ledger
write and settlement, after pinning a batch, and between a batch's send and its record —
nothing lost, nothing settled twice; and a send that fails after its transaction landed."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.models import TxOpts
from sqlalchemy import select

from bourse_chain.client import BourseClient
from bourse_chain.receipts import CallProof, verify_on_chain
from bourse_chain.settlement import PaidCall, Settlement
from gateway.db.engine import make_engine
from gateway.db.schema import batches, holds
from gateway.ledger import Ledger
from gateway.metrics import Metrics
from gateway.settlement.chain_port import ChainPort
from gateway.settlement.outbox import Outbox
from gateway.settlement.worker import SettlementWorker
from tests.gateway.harness import (
    ADMIN_TOKEN,
    Chain,
    Process,
    Upstreams,
    balances,
    call_rows,
    gateway_process,
    gateway_thread,
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


def _batches(db_url: str) -> list[Any]:
    return read_db(db_url, select(batches).order_by(batches.c.created_at))


def _verify_proofs(chain: Chain, rows: list[Any]) -> None:
    async def verify() -> None:
        async with BourseClient.connect(chain.net.rpc_url) as client:
            for r in rows:
                proof = CallProof.from_json(json.loads(r.proof))
                assert (await verify_on_chain(client, proof)).ok, r.id

    chain.net.run(verify())


def _outside_batch(chain: Chain, amount: int) -> int:
    """Another batch on the stream of (deepseek-chat, standin-a) from the settler's wallet:
    the stream's last root is no longer the stranded batch's. Returns its sequence."""

    async def settle() -> int:
        async with BourseClient.connect(chain.net.rpc_url) as client:
            s = await Settlement.load(client, chain.keypairs["settler"])
            call = PaidCall(
                f"outside:{uuid.uuid4().hex}", amount, "deepseek-chat", chain.provider_accounts[0]
            )
            settler = chain.keypairs["settler"]
            result = await s.settle_batch(
                [call], source=s.payer_token(settler.pubkey()), source_authority=settler
            )
            return result.sequence

    return int(chain.net.run(settle()))


def test_killed_between_send_and_confirm_resumes_by_sequence_after_later_batches(
    chain: Chain, upstreams: Upstreams, db_url: str, tmp_path: Path
) -> None:
    # The worker pins the batch, sends it, dies before recording the outcome; before it comes
    # back another batch settles on the same stream. The restarted worker asks the chain what
    # the pinned sequence holds — this batch — and sends nothing.
    w = watched_accounts(chain)
    before = balances(chain, w)
    settings = settings_for(chain, upstreams, db_url, settle_interval=1.5)
    config = write_config(settings, tmp_path / "gw.toml")
    p = gateway_process(config, tmp_path / "gw.log", env={"BOURSE_GATEWAY_CRASH_AT": "after_chain"})
    key = _key(p, "resume")
    for i in range(3):
        assert _call(p, key, f"call {i}").status_code == 200
    p.proc.wait(timeout=60)
    user_id, _, _ = user_row(db_url, "resume")
    rows = call_rows(db_url, user_id)
    assert [r.state for r in rows] == ["sending"] * 3
    (pinned,) = _batches(db_url)
    gross = sum(r.gross for r in rows)
    assert (pinned.state, pinned.count, pinned.total) == ("sending", 3, gross)
    outside = _outside_batch(chain, 1_000)
    assert outside == pinned.sequence + 1
    landed = balances(chain, w)
    assert before["wallet"] - landed["wallet"] == gross + 1_000
    p = gateway_process(config, tmp_path / "gw.log")
    try:
        rows = wait_settled(db_url, 3)
    finally:
        p.stop()
    assert balances(chain, w) == landed  # nothing sent again
    (done,) = _batches(db_url)
    assert (done.id, done.state, done.sequence) == (pinned.id, "settled", pinned.sequence)
    assert all(r.batch_id == done.id and r.tx_signature == done.tx_signature for r in rows)
    assert journal_sums(db_url, user_id) == (FUNDS - gross, 0)
    _verify_proofs(chain, rows)


def test_killed_after_pinning_before_sending_the_batch_is_sent_once(
    chain: Chain, upstreams: Upstreams, db_url: str, tmp_path: Path
) -> None:
    w = watched_accounts(chain)
    before = balances(chain, w)
    settings = settings_for(chain, upstreams, db_url, settle_interval=1.5)
    config = write_config(settings, tmp_path / "gw.toml")
    p = gateway_process(config, tmp_path / "gw.log", env={"BOURSE_GATEWAY_CRASH_AT": "after_pin"})
    key = _key(p, "pinned")
    for i in range(2):
        assert _call(p, key, f"call {i}").status_code == 200
    p.proc.wait(timeout=60)
    (pinned,) = _batches(db_url)
    assert pinned.state == "sending"
    assert balances(chain, w) == before  # pinned, never sent
    p = gateway_process(config, tmp_path / "gw.log")
    try:
        rows = wait_settled(db_url, 2)
    finally:
        p.stop()
    after = balances(chain, w)
    assert before["wallet"] - after["wallet"] == sum(r.gross for r in rows) == pinned.total
    (done,) = _batches(db_url)
    assert (done.state, done.sequence) == ("settled", pinned.sequence)
    _verify_proofs(chain, rows)


class LosesTheConfirmation(AsyncClient):
    """Sends the first settlement transaction, then fails as if the connection dropped
    before its confirmation arrived (the transaction lands)."""

    def __init__(self, url: str) -> None:
        super().__init__(url, timeout=30)
        self.armed = True

    async def send_raw_transaction(self, txn: bytes, opts: TxOpts | None = None) -> Any:
        resp = await super().send_raw_transaction(txn, opts)
        if self.armed:
            self.armed = False
            raise httpx.ReadError("connection lost after the transaction was sent")
        return resp


def test_a_send_that_fails_after_landing_is_never_settled_again(
    chain: Chain, upstreams: Upstreams, db_url: str
) -> None:
    # In-process: the first batch's send raises after the transaction went out. Its rows stay
    # pinned (not back in the outbox); new calls arrive; the next round finds the first batch
    # at its sequence and settles the new calls in the next one: each call paid once.
    w = watched_accounts(chain)
    before = balances(chain, w)
    settings = settings_for(chain, upstreams, db_url, worker=False)
    with gateway_thread(settings) as gw:
        key = gw.new_key(user="lost-confirm", credit=FUNDS)
        client = openai.OpenAI(base_url=gw.base_url, api_key=key)

        def calls(n: int) -> None:
            for i in range(n):
                client.chat.completions.create(
                    model="standin-a/deepseek-chat",
                    messages=[{"role": "user", "content": f"call {i}"}],
                )

        async def worker_round(rpc: AsyncClient) -> int:
            engine = make_engine(db_url)
            ledger = Ledger(engine)
            try:
                bc = BourseClient(rpc)
                settler = chain.keypairs["settler"]
                port = ChainPort(await Settlement.load(bc, settler), settler)
                worker = SettlementWorker(
                    ledger, Outbox(engine), port, Metrics(), interval=1, size=10
                )
                try:
                    return await worker.run_once()
                finally:
                    await worker.leader.release()
            finally:
                ledger.close()
                await engine.dispose()

        calls(3)
        lossy = LosesTheConfirmation(chain.net.rpc_url)
        try:
            assert chain.net.run(worker_round(lossy)) == 0
        finally:
            chain.net.run(lossy.close())
        user_id, _, _ = user_row(db_url, "lost-confirm")
        rows = call_rows(db_url, user_id)
        assert [r.state for r in rows] == ["sending"] * 3
        assert all("connection lost" in (r.last_error or "") for r in rows)
        first = sum(r.gross for r in rows)
        assert before["wallet"] - balances(chain, w)["wallet"] == first  # it landed
        calls(2)
        healthy = AsyncClient(chain.net.rpc_url, timeout=30)
        try:
            assert chain.net.run(worker_round(healthy)) == 5
        finally:
            chain.net.run(healthy.close())
    rows = call_rows(db_url, user_id)
    assert [r.state for r in rows] == ["settled"] * 5
    after = balances(chain, w)
    assert before["wallet"] - after["wallet"] == sum(r.gross for r in rows)
    assert after["payout0"] - before["payout0"] == sum(r.provider_amount for r in rows)
    first_batch, second_batch = _batches(db_url)
    assert (first_batch.count, first_batch.total) == (3, first)
    assert second_batch.count == 2 and second_batch.sequence == first_batch.sequence + 1
    assert {b.state for b in (first_batch, second_batch)} == {"settled"}
    _verify_proofs(chain, rows)
