"""Refusals on the localnet, each with nothing served and no USDC moved: a replayed payment, a
wrong amount / mint / payTo / network, a payment for another model, an expired blockhash,
malformed headers, and a facilitator that went down."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from solders.keypair import Keypair

from gateway.x402 import Facilitator, X402Rail
from gateway.x402.client import PaymentRefused, X402Payer
from tests.x402.conftest import Env, Payer, token_balance, write_keypair
from tests.x402.crafting import craft
from tests.x402.node import needs_node, run_facilitator
from tests.x402.replay_double import InMemoryReplayStore
from tests.x402.resource_server import PRICES, PaidResource, serve

pytestmark = needs_node
SLUG = "deepseek-chat"


class NothingMoves:
    """Snapshot the payer's and the inbox's USDC and the served count; assert none changed."""

    def __init__(self, env: Env, payer: Payer) -> None:
        self.env, self.payer = env, payer
        self.before: tuple[int, int, int] = (0, 0, 0)

    async def state(self) -> tuple[int, int, int]:
        net = self.env.net
        return (
            await token_balance(net, self.payer.ata),
            await token_balance(net, self.env.inbox(SLUG)),
            self.env.resource.served,
        )

    async def __aenter__(self) -> NothingMoves:
        self.before = await self.state()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if exc[0] is None:
            assert await self.state() == self.before


async def post(env: Env, header: tuple[str, str] | None, slug: str = SLUG) -> httpx.Response:
    headers = dict([header]) if header else {}
    async with httpx.AsyncClient(timeout=60) as http:
        return await http.post(f"{env.url}/paid", json={"model": slug}, headers=headers)


def error_of(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    error = body["error"]
    return str(error["reason"] if isinstance(error, dict) else error)


@pytest.mark.parametrize("version", [2, 1])
async def test_a_replayed_payment_is_refused(x402_env: Env, payer: Payer, version: int) -> None:
    header = await craft(x402_env, payer, SLUG, version=version)
    first = await post(x402_env, header)
    assert first.status_code == 200
    async with NothingMoves(x402_env, payer):
        again = await post(x402_env, header)
        assert again.status_code == 402
        assert error_of(again).startswith("payment_already_used")
        assert "payment-required" in again.headers  # a fresh challenge to pay again


async def test_the_same_transaction_under_the_other_header_version_is_a_replay(
    x402_env: Env, payer: Payer
) -> None:
    name, value = await craft(x402_env, payer, SLUG, version=2)
    assert (await post(x402_env, (name, value))).status_code == 200
    v2 = json.loads(base64.b64decode(value))
    v1 = {"x402Version": 1, "scheme": "exact", "network": "solana-devnet", "payload": v2["payload"]}
    async with NothingMoves(x402_env, payer):
        again = await post(
            x402_env, ("X-PAYMENT", base64.b64encode(json.dumps(v1).encode()).decode())
        )
        assert again.status_code == 402
        assert error_of(again).startswith("payment_already_used")


WRONG: dict[str, dict[str, Any]] = {
    "amount": {"amount": PRICES[SLUG] - 1},
    "amount_v1": {"version": 1, "amount": PRICES[SLUG] + 1},
    "mint": {"asset": Keypair().pubkey()},
    "pay_to": {"pay_to": Keypair().pubkey()},
    "destination": {"build": {"destination": Keypair().pubkey()}},
    "accepted_amount": {"offer_changes": {"amount": "1"}, "amount": 1},
    "accepted_pay_to": {"offer_changes": {"pay_to": str(Keypair().pubkey())}},
    "network_v1": {"version": 1, "offer_changes": {"network": "solana"}},
    "network_v2": {"offer_changes": {"network": "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"}},
}
REASONS = {
    "amount": "invalid_exact_svm_payload_amount_mismatch",
    "amount_v1": "invalid_exact_svm_payload_amount_mismatch",
    "mint": "invalid_exact_svm_payload_mint_mismatch",
    "pay_to": "invalid_exact_svm_payload_recipient_mismatch",
    "destination": "invalid_exact_svm_payload_recipient_mismatch",
    "accepted_amount": "amount_mismatch",
    "accepted_pay_to": "payTo_mismatch",
    "network_v1": "network_mismatch",
    "network_v2": "network_mismatch",
}


@pytest.mark.parametrize("case", list(WRONG))
async def test_a_payment_off_the_quote_is_refused_before_the_facilitator(
    x402_env: Env, payer: Payer, case: str
) -> None:
    changes = dict(WRONG[case])
    header = await craft(x402_env, payer, SLUG, **changes)
    claimed = len(x402_env.replay.claimed)
    async with NothingMoves(x402_env, payer):
        answer = await post(x402_env, header)
        assert answer.status_code == 402, answer.text
        assert error_of(answer).startswith(REASONS[case])
    assert len(x402_env.replay.claimed) == claimed  # refused before any claim


async def test_a_payment_for_another_model_is_refused(x402_env: Env, payer: Payer) -> None:
    cheap = await craft(x402_env, payer, "gemma-3-27b")  # pays the cheaper model's inbox
    async with NothingMoves(x402_env, payer):
        answer = await post(x402_env, cheap, slug=SLUG)
        assert answer.status_code == 402
        assert error_of(answer).startswith("amount_mismatch")


async def test_an_expired_blockhash_is_refused_by_the_facilitator(
    x402_env: Env, payer: Payer
) -> None:
    header = await craft(x402_env, payer, SLUG)
    await x402_env.net.rpc("bourse_expireBlockhash", [])
    claimed = len(x402_env.replay.claimed)
    async with NothingMoves(x402_env, payer):
        answer = await post(x402_env, header)
        assert answer.status_code == 402
        error = error_of(answer)
        assert error.startswith("invalid_exact_svm_transaction_simulation_failed"), error
        assert "BlockhashNotFound" in error
    assert len(x402_env.replay.claimed) == claimed  # verify failed: the claim was released


def b64(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.b64encode(raw).decode()


MALFORMED: list[tuple[str, str]] = [
    ("PAYMENT-SIGNATURE", "%%% not base64 %%%"),
    ("PAYMENT-SIGNATURE", b64(b"\xff\xfe not utf-8")),
    ("PAYMENT-SIGNATURE", b64(b"{not json")),
    ("PAYMENT-SIGNATURE", b64([1, 2, 3])),
    ("PAYMENT-SIGNATURE", b64({"x402Version": 2, "payload": {"transaction": "AA=="}})),
    (
        "PAYMENT-SIGNATURE",
        b64({"x402Version": 1, "scheme": "exact", "network": "x", "payload": {}}),
    ),
    ("X-PAYMENT", b64({"x402Version": 1, "scheme": "exact", "network": "solana-devnet"})),
    (
        "X-PAYMENT",
        b64(
            {
                "x402Version": 1,
                "scheme": "exact",
                "network": "solana-devnet",
                "payload": {"transaction": "not a transaction"},
            }
        ),
    ),
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
async def test_malformed_headers_are_refused(
    x402_env: Env, payer: Payer, header: tuple[str, str]
) -> None:
    async with NothingMoves(x402_env, payer):
        answer = await post(x402_env, header)
        assert answer.status_code == 400, answer.text
        assert error_of(answer) in (
            "invalid_payment_header",
            "invalid_exact_svm_payload_transaction_could_not_be_decoded",
        )


async def test_both_headers_at_once_are_refused(x402_env: Env, payer: Payer) -> None:
    name, value = await craft(x402_env, payer, SLUG)
    async with NothingMoves(x402_env, payer), httpx.AsyncClient() as http:
        answer = await http.post(
            f"{x402_env.url}/paid",
            json={"model": SLUG},
            headers={name: value, "X-PAYMENT": value},
        )
        assert answer.status_code == 400


@pytest.fixture
async def doomed_facilitator(
    x402_env: Env, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, Any]]:
    """A second facilitator (with its own paid resource) that the test stops mid-way."""
    path = write_keypair(tmp_path_factory.mktemp("doomed") / "fee-payer.json", x402_env.fee_payer)
    cm = run_facilitator(path, x402_env.net.rpc_url)
    facilitator_url = await cm.__aenter__()
    rail = X402Rail(Facilitator(facilitator_url), InMemoryReplayStore())
    resource = PaidResource(rail, x402_env.net.usdc_mint)
    async with serve(resource.app()) as url:
        yield url, cm
    await rail.facilitator.aclose()


async def test_a_facilitator_that_is_down_is_a_503_with_nothing_charged(
    x402_env: Env, payer: Payer, doomed_facilitator: tuple[str, Any]
) -> None:
    url, facilitator = doomed_facilitator
    async with X402Payer(payer.keypair, x402_env.net.rpc_url, max_amount=50_000) as client:
        async with httpx.AsyncClient() as http:  # the 402 (fee payer read from /supported)
            first = await http.post(f"{url}/paid", json={"model": SLUG})
        assert first.status_code == 402
        required = client.payment_required(first)
        header = await client.payment_header(required, client.choose(required))
        await facilitator.__aexit__(None, None, None)  # the facilitator goes down
        async with NothingMoves(x402_env, payer), httpx.AsyncClient() as http:
            answer = await http.post(f"{url}/paid", json={"model": SLUG}, headers=dict([header]))
            assert answer.status_code == 503
            assert error_of(answer) == "facilitator_unavailable"
        with pytest.raises(PaymentRefused) as refused:
            await client.request("POST", f"{url}/paid", json={"model": SLUG})
        assert refused.value.response.status_code == 503  # no fee payer to quote with
