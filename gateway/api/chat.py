"""``POST /api/v1/chat/completions``: authenticate, validate, hold, route with failover,
stream (or answer JSON), settle the hold on the reported usage."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from gateway import billing
from gateway.api.auth import authenticate, read_body
from gateway.billing import Usage
from gateway.catalog import Route
from gateway.chat_request import ChatRequest, parse
from gateway.errors import (
    AllProvidersFailed,
    BadRequest,
    InsufficientQuota,
    ModelNotFound,
    UpstreamStreamError,
)
from gateway.ledger import Hold, InsufficientFunds, LedgerError
from gateway.quote import Bound, Charge, bound, charge, hold_amount
from gateway.service import Gateway
from gateway.upstream import (
    StreamBroken,
    UpstreamFailed,
    UpstreamStream,
    fetch_json,
    open_stream,
)

router = APIRouter()


@dataclass
class Attempt:
    route: Route
    bound: Bound
    stream: UpstreamStream | None = None
    chunks: list[dict[str, Any]] = field(default_factory=list)


def _headers(route: Route, request_id: str, hold: Hold) -> dict[str, str]:
    return {
        "X-Bourse-Provider": route.provider_name,
        "X-Bourse-Model": route.model_name,
        "X-Bourse-Model-Id": route.qualified_id,
        "X-Request-Id": request_id,
        "X-Bourse-Hold": str(hold.amount),
    }


def quota_error(gw: Gateway, available: int, needed: int) -> InsufficientQuota:
    return InsufficientQuota(
        f"balance too low for the pre-flight hold: {needed} micro-USDC needed, "
        f"{available} available. Top up with POST /api/v1/topups (USDC on Solana) and retry.",
        metadata={
            "balance": available,
            "needed": needed,
            "unit": "micro-USDC",
            "topup_url": "/api/v1/topups",
        },
    )


@router.post("/api/v1/chat/completions")
async def chat_completions(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    key = await authenticate(request)
    raw = await read_body(request, gw.settings.max_body_bytes)
    req = parse(raw, request.headers.get("accept"))
    routes = resolve_routes(gw, req)
    request_id: str = request.state.request_id
    first = bound(req.size, req.messages, req.max_output, routes[0])
    needed = hold_amount(routes[0], first)
    try:
        hold = await gw.ledger.hold(key.user_id, needed, int(gw.settings.hold_ttl_seconds * 1000))
    except InsufficientFunds as e:
        gw.metrics.holds.labels("refused").inc()
        raise quota_error(gw, e.available, e.needed) from e
    gw.metrics.holds.labels("taken").inc()
    try:
        attempt, hold = await _route(gw, req, routes, hold)
    except BaseException:
        # Also when the client left mid-routing: the void runs to its end regardless.
        await gw.run_to_end(gw.ledger.void(hold))
        gw.metrics.holds.labels("voided").inc()
        raise
    headers = _headers(attempt.route, request_id, hold)
    if req.stream:
        return StreamingResponse(
            _sse(gw, req, attempt, hold, request_id),
            media_type="text/event-stream",
            headers={**headers, "Cache-Control": "no-cache"},
        )
    usage = usage_of(attempt.chunks)
    ch = await gw.run_to_end(
        billing.finish(
            gw.ledger,
            gw.metrics,
            call_id=request_id,
            hold=hold,
            route=attempt.route,
            bound=attempt.bound,
            usage=usage,
            delivered_bytes=_delivered(attempt.chunks),
            protocol_bps=gw.catalog.protocol_fee_bps,
        )
    )
    gw.metrics.calls.labels(attempt.route.slug, attempt.route.provider_key, "ok").inc()
    body = assemble(attempt.chunks, req.model, usage, ch)
    return Response(
        orjson.dumps(body),
        media_type="application/json",
        headers={**headers, "X-Bourse-Charge": str(ch.gross)},
    )


def resolve_routes(gw: Gateway, req: ChatRequest) -> list[Route]:
    """The routes of the requested model, cheapest first (404 / 400 when there are none)."""
    routes = gw.catalog.resolve(req.model)
    if not routes:
        raise ModelNotFound(
            f"model {req.model!r} has no active provider offer (see /api/v1/models)",
            param="model",
        )
    if req.max_output is not None and req.max_output > max(r.max_output for r in routes):
        raise BadRequest(
            f"max_tokens {req.max_output} exceeds the model's maximum output "
            f"{max(r.max_output for r in routes)}",
            param="max_tokens",
        )
    return routes


async def _route(
    gw: Gateway, req: ChatRequest, routes: list[Route], hold: Hold
) -> tuple[Attempt, Hold]:
    """Try the routes cheapest first until one produces its first chunk (stream) or its
    whole answer (JSON, asked of the upstream as JSON: ``attempt.chunks`` is then that one
    ``chat.completion``); tops the hold up for a dearer candidate."""
    reasons: dict[str, str] = {}
    for route in routes:
        b = bound(req.size, req.messages, req.max_output, route)
        needed = hold_amount(route, b)
        if needed > hold.amount:
            try:
                hold = await gw.ledger.top_up(hold, needed - hold.amount)
            except InsufficientFunds as e:
                reasons[route.qualified_id] = (
                    f"balance too low to top the hold up to {needed} ({e.available} available)"
                )
                continue
            except LedgerError as e:
                reasons[route.qualified_id] = str(e)
                break
        try:
            return await open_attempt(gw, req, route, b), hold
        except (UpstreamFailed, StreamBroken) as e:
            reasons[route.qualified_id] = failed_over(gw, route, e)
    gw.metrics.calls.labels(req.model, "-", "all_failed").inc()
    raise AllProvidersFailed(
        f"every provider of {req.model!r} failed; the hold was released",
        metadata={"providers": reasons},
    )


async def open_attempt(gw: Gateway, req: ChatRequest, route: Route, b: Bound) -> Attempt:
    """Call ``route`` until its first chunk (stream) or its whole answer (JSON); raises
    :class:`UpstreamFailed` / :class:`StreamBroken` when the caller should fail over."""
    attempt = Attempt(route, b)
    started = time.perf_counter()
    timeout = gw.settings.upstream_first_byte_timeout
    if req.stream:
        attempt.stream = await open_stream(gw.http, route, req.body, timeout)
    else:
        attempt.chunks = [await fetch_json(gw.http, route, req.body, timeout)]
    gw.metrics.upstream_latency.labels(route.provider_key).observe(time.perf_counter() - started)
    return attempt


def failed_over(gw: Gateway, route: Route, e: Exception) -> str:
    """Count and log an upstream that failed before its first byte; the reason."""
    gw.metrics.failovers.labels(route.provider_key).inc()
    gw.log.warning("upstream failed", extra={"provider": route.qualified_id, "reason": str(e)})
    return str(e)


def _content_bytes(chunk: dict[str, Any]) -> int:
    """UTF-8 bytes of text in a stream chunk's deltas (or a JSON answer's messages)."""
    n = 0
    for choice in chunk.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta", choice.get("message"))
        if isinstance(delta, dict):
            for k in ("content", "reasoning_content", "refusal"):
                v = delta.get(k)
                if isinstance(v, str):
                    n += len(v.encode())
            if delta.get("tool_calls"):
                n += len(orjson.dumps(delta["tool_calls"]))
    return n


def _delivered(chunks: list[dict[str, Any]]) -> int:
    return sum(_content_bytes(c) for c in chunks)


def usage_of(chunks: list[dict[str, Any]]) -> Usage | None:
    for c in reversed(chunks):
        u = Usage.of(c.get("usage"))
        if u is not None:
            return u
    return None


def usage_json(usage: Usage | None, ch: Charge) -> dict[str, Any]:
    return {
        "prompt_tokens": ch.prompt_tokens,
        "completion_tokens": ch.completion_tokens,
        "total_tokens": ch.prompt_tokens + ch.completion_tokens,
        "cost": ch.gross / 1_000_000,
        "cost_micro_usdc": ch.gross,
        "usage_reported": usage is not None,
    }


def _is_answer(part: dict[str, Any]) -> bool:
    """A whole ``chat.completion`` (choices with a ``message``), not a stream chunk."""
    return any(isinstance(c, dict) and "message" in c for c in part.get("choices") or [])


def assemble(
    chunks: list[dict[str, Any]], model: str, usage: Usage | None, ch: Charge
) -> dict[str, Any]:
    """One ``chat.completion``: the upstream's JSON answer (its choices as they are), or
    assembled from the chunks of a stream."""
    first = chunks[0]
    choices = first["choices"] if _is_answer(first) else _merged(chunks)
    return {
        "id": first.get("id") or f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": first.get("created") or int(time.time()),
        "model": model,
        "choices": choices,
        "usage": usage_json(usage, ch),
    }


def _merged(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The choices of a stream, their deltas joined."""
    choices: dict[int, dict[str, Any]] = {}
    for c in chunks:
        for choice in c.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            i = int(choice.get("index", 0))
            slot = choices.setdefault(
                i,
                {
                    "index": i,
                    "message": {"role": "assistant", "content": ""},
                    "finish_reason": None,
                    "logprobs": None,
                },
            )
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                slot["message"]["content"] += delta["content"]
            if isinstance(delta.get("role"), str):
                slot["message"]["role"] = delta["role"]
            if choice.get("finish_reason") is not None:
                slot["finish_reason"] = choice["finish_reason"]
    return [choices[i] for i in sorted(choices)]


