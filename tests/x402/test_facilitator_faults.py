"""A facilitator that is down, slow, or answers nonsense: typed errors the route maps to 503/502,
the payment's claim released when nothing was attempted and kept once a settlement was."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from solders.hash import Hash
from solders.keypair import Keypair
from x402.http.utils import encode_payment_signature_header
from x402.schemas import PaymentPayload

from gateway.x402 import (
    LOCALNET,
    Facilitator,
    FacilitatorFailed,
    FacilitatorUnavailable,
    PaymentRejected,
    PaymentReplayed,
    PaymentTerms,
    SettlementFailed,
    X402Rail,
)
from gateway.x402.payment_tx import ExactPayment, build_payment_transaction, encode_transaction
from tests.x402.replay_double import InMemoryReplayStore
from tests.x402.resource_server import serve

FEE_PAYER = Keypair().pubkey()
PAYER = Keypair()


@dataclass
class Faults:
    verify: str = "valid"
    settle: str = "valid"
    networks: list[str] = field(default_factory=lambda: [LOCALNET.caip2])
    calls: list[str] = field(default_factory=list)


def fault_facilitator(faults: Faults) -> FastAPI:
    app = FastAPI()

    async def misbehave(mode: str) -> Response | None:
        if mode in ("html502", "html400"):
            status = int(mode[-3:])
            return PlainTextResponse("<html>Bad</html>", status, media_type="text/html")
        if mode == "garbage":
            return PlainTextResponse('{"isValid": tru', 200, media_type="application/json")
        if mode == "shape":
            return JSONResponse({"ok": True})
        if mode == "slow":
            await asyncio.sleep(2)  # past the client timeout of 1 s
        return None

    @app.get("/supported")
    async def supported() -> Response:
        kinds = [
            {
                "x402Version": 2,
                "scheme": "exact",
                "network": n,
                "extra": {"feePayer": str(FEE_PAYER)},
            }
            for n in faults.networks
        ]
        return JSONResponse(
            {"kinds": kinds, "extensions": [], "signers": {"solana:*": [str(FEE_PAYER)]}}
        )

    @app.post("/verify")
    async def verify(request: Request) -> Response:
        faults.calls.append("verify")
        body: dict[str, Any] = await request.json()
        assert body["paymentRequirements"]["amount"] == "777"  # our terms, not the client's
        if (bad := await misbehave(faults.verify)) is not None:
            return bad
        if faults.verify in ("invalid", "invalid400"):
            status = 400 if faults.verify == "invalid400" else 200
            refusal = {"isValid": False, "invalidReason": "insufficient_funds", "payer": "p"}
            return JSONResponse(refusal, status_code=status)
        return JSONResponse({"isValid": True, "payer": str(PAYER.pubkey())})

    @app.post("/settle")
    async def settle(request: Request) -> Response:
        faults.calls.append("settle")
        if (bad := await misbehave(faults.settle)) is not None:
            return bad
        if faults.settle in ("fail", "fail400"):
            failed = {
                "success": False,
                "errorReason": "transaction_failed",
                "transaction": "",
                "network": LOCALNET.caip2,
            }
            return JSONResponse(failed, status_code=400 if faults.settle == "fail400" else 200)
        return JSONResponse({"success": True, "transaction": "5" * 87, "network": LOCALNET.caip2})

    return app


@pytest.fixture
async def faults() -> AsyncIterator[tuple[Faults, str]]:
    state = Faults()
    async with serve(fault_facilitator(state)) as url:
        yield state, url


MINT = Keypair().pubkey()
PAY_TO = Keypair().pubkey()


def terms() -> PaymentTerms:
    return PaymentTerms(LOCALNET, MINT, 777, PAY_TO, FEE_PAYER, "http://x/paid", "test")


def payment_headers() -> dict[str, str]:
    payment = ExactPayment(asset=MINT, amount=777, pay_to=PAY_TO, fee_payer=FEE_PAYER, decimals=6)
    tx = build_payment_transaction(PAYER, payment, Hash.new_unique())
    payload = PaymentPayload(
        accepted=terms().requirements(), payload={"transaction": encode_transaction(tx)}
    )
    return {"PAYMENT-SIGNATURE": encode_payment_signature_header(payload)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_facilitator_that_is_down_is_unavailable() -> None:
    facilitator = Facilitator(f"http://127.0.0.1:{free_port()}", timeout=2)
    store = InMemoryReplayStore()
    rail = X402Rail(facilitator, store)
    with pytest.raises(FacilitatorUnavailable) as down:
        await facilitator.fee_payer(LOCALNET)
    assert down.value.http_status == 503
    with pytest.raises(FacilitatorUnavailable):
        await rail.authorize(payment_headers(), terms())
    assert store.claimed == {} and len(store.released) == 1  # claimed, verify failed, released
    await facilitator.aclose()


@pytest.mark.parametrize(
    ("mode", "error", "status"),
    [
        ("html502", FacilitatorFailed, 502),
        ("garbage", FacilitatorFailed, 502),
        ("shape", FacilitatorFailed, 502),
        ("slow", FacilitatorUnavailable, 503),
        ("invalid", PaymentRejected, 402),
        ("invalid400", PaymentRejected, 402),  # a refusal carried by a 4xx is still a refusal
        ("html400", FacilitatorFailed, 502),
    ],
)
async def test_verify_faults_are_typed_and_release_the_claim(
    faults: tuple[Faults, str], mode: str, error: type[Exception], status: int
) -> None:
    state, url = faults
    state.verify = mode
    facilitator = Facilitator(url, timeout=1)
    assert await facilitator.fee_payer(LOCALNET) == FEE_PAYER
    store = InMemoryReplayStore()
    with pytest.raises(error) as refused:
        await X402Rail(facilitator, store).authorize(payment_headers(), terms())
    assert getattr(refused.value, "http_status", None) == status
    assert store.claimed == {} and store.settled == {}
    assert state.calls == ["verify"]
    if mode.startswith("invalid"):
        assert getattr(refused.value, "reason", None) == "insufficient_funds"
    await facilitator.aclose()


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("fail", SettlementFailed),
        ("fail400", SettlementFailed),
        ("html502", FacilitatorFailed),
        ("slow", FacilitatorUnavailable),
    ],
)
async def test_a_failed_settlement_keeps_the_payment_used(
    faults: tuple[Faults, str], mode: str, error: type[Exception]
) -> None:
    state, url = faults
    state.settle = mode
    facilitator = Facilitator(url, timeout=1)
    store = InMemoryReplayStore()
    rail = X402Rail(facilitator, store)
    headers = payment_headers()
    auth = await rail.authorize(headers, terms())
    assert auth is not None
    with pytest.raises(error):
        await rail.settle(auth)
    assert store.settled == {auth.payment_id: None}
    with pytest.raises(PaymentReplayed):  # never settled twice: the same payment is refused
        await rail.authorize(headers, terms())
    assert state.calls == ["verify", "settle"]
    await facilitator.aclose()


async def test_a_settled_payment_answers_with_its_header(faults: tuple[Faults, str]) -> None:
    _, url = faults
    facilitator = Facilitator(url)
    store = InMemoryReplayStore()
    rail = X402Rail(facilitator, store)
    auth = await rail.authorize(payment_headers(), terms())
    assert auth is not None
    settled = await rail.settle(auth)
    assert settled.header[0] == "PAYMENT-RESPONSE"
    assert store.settled == {auth.payment_id: "5" * 87}
    await facilitator.aclose()


async def test_a_facilitator_without_our_network_cannot_quote(faults: tuple[Faults, str]) -> None:
    state, url = faults
    state.networks = ["solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"]
    facilitator = Facilitator(url)
    with pytest.raises(FacilitatorFailed, match="no exact kind"):
        await facilitator.fee_payer(LOCALNET)
    await facilitator.aclose()
