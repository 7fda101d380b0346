"""A payment is used once, whatever the header version, across a gateway restart (SQLite and
PostgreSQL) and across two gateway processes sharing one PostgreSQL (concurrently too): the
replay store is the ledger's ``gw_x402_payments`` table, not memory."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.gateway.harness import (
    Chain,
    Upstreams,
    call_rows,
    database_url,
    gateway_process,
    gateway_thread,
    write_config,
)
from tests.gateway.x402route.harness import (
    SLUG,
    NodeFacilitator,
    Payer,
    chat_body,
    craft,
    nothing_moves,
    post,
    reason_of,
    route_url,
    x402_rows,
    x402_settings,
)

BODY = chat_body(SLUG, text="only once")


def as_v1(header: tuple[str, str]) -> tuple[str, str]:
    """The same signed transaction under the v1 header."""
    v2 = json.loads(base64.b64decode(header[1]))
    v1 = {"x402Version": 1, "scheme": "exact", "network": "solana-devnet", "payload": v2["payload"]}
    return "X-PAYMENT", base64.b64encode(json.dumps(v1).encode()).decode()


def assert_replay_refused(response: httpx.Response) -> None:
    assert response.status_code == 402, response.text
    assert reason_of(response).startswith("payment_already_used")
    assert "PAYMENT-REQUIRED" in response.headers


def test_a_replayed_payment_is_refused_also_after_a_restart(
    chain: Chain,
    upstreams: Upstreams,
    facilitator: NodeFacilitator,
    payer: Payer,
    db_url: str,
) -> None:
    settings = x402_settings(chain, upstreams, db_url, facilitator.url)
    with gateway_thread(settings) as gw:
        header = craft(chain, route_url(gw), payer, BODY)
        assert post(route_url(gw), BODY, header).status_code == 200
        with nothing_moves(chain, upstreams, db_url, payer):
            assert_replay_refused(post(route_url(gw), BODY, header))
            assert_replay_refused(post(route_url(gw), BODY, as_v1(header)))
    with gateway_thread(settings) as restarted, nothing_moves(chain, upstreams, db_url, payer):
        assert_replay_refused(post(route_url(restarted), BODY, header))
    (payment,) = x402_rows(db_url)
    (call,) = call_rows(db_url)
    assert payment.state == "settled" and payment.tx_signature
    assert (call.id, call.rail) == (payment.payment_id, "x402")
    assert call.hold_id.startswith("x402:") and len(call.hold_id) <= 40


def test_two_gateway_processes_on_postgres_serve_a_payment_once(
    chain: Chain,
    upstreams: Upstreams,
    facilitator: NodeFacilitator,
    payer: Payer,
    tmp_path: Path,
) -> None:
    db = database_url("postgres", tmp_path)
    settings = x402_settings(chain, upstreams, db, facilitator.url)
    config = write_config(settings, tmp_path / "gateway.toml")
    other = gateway_process(config, tmp_path / "gateway.log")
    try:
        with gateway_thread(settings) as gw:
            urls = [route_url(gw), other.url + "/api/x402/v1/chat/completions"]
            header = craft(chain, urls[0], payer, BODY)
            before = chain.token_balance(payer.ata)
            with ThreadPoolExecutor(2) as pool:  # the same payment to both at once
                answers = list(pool.map(lambda u: post(u, BODY, header), urls))
            assert sorted(a.status_code for a in answers) == [200, 402], [a.text for a in answers]
            amount = int(
                next(a for a in answers if a.status_code == 200).headers["X-Bourse-Charge"]
            )
            assert chain.token_balance(payer.ata) == before - amount
            for url in urls:  # and later, to either
                with nothing_moves(chain, upstreams, db, payer):
                    assert_replay_refused(post(url, BODY, header))
    finally:
        other.stop()
    assert len(x402_rows(db)) == 1 and len(call_rows(db)) == 1
