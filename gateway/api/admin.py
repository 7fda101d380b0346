"""Admin API (``Authorization: Bearer <admin token>``): keys, credit grants and calls'
settlement receipts. The grant stands in for the card onramp (Privy/MoonPay cannot be reached
from here)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from gateway.api.auth import require_admin
from gateway.errors import BadRequest, NotFound
from gateway.keys import KeyError_
from gateway.ledger import UnknownUser
from gateway.service import Gateway
from gateway.settlement.receipts import call_receipt

router = APIRouter(prefix="/api/admin", dependencies=[Depends(require_admin)])


class NewKeyBody(BaseModel):
    user: str = Field(min_length=1, max_length=128)
    label: str = ""


class GrantBody(BaseModel):
    user: str = Field(min_length=1, max_length=128)
    amount: int = Field(gt=0, description="micro-USDC")
    reference: str = Field(min_length=1, max_length=100, description="idempotency key")


def _gw(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


@router.post("/keys")
async def create_key(body: NewKeyBody, request: Request) -> dict[str, Any]:
    return (await _gw(request).keys.create(body.user, body.label)).to_json()


@router.get("/keys")
async def list_keys(request: Request, user: str | None = None) -> dict[str, Any]:
    return {"data": [k.to_json() for k in await _gw(request).keys.listing(user)]}


@router.post("/keys/{key_id}/revoke")
async def revoke_key(key_id: int, request: Request) -> dict[str, Any]:
    try:
        return (await _gw(request).keys.revoke(key_id)).to_json()
    except KeyError_ as e:
        raise NotFound(str(e)) from e


@router.post("/keys/{key_id}/rotate")
async def rotate_key(key_id: int, request: Request) -> dict[str, Any]:
    try:
        return (await _gw(request).keys.rotate(key_id)).to_json()
    except KeyError_ as e:
        raise NotFound(str(e)) from e


@router.post("/credits")
async def grant(body: GrantBody, request: Request) -> dict[str, Any]:
    gw = _gw(request)
    try:
        user_id = await gw.ledger.user_id(body.user)
    except UnknownUser as e:
        raise BadRequest(f"unknown user {body.user!r}") from e
    credited = await gw.ledger.credit(user_id, body.amount, "grant", f"grant:{body.reference}")
    bal = await gw.ledger.balance(user_id)
    return {"credited": credited, "balance": bal.available, "held": bal.held}


@router.get("/calls/{call_id}/receipt")
async def receipt(call_id: str, request: Request) -> dict[str, Any]:
    """The call's ledger row, its batch (stream, sequence, root, transaction) and inclusion
    proof (``null`` until settled); 404 for an unknown call."""
    found = await call_receipt(_gw(request).engine, call_id)
    if found is None:
        raise NotFound(f"no call {call_id!r}")
    return found.to_json()
