"""A call's settlement receipt: the admin API shows its batch (stream, sequence, root,
transaction) and proof; ``bourse-gateway receipt`` (= ``bourse gateway receipt``) verifies
the proof against the chain and against the ledger row, and refuses a tampered one."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import httpx
import openai
from sqlalchemy import update

from bourse_chain.market import payment_id_bytes
from gateway.db.engine import make_engine
from gateway.db.schema import calls
from gateway.settlement.chain_port import payment_id
from tests.gateway.harness import (
    Chain,
    Upstreams,
    call_rows,
    gateway_thread,
    settings_for,
    wait_settled,
)


def _receipt(
    command: list[str], call_id: str, db: str, rpc: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command, "receipt", call_id, "--db", db, "--rpc-url", rpc, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _write(db: str, call_id: str, proof: dict[str, Any]) -> None:
    async def run() -> None:
        engine = make_engine(db)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    update(calls).where(calls.c.id == call_id).values(proof=json.dumps(proof))
                )
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_receipt_admin_api_and_cli(chain: Chain, upstreams: Upstreams, db_url: str) -> None:
    settings = settings_for(chain, upstreams, db_url, settle_batch_size=5)
    rpc = chain.net.rpc_url
    with gateway_thread(settings) as gw:
        client = openai.OpenAI(base_url=gw.base_url, api_key=gw.new_key(credit=1_000_000))
        ids = []
        for i in range(3):
            raw = client.chat.completions.with_raw_response.create(
                model="standin-a/deepseek-chat", messages=[{"role": "user", "content": f"#{i}"}]
            )
            ids.append(raw.headers["X-Request-Id"])
        rows = {r.id: r for r in wait_settled(db_url, 3)}
        assert set(ids) == set(rows)
        r = gw.admin("GET", f"/api/admin/calls/{ids[1]}/receipt")
        missing = gw.admin("GET", "/api/admin/calls/nope/receipt")
        unauthorized = httpx.get(gw.url + f"/api/admin/calls/{ids[1]}/receipt")
    assert r.status_code == 200, r.text
    body = r.json()
    row = rows[ids[1]]
    assert body["settled"] is True and body["call"]["id"] == ids[1]
    assert body["call"]["gross"] == row.gross > 0
    batch = body["batch"]
    assert batch["id"] == row.batch_id and batch["tx_signature"] == row.tx_signature
    mates = [x for x in rows.values() if x.batch_id == row.batch_id]
    assert (batch["count"], batch["state"]) == (len(mates), "settled")
    assert batch["total"] == sum(x.gross for x in mates)
    proof = body["proof"]
    assert proof["sequence"] == batch["sequence"] and proof["root"] == batch["root"]
    assert bytes.fromhex(proof["payment_id"]) == payment_id_bytes(payment_id(ids[1]))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    assert unauthorized.status_code == 401

    ok = _receipt(["gateway"], ids[1], db_url, rpc, "-o", "json")
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["verified"] is True and out["disagreements"] == []
    assert out["verification"]["verified"] is True
    assert out["verification"]["share"] == {
        "provider": row.provider_amount,
        "creator": row.creator_fee,
        "protocol": row.protocol_fee,
    }
    assert out["batch"] == batch and out["proof"] == proof
    # mounted in bourse, as a table
    table = _receipt(["bourse_cli", "gateway"], ids[0], db_url, rpc)
    assert table.returncode == 0, table.stderr
    assert "verified" in table.stdout and rows[ids[0]].tx_signature in table.stdout

    # a tampered proof: refused by the chain and by the ledger row
    forged = {**proof, "amount": proof["amount"] + 1}
    _write(db_url, ids[1], forged)
    bad = _receipt(["gateway"], ids[1], db_url, rpc, "-o", "json")
    assert bad.returncode == 1
    refused = json.loads(bad.stdout)
    assert refused["verified"] is False and refused["verification"]["verified"] is False
    assert any("amount" in d for d in refused["disagreements"])
    # another call's (valid) proof under this call's id: the chain accepts it, the row does not
    _write(db_url, ids[1], json.loads(rows[ids[2]].proof))
    swapped = json.loads(_receipt(["gateway"], ids[1], db_url, rpc, "-o", "json").stdout)
    assert swapped["verification"]["verified"] is True and swapped["verified"] is False
    assert "payment id is not this call's" in swapped["disagreements"]
    unknown = _receipt(["gateway"], "no-such-call", db_url, rpc)
    assert unknown.returncode == 1 and "no call" in unknown.stderr
    assert len(call_rows(db_url)) == 3
