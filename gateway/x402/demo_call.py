"""One x402 call through the gateway, for ``bourse demo``: read the 402, pay it from a keypair
with :class:`gateway.x402.client.X402Payer`, and report what moved into the model's inbox.

    report = await pay_one_call("http://127.0.0.1:8080", wallet, rpc_url, "deepseek-chat")
    report.status, report.amount, report.transaction, report.inbox_delta
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import httpx
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from gateway.x402.client import PaymentRefused, X402Payer, read_settlement

ROUTE = "/api/x402/v1/chat/completions"


@dataclass(frozen=True)
class X402CallReport:
    status: int  # the paid request's HTTP status (200 when served)
    model: str
    amount: int  # micro-USDC paid (the quoted price)
    transaction: str | None  # the settlement's Solana transaction signature
    pay_to: str  # the model's inbox authority
    inbox: str  # ATA(pay_to, USDC): where the USDC landed
    inbox_delta: int  # the inbox's balance change over the call
    answer: str  # the assistant's reply (empty when not served)


def route_url(base_url: str) -> str:
    """The x402 route of a gateway given its root URL or its OpenAI base URL (…/api/v1)."""
    root = base_url.rstrip("/")
    for suffix in ("/api/v1", "/api"):
        if root.endswith(suffix):
            root = root[: -len(suffix)]
            break
    return root + ROUTE


async def _balance(rpc: AsyncClient, account: Pubkey) -> int:
    if (await rpc.get_account_info(account)).value is None:
        return 0
    return int((await rpc.get_token_account_balance(account)).value.amount)


async def pay_one_call(
    base_url: str,
    payer: Keypair,
    rpc_url: str,
    model: str,
    *,
    prompt: str = "Say hello to the agent economy.",
    max_amount: int = 1_000_000,
    version: Literal[1, 2] = 2,
    http_timeout: float = 60.0,
) -> X402CallReport:
    """Pay one non-streamed chat completion on ``model`` (at most ``max_amount`` micro-USDC).

    Raises :class:`gateway.x402.client.NoAcceptableOffer` when the price is above
    ``max_amount``; a refused payment is reported (its status, nothing paid), not raised."""
    url = route_url(base_url)
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": False}
    async with (
        httpx.AsyncClient(timeout=http_timeout) as http,
        X402Payer(payer, rpc_url, version=version, max_amount=max_amount, http=http) as client,
        AsyncClient(rpc_url, commitment=Confirmed) as rpc,
    ):
        first = await http.post(url, json=body)
        if first.status_code != 402:
            raise PaymentRefused(first)
        required = client.payment_required(first)
        offer = client.choose(required)
        pay_to = Pubkey.from_string(offer.pay_to)
        mint = Pubkey.from_string(offer.asset)
        mint_account = (await rpc.get_account_info(mint)).value
        token_program = mint_account.owner if mint_account is not None else None
        inbox = (
            get_associated_token_address(pay_to, mint, token_program)
            if token_program is not None
            else get_associated_token_address(pay_to, mint)
        )
        before = await _balance(rpc, inbox)
        name, value = await client.payment_header(required, offer)
        paid = await http.post(url, json=body, headers={name: value})
        settlement = read_settlement(paid) if paid.status_code == 200 else None
        after = await _balance(rpc, inbox)
    answer = ""
    if paid.status_code == 200:
        choices = paid.json().get("choices") or [{}]
        answer = str((choices[0].get("message") or {}).get("content") or "")
    return X402CallReport(
        status=paid.status_code,
        model=model,
        amount=int(offer.get_amount()) if settlement is not None else 0,
        transaction=settlement.transaction if settlement is not None else None,
        pay_to=str(pay_to),
        inbox=str(inbox),
        inbox_delta=after - before,
        answer=answer,
    )
