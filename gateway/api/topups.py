"""``POST /api/v1/topups`` (a Solana Pay transfer request), ``GET /api/v1/topups/{reference}``
(looks for the payment and credits it), ``POST /api/v1/topups/{reference}/confirm``
(``{"signature"}``: check a given transaction)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from gateway.api.auth import authenticate
from gateway.errors import BadRequest, GatewayError, NotFound
from gateway.service import Gateway
from gateway.topups.service import SignatureUsed, TopUpError, TopUps, UnknownTopUp

router = APIRouter(prefix="/api/v1/topups")


class NewTopUp(BaseModel):
    amount: int = Field(gt=0, description="micro-USDC")


class Confirm(BaseModel):
    signature: str | None = None


class Conflict(GatewayError):
    status = 409
    code = "SIGNATURE_ALREADY_USED"
    type = "invalid_request_error"


def _topups(request: Request) -> TopUps:
    gw: Gateway = request.app.state.gateway
    if gw.topups is None:
        raise NotFound("top-ups are not enabled on this gateway")
    return gw.topups


def _map(e: TopUpError) -> GatewayError:
    if isinstance(e, UnknownTopUp):
        return NotFound(str(e))
    if isinstance(e, SignatureUsed):
        return Conflict(str(e))
    return BadRequest(str(e))


@router.post("")
async def create(body: NewTopUp, request: Request) -> dict[str, Any]:
    key = await authenticate(request)
    service = _topups(request)
    try:
        t = await service.create(key.user_id, body.amount)
    except TopUpError as e:
        raise _map(e) from e
    return t.to_json(service.url(t))


@router.get("/{reference}")
async def status(reference: str, request: Request) -> dict[str, Any]:
    key = await authenticate(request)
    service = _topups(request)
    try:
        await service.get(reference, key.user_id)
        t = await service.confirm(reference)
    except TopUpError as e:
        raise _map(e) from e
    bal = await service.ledger.balance(key.user_id)
    return {**t.to_json(service.url(t)), "balance": bal.available}


@router.post("/{reference}/confirm")
async def confirm(reference: str, body: Confirm, request: Request) -> dict[str, Any]:
    key = await authenticate(request)
    service = _topups(request)
    try:
        await service.get(reference, key.user_id)
        t = await service.confirm(reference, body.signature)
    except TopUpError as e:
        raise _map(e) from e
    except ValueError as e:
        raise BadRequest(f"invalid signature: {e}") from e
    bal = await service.ledger.balance(key.user_id)
    return {**t.to_json(service.url(t)), "balance": bal.available}
