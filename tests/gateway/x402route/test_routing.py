"""Rail 1's routing on rail 2: failover to the next offer before the first byte (the quoted
price is charged, the serving provider is recorded), and a stream that breaks after the
payment settled (paid, recorded, the error arrives as an SSE event)."""

from __future__ import annotations

import json
from pathlib import Path

from bourse_chain.money import expected_split
from gateway.localnet_demo import PROTOCOL_FEE_BPS
from tests.gateway.harness import Chain, Upstreams, call_rows, database_url, gateway_thread
from tests.gateway.x402route.harness import (
    SLUG,
    NodeFacilitator,
    Payer,
    chat_body,
    inbox,
    pay,
    post,
    route_url,
    x402_settings,
)

CREATOR_FEE_BPS = 800  # deepseek-chat


def test_failover_serves_from_the_next_offer_at_the_quoted_price(
    chain: Chain,
    upstreams: Upstreams,
    facilitator: NodeFacilitator,
    payer: Payer,
    tmp_path: Path,
) -> None:
    db = database_url("sqlite", tmp_path)
    settings = x402_settings(chain, upstreams, db, facilitator.url, behaviours=("fail", "good"))
    with gateway_thread(settings) as gw:
        before = chain.token_balance(inbox(chain, SLUG))
        quoted = int(post(route_url(gw), chat_body()).json()["accepts"][0]["amount"])
        paid = pay(chain, route_url(gw), payer, chat_body())
        assert paid.response.status_code == 200
        assert paid.response.headers["X-Bourse-Model-Id"] == f"standin-b/{SLUG}"
        assert int(paid.response.headers["X-Bourse-Charge"]) == quoted
        assert chain.token_balance(inbox(chain, SLUG)) - before == quoted
    (row,) = call_rows(db)
    assert row.provider == str(chain.provider_accounts[1])  # the provider that served
    assert (row.provider_amount, row.creator_fee, row.protocol_fee) == expected_split(
        quoted, PROTOCOL_FEE_BPS, CREATOR_FEE_BPS
    )


def test_a_stream_broken_after_settlement_is_paid_and_says_so(
    chain: Chain,
    upstreams: Upstreams,
    facilitator: NodeFacilitator,
    payer: Payer,
    tmp_path: Path,
) -> None:
    db = database_url("sqlite", tmp_path)
    settings = x402_settings(chain, upstreams, db, facilitator.url, behaviours=("drop", "drop"))
    with gateway_thread(settings) as gw:
        paid = pay(chain, route_url(gw), payer, chat_body(stream=True), version=1)
        assert paid.response.status_code == 200
        assert paid.settlement is not None and paid.settlement.success
        events = [
            json.loads(line[6:])
            for line in paid.response.text.splitlines()
            if line.startswith("data: {")
        ]
        assert events[-1]["error"]["code"] == "UPSTREAM_ERROR"
        assert "data: [DONE]" not in paid.response.text
        (row,) = call_rows(db)
        assert (row.rail, row.gross) == ("x402", int(paid.response.headers["X-Bourse-Charge"]))
