"""Refusals of the gateway's x402 route, each with nothing served and nothing charged: a wrong
amount / mint / payTo, a payment for another model, an expired blockhash, malformed headers, a
facilitator that went down, every upstream failing (502, the payment released, not settled)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from solders.keypair import Keypair

from tests.gateway.harness import (
    Chain,
    Running,
    Upstreams,
    call_rows,
    database_url,
    gateway_thread,
)
from tests.gateway.x402route.harness import (
    OTHER,
    SLUG,
    NodeFacilitator,
    Payer,
    chat_body,
    craft,
    inbox,
    nothing_moves,
    post,
    reason_of,
    route_url,
    start_facilitator,
    x402_rows,
    x402_settings,
)


@pytest.fixture(scope="module")
def gw(
    chain: Chain,
    upstreams: Upstreams,
    facilitator: NodeFacilitator,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Running]:
    db = database_url("sqlite", tmp_path_factory.mktemp("x402-refusals"))
    with gateway_thread(x402_settings(chain, upstreams, db, facilitator.url)) as running:
        yield running


BODY = chat_body(SLUG, text="refuse me")

WRONG: dict[str, tuple[dict[str, Any], str]] = {
    "amount": ({"amount": -1}, "invalid_exact_svm_payload_amount_mismatch"),
    "amount_v1": ({"version": 1, "amount": +1}, "invalid_exact_svm_payload_amount_mismatch"),
    "mint": ({"asset": Keypair().pubkey()}, "invalid_exact_svm_payload_mint_mismatch"),
    "pay_to": ({"pay_to": Keypair().pubkey()}, "invalid_exact_svm_payload_recipient_mismatch"),
    "pay_to_gateway_wallet": ({"pay_to": None}, "invalid_exact_svm_payload_recipient_mismatch"),
    "accepted_pay_to": (
        {"offer_changes": {"pay_to": str(Keypair().pubkey())}},
        "payTo_mismatch",
    ),
    "network": (
        {"offer_changes": {"network": "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"}},
        "network_mismatch",
    ),
}


@pytest.mark.parametrize("case", list(WRONG))
def test_a_payment_off_the_quote_is_refused(
    chain: Chain, upstreams: Upstreams, gw: Running, payer: Payer, case: str
) -> None:
    changes, reason = WRONG[case]
    changes = dict(changes)
    if "amount" in changes:  # off by one from this request's price
        price = int(post(route_url(gw), BODY).json()["accepts"][0]["amount"])
        changes["amount"] = price + changes["amount"]
    if changes.get("pay_to", "") is None:
        changes["pay_to"] = chain.keypairs["settler"].pubkey()
    header = craft(chain, route_url(gw), payer, BODY, **changes)
    with nothing_moves(chain, upstreams, gw.settings.db, payer):
        answer = post(route_url(gw), BODY, header)
        assert answer.status_code == 402, answer.text
        assert reason_of(answer).startswith(reason), answer.text
        assert "PAYMENT-REQUIRED" in answer.headers  # a fresh challenge to pay again
    assert x402_rows(gw.settings.db) == []  # refused before any claim


def test_a_payment_for_another_model_is_refused(
    chain: Chain, upstreams: Upstreams, gw: Running, payer: Payer
) -> None:
    other = craft(chain, route_url(gw), payer, chat_body(OTHER, text="refuse me"))
    with (
        nothing_moves(chain, upstreams, gw.settings.db, payer),
        nothing_moves(chain, upstreams, gw.settings.db, payer, OTHER),
    ):
        answer = post(route_url(gw), BODY, other)
        assert answer.status_code == 402
        assert reason_of(answer).split(":")[0] in ("amount_mismatch", "payTo_mismatch")


def test_a_payment_for_a_smaller_request_is_refused(
    chain: Chain, upstreams: Upstreams, gw: Running, payer: Payer
) -> None:
    """The price is recomputed from the body sent with the payment, not the one quoted."""
    header = craft(chain, route_url(gw), payer, {**BODY, "max_tokens": 10})
    with nothing_moves(chain, upstreams, gw.settings.db, payer):
        answer = post(route_url(gw), BODY, header)
        assert answer.status_code == 402
        assert reason_of(answer).startswith("amount_mismatch")


def test_an_expired_blockhash_is_refused_by_the_facilitator(
    chain: Chain, upstreams: Upstreams, gw: Running, payer: Payer
) -> None:
    header = craft(chain, route_url(gw), payer, BODY)
    chain.net.rpc("bourse_expireBlockhash", [])
    claimed = len(x402_rows(gw.settings.db))
    with nothing_moves(chain, upstreams, gw.settings.db, payer):
        answer = post(route_url(gw), BODY, header)
        assert answer.status_code == 402
        reason = reason_of(answer)
        assert reason.startswith("invalid_exact_svm_transaction_simulation_failed"), reason
    assert len(x402_rows(gw.settings.db)) == claimed  # /verify failed: the claim was released


def b64(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.b64encode(raw).decode()


MALFORMED: list[tuple[str, str]] = [
    ("PAYMENT-SIGNATURE", "%%% not base64 %%%"),
    ("PAYMENT-SIGNATURE", b64(b"{not json")),
    ("PAYMENT-SIGNATURE", b64([1, 2, 3])),
    ("PAYMENT-SIGNATURE", b64({"x402Version": 2, "payload": {"transaction": "AA=="}})),
    ("X-PAYMENT", b64({"x402Version": 1, "scheme": "exact", "network": "solana-devnet"})),
    (
        "X-PAYMENT",
        b64(
            {
                "x402Version": 1,
                "scheme": "exact",
                "network": "solana-devnet",
                "payload": {"transaction": b64(b"\x01" * 80)},
            }
        ),
    ),
    ("X-PAYMENT", "A" * 10_000),
]


@pytest.mark.parametrize("header", MALFORMED, ids=[f"malformed{i}" for i in range(len(MALFORMED))])
def test_malformed_headers_are_refused(
    chain: Chain, upstreams: Upstreams, gw: Running, payer: Payer, header: tuple[str, str]
) -> None:
    with nothing_moves(chain, upstreams, gw.settings.db, payer):
        answer = post(route_url(gw), BODY, header)
        assert answer.status_code == 400, answer.text
        assert reason_of(answer) in (
            "invalid_payment_header",
            "invalid_exact_svm_payload_transaction_could_not_be_decoded",
        )


def test_a_facilitator_that_is_down_is_a_503_with_nothing_charged(
    chain: Chain, upstreams: Upstreams, payer: Payer, tmp_path: Path
) -> None:
    doomed = start_facilitator(chain, tmp_path)
    try:
        db = database_url("sqlite", tmp_path)
        with gateway_thread(x402_settings(chain, upstreams, db, doomed.url)) as running:
            url = route_url(running)
            header = craft(chain, url, payer, BODY)  # the 402 read the fee payer from /supported
            doomed.stop()
            with nothing_moves(chain, upstreams, db, payer):
                answer = post(url, BODY, header)
                assert answer.status_code == 503, answer.text
                assert reason_of(answer) == "facilitator_unavailable"
            assert x402_rows(db) == []  # released: the same payment may come back
    finally:
        doomed.stop()
    # a gateway whose facilitator is unreachable cannot even quote
    with (
        gateway_thread(x402_settings(chain, upstreams, db, doomed.url)) as running,
        nothing_moves(chain, upstreams, db, payer),
    ):
        answer = post(route_url(running), BODY)
        assert answer.status_code == 503
        assert reason_of(answer) == "facilitator_unavailable"


def test_every_upstream_failing_is_a_502_and_the_payment_is_not_settled(
    chain: Chain,
    upstreams: Upstreams,
    facilitator: NodeFacilitator,
    payer: Payer,
    tmp_path: Path,
) -> None:
    db = database_url("sqlite", tmp_path)
    failing = upstreams.fakes["fail"]
    tried = len(failing.requests)
    settings = x402_settings(chain, upstreams, db, facilitator.url, behaviours=("fail", "fail"))
    with gateway_thread(settings) as running:
        url = route_url(running)
        header = craft(chain, url, payer, BODY)
        before = (chain.token_balance(payer.ata), chain.token_balance(inbox(chain, SLUG)))
        answer = post(url, BODY, header)
        assert answer.status_code == 502
        assert answer.json()["error"]["code"] == "ALL_PROVIDERS_FAILED"
        assert len(failing.requests) == tried + 2  # both providers were tried
        assert (chain.token_balance(payer.ata), chain.token_balance(inbox(chain, SLUG))) == before
        assert x402_rows(db) == [] and call_rows(db) == []
    # the payment was released unsettled: the same signed payment still pays a working gateway
    with gateway_thread(x402_settings(chain, upstreams, db, facilitator.url)) as running:
        again = post(route_url(running), BODY, header)
        assert again.status_code == 200, again.text
        amount = int(again.headers["X-Bourse-Charge"])
        assert chain.token_balance(payer.ata) == before[0] - amount
        assert chain.token_balance(inbox(chain, SLUG)) == before[1] + amount
        (row,) = call_rows(db)
        assert (row.rail, row.gross, row.state) == ("x402", amount, "pending")
