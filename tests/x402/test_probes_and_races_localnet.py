"""GET and HEAD answer the same 402 as POST and never settle; one payment sent by eight requests
at once is served and settled once."""

from __future__ import annotations

import asyncio

import httpx

from tests.x402.conftest import Env, Payer, token_balance
from tests.x402.crafting import craft
from tests.x402.node import needs_node
from tests.x402.resource_server import PRICES

pytestmark = needs_node
SLUG = "deepseek-chat"


async def test_get_and_head_answer_the_same_402(x402_env: Env) -> None:
    url = f"{x402_env.url}/paid"
    async with httpx.AsyncClient() as http:
        answers = [await http.request(m, url) for m in ("POST", "GET", "HEAD")]
    assert [a.status_code for a in answers] == [402, 402, 402]
    offers = {a.headers["payment-required"] for a in answers}
    assert len(offers) == 1
    assert answers[1].json() == answers[0].json()
    assert answers[2].content == b""


async def test_a_paid_get_is_not_settled(x402_env: Env, payer: Payer) -> None:
    name, value = await craft(x402_env, payer, SLUG)
    before = await token_balance(x402_env.net, payer.ata)
    async with httpx.AsyncClient(timeout=60) as http:
        for method in ("GET", "HEAD"):
            answer = await http.request(method, f"{x402_env.url}/paid", headers={name: value})
            assert answer.status_code == 402
        assert await token_balance(x402_env.net, payer.ata) == before
        paid = await http.post(f"{x402_env.url}/paid", json={"model": SLUG}, headers={name: value})
    assert paid.status_code == 200  # the released payment was still good for the POST
    assert await token_balance(x402_env.net, payer.ata) == before - PRICES[SLUG]


async def test_one_payment_sent_eight_times_at_once_is_served_once(
    x402_env: Env, payer: Payer
) -> None:
    header = dict([await craft(x402_env, payer, SLUG)])
    before = await token_balance(x402_env.net, payer.ata)
    served = x402_env.resource.served
    async with httpx.AsyncClient(timeout=60) as http:
        answers = await asyncio.gather(
            *(
                http.post(f"{x402_env.url}/paid", json={"model": SLUG}, headers=header)
                for _ in range(8)
            )
        )
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [402] * 7
    refused = [a.json()["error"] for a in answers if a.status_code == 402]
    assert all(e.startswith("payment_already_used") for e in refused)
    assert x402_env.resource.served == served + 1
    assert await token_balance(x402_env.net, payer.ata) == before - PRICES[SLUG]
