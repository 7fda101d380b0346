"""Paying the rail end to end on the localnet: our Python client (v1 and v2 headers) and the npm
@x402/fetch client pay through a real @x402/svm facilitator; the USDC lands in ATA(PDA, USDC)."""

from __future__ import annotations

import pytest
from solders.pubkey import Pubkey

from gateway.x402.client import X402Payer
from tests.x402.conftest import Env, Payer, token_balance
from tests.x402.node import fetch_with_payment, needs_node
from tests.x402.resource_server import PRICES

pytestmark = needs_node


async def balances(env: Env, payer: Payer, slug: str) -> tuple[int, int, int]:
    fee_payer_sol = (await env.net.rpc("getBalance", [str(env.fee_payer.pubkey())]))["value"]
    return (
        await token_balance(env.net, payer.ata),
        await token_balance(env.net, env.inbox(slug)),
        int(fee_payer_sol),
    )


@pytest.mark.parametrize("version", [2, 1])
async def test_python_client_pays_into_the_model_inbox(
    x402_env: Env, payer: Payer, version: int
) -> None:
    slug = "deepseek-chat"
    price = PRICES[slug]
    before = await balances(x402_env, payer, slug)
    served = x402_env.resource.served
    async with X402Payer(
        payer.keypair, x402_env.net.rpc_url, version=2 if version == 2 else 1, max_amount=50_000
    ) as client:
        paid = await client.request("POST", f"{x402_env.url}/paid", json={"model": slug})
    assert paid.response.status_code == 200
    header = "payment-response" if version == 2 else "x-payment-response"
    assert header in paid.response.headers
    assert paid.settlement is not None and paid.settlement.success
    assert paid.settlement.transaction == paid.response.json()["transaction"]
    after = await balances(x402_env, payer, slug)
    assert after[0] == before[0] - price
    assert after[1] == before[1] + price
    assert after[2] < before[2]  # the facilitator paid the fee
    assert x402_env.resource.served == served + 1
    tx = await x402_env.net.rpc(
        "getTransaction", [paid.settlement.transaction, {"maxSupportedTransactionVersion": 0}]
    )
    assert tx["meta"]["err"] is None
    assert tx["transaction"]["message"]["accountKeys"][0] == str(x402_env.fee_payer.pubkey())


async def test_npm_x402_fetch_pays_into_the_model_inbox(x402_env: Env, payer: Payer) -> None:
    slug = "gemma-3-27b"
    price = PRICES[slug]
    before = await balances(x402_env, payer, slug)
    answer = await fetch_with_payment(
        payer.path,
        x402_env.net.rpc_url,
        f"{x402_env.url}/paid",
        str(x402_env.net.usdc_mint),
        10_000,
        {"model": slug},
    )
    assert answer["status"] == 200, answer
    settlement = answer["settlement"]
    assert settlement["success"] is True
    assert settlement["network"] == "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1"
    assert settlement["payer"] == str(payer.keypair.pubkey())
    after = await balances(x402_env, payer, slug)
    assert after[0] == before[0] - price
    assert after[1] == before[1] + price
    Pubkey.from_string(settlement["payer"])
