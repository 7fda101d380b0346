"""``gateway.x402.demo_call.pay_one_call`` (what ``bourse demo`` runs for its x402 call): one paid
call through the gateway, its report matching the chain and the ledger."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.x402.client import NoAcceptableOffer
from gateway.x402.demo_call import pay_one_call, route_url
from tests.gateway.harness import Chain, Upstreams, call_rows, database_url, gateway_thread
from tests.gateway.x402route.harness import (
    OTHER,
    NodeFacilitator,
    Payer,
    inbox,
    inbox_authority,
    x402_settings,
)


def test_pay_one_call_reports_what_landed_in_the_inbox(
    chain: Chain,
    upstreams: Upstreams,
    facilitator: NodeFacilitator,
    payer: Payer,
    tmp_path: Path,
) -> None:
    db = database_url("sqlite", tmp_path)
    with gateway_thread(x402_settings(chain, upstreams, db, facilitator.url)) as gw:
        before = chain.token_balance(payer.ata)
        report = asyncio.run(
            pay_one_call(gw.base_url, payer.keypair, chain.net.rpc_url, OTHER, version=1)
        )
        assert report.status == 200 and report.answer
        assert report.transaction
        assert report.amount > 0 and report.inbox_delta == report.amount
        assert report.pay_to == str(inbox_authority(OTHER))
        assert report.inbox == str(inbox(chain, OTHER))
        assert before - chain.token_balance(payer.ata) == report.amount
        (row,) = call_rows(db)
        assert (row.model, row.gross, row.rail) == (OTHER, report.amount, "x402")
        with pytest.raises(NoAcceptableOffer):  # above the caller's cap: nothing paid
            asyncio.run(pay_one_call(gw.url, payer.keypair, chain.net.rpc_url, OTHER, max_amount=1))
        assert len(call_rows(db)) == 1


def test_route_url_accepts_the_root_or_the_openai_base_url() -> None:
    want = "http://h:1/api/x402/v1/chat/completions"
    assert route_url("http://h:1") == route_url("http://h:1/api/v1/") == want
