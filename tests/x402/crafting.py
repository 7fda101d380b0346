"""Signing payments that are wrong on purpose (tests of the refusals)."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
from solders.hash import Hash

from gateway.x402.client import X402Payer, encode_payment
from gateway.x402.payment_tx import build_payment_transaction
from tests.x402.conftest import Env, Payer


async def craft(
    env: Env,
    payer: Payer,
    slug: str,
    *,
    version: int = 2,
    blockhash: Hash | None = None,
    build: dict[str, Any] | None = None,
    offer_changes: dict[str, Any] | None = None,
    **payment_changes: Any,
) -> tuple[str, str]:
    """A payment header for ``slug``'s 402, with fields of the payment, the offer or the build
    (``destination=``, ``compute_unit_price=``) replaced."""
    async with X402Payer(
        payer.keypair, env.net.rpc_url, version=2 if version == 2 else 1, max_amount=10**9
    ) as client:
        async with httpx.AsyncClient() as http:
            first = await http.post(f"{env.url}/paid", json={"model": slug})
        assert first.status_code == 402
        required = client.payment_required(first)
        offer = client.choose(required)
        payment = dataclasses.replace(await client.sign(offer), **payment_changes)
        if offer_changes:
            offer = offer.model_copy(update=offer_changes)
        if blockhash is None:
            latest = await env.net.rpc("getLatestBlockhash", [])
            blockhash = Hash.from_string(latest["value"]["blockhash"])
        tx = build_payment_transaction(payer.keypair, payment, blockhash, **(build or {}))
        return encode_payment(required, offer, tx)
