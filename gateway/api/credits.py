"""``GET /api/v1/credits``: the key's user balance, held amount and how calls are priced."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from gateway.api.auth import authenticate
from gateway.service import Gateway

router = APIRouter()

COST_MODEL = {
    "unit": "micro-USDC (1e-6 USDC)",
    "hold": "before each call: the offer's prices x (a byte bound on input tokens capped at "
    "the context window + max_tokens or the model's maximum output), rounded up",
    "charge": "after the call: the reported usage at the same prices, capped at the hold; "
    "the rest of the hold returns to the balance",
}


@router.get("/api/v1/credits")
async def credits(request: Request) -> dict[str, Any]:
    gw: Gateway = request.app.state.gateway
    key = await authenticate(request)
    bal = await gw.ledger.balance(key.user_id)
    return {
        "user": key.user,
        "balance": bal.available,
        "held": bal.held,
        "balance_usdc": f"{bal.available / 1_000_000:.6f}",
        "currency": "USDC",
        "unit": "micro-USDC",
        "cost_model": COST_MODEL,
        "topup": {"solana_pay": "POST /api/v1/topups {amount}"},
    }