def sse_event(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


@dataclass
class Relay:
    """What :func:`relay_sse` delivered: text bytes, the last usage reported, how it ended."""

    delivered: int = 0
    usage: Usage | None = None
    outcome: str = "ok"  # ok | broken | client_gone


async def relay_sse(
    stream: UpstreamStream,
    req: ChatRequest,
    charge_of: Callable[[Usage], Charge],
    relay: Relay,
) -> AsyncIterator[bytes]:
    """The upstream's chunks as the client's SSE events (both rails): the model renamed, the
    usage chunk sent only when the client asked for it (priced by ``charge_of``), then
    ``[DONE]``; a stream that breaks ends with an SSE error event."""
    try:
        chunk: dict[str, Any] | None = stream.first
        while chunk is not None:
            relay.delivered += _content_bytes(chunk)
            u = Usage.of(chunk.get("usage"))
            if u is not None:
                relay.usage = u
            chunk["model"] = req.model
            if not chunk.get("choices") and "usage" in chunk:
                if req.include_usage and relay.usage is not None:
                    chunk["usage"] = usage_json(relay.usage, charge_of(relay.usage))
                    yield sse_event(chunk)
            else:
                chunk.pop("usage", None)
                yield sse_event(chunk)
            chunk = await anext(stream.rest, None)
        yield b"data: [DONE]\n\n"
    except StreamBroken as e:
        relay.outcome = "broken"
        yield sse_event(UpstreamStreamError(f"the upstream stream broke: {e}").body())
    except BaseException:
        relay.outcome = "client_gone"
        raise


async def _sse(
    gw: Gateway, req: ChatRequest, attempt: Attempt, hold: Hold, request_id: str
) -> AsyncIterator[bytes]:
    stream = attempt.stream
    assert stream is not None
    relay = Relay()
    try:
        async for event in relay_sse(
            stream, req, lambda usage: billing_preview(gw, attempt.route, usage, hold), relay
        ):
            yield event
    finally:
        await gw.run_to_end(
            _finish_stream(
                gw, stream, request_id, hold, attempt, relay.usage, relay.delivered, relay.outcome
            )
        )


async def _finish_stream(
    gw: Gateway,
    stream: UpstreamStream,
    request_id: str,
    hold: Hold,
    attempt: Attempt,
    usage: Usage | None,
    delivered: int,
    outcome: str,
) -> None:
    await stream.aclose()
    await billing.finish(
        gw.ledger,
        gw.metrics,
        call_id=request_id,
        hold=hold,
        route=attempt.route,
        bound=attempt.bound,
        usage=usage,
        delivered_bytes=delivered,
        protocol_bps=gw.catalog.protocol_fee_bps,
    )
    gw.metrics.calls.labels(attempt.route.slug, attempt.route.provider_key, outcome).inc()


def billing_preview(gw: Gateway, route: Route, usage: Usage, hold: Hold) -> Charge:
    return charge(
        route,
        usage.prompt_tokens,
        usage.completion_tokens,
        hold.amount,
        gw.catalog.protocol_fee_bps,
    )
