"""Bearer-key authentication, per-key rate limits and bounded body reads."""

from __future__ import annotations

import hmac

from fastapi import Request

from gateway.errors import Forbidden, PayloadTooLarge, RateLimited, Unauthorized
from gateway.keys import KeyInfo
from gateway.ratelimit import RateLimiter
from gateway.service import Gateway


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing API key: send Authorization: Bearer bs_live_…")
    return token.strip()


async def authenticate(request: Request) -> KeyInfo:
    gw: Gateway = request.app.state.gateway
    key = await gw.keys.authenticate(_bearer(request))
    if key is None:
        raise Unauthorized("invalid or revoked API key")
    wait = gw.limiter.take(key.id)
    if wait > 0:
        raise RateLimited(
            f"rate limit of {gw.settings.rate_limit_per_minute} requests per minute per key "
            "exceeded",
            headers={"Retry-After": RateLimiter.retry_after(wait)},
        )
    request.state.user_id = key.user_id
    return key


def require_admin(request: Request) -> None:
    gw: Gateway = request.app.state.gateway
    secret = gw.settings.admin_secret()
    if not secret:
        raise Forbidden("the admin API is disabled (no admin token configured)")
    if not hmac.compare_digest(_bearer(request), secret):
        raise Unauthorized("invalid admin token")


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise PayloadTooLarge(f"request body over {limit} bytes")
        chunks.append(part)
    return b"".join(chunks)
