"""``POST /api/x402/v1/chat/completions``: rail 2, pay per call with x402, no account.

The request is rail 1's (same body, same routing and failover, same streaming). Its price is
the request's upper bound at the cheapest offer (rail 1's pre-flight quote), paid in USDC to
the model's inbox. Steps: validate → quote → 402 with the terms, or (with ``X-PAYMENT`` /
``PAYMENT-SIGNATURE``) decode, match against the recomputed quote, claim the payment id in the
ledger, facilitator ``/verify`` → route until the first upstream byte (every provider failing:
the payment is released, 502, nothing charged) → facilitator ``/settle`` → record the call for
batch settlement from the inbox → answer with ``(X-)PAYMENT-RESPONSE`` and stream.

What is charged: the quoted amount, whichever provider serves (the exact scheme moves exactly
the amount signed; there is no refund of the unused bound). The call's split is that amount's
``expected_split`` at the serving offer's creator fee.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from bourse_chain.money import expected_split
from bourse_chain.results import Split
from gateway.api.auth import read_body
from gateway.api.chat import (
    Attempt,
    Relay,
    assemble,
    failed_over,
    open_attempt,
    relay_sse,
    resolve_routes,
    usage_of,
)
from gateway.billing import Usage
from gateway.catalog import Route
from gateway.chat_request import ChatRequest, parse
from gateway.errors import AllProvidersFailed, ModelNotFound, NotFound
from gateway.quote import Bound, Charge, bound, hold_amount
from gateway.service import Gateway
from gateway.upstream import StreamBroken, UpstreamFailed
from gateway.x402.challenge import Challenge
from gateway.x402.errors import X402Error
from gateway.x402.rail import Authorization, SettledPayment, refusal
from gateway.x402.service import X402Service
from gateway.x402.terms import PaymentTerms

PATH = "/api/x402/v1/chat/completions"
USAGE_SOURCE = "x402_quote"  # the ledger row's tokens: the quoted bound (usage: the answer's)

router = APIRouter()


def _rail(gw: Gateway) -> X402Service:
    if gw.x402 is None:
        raise NotFound("x402 is not enabled on this gateway (no facilitator configured)")
    return gw.x402


def _answer(c: Challenge, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(c.body, status_code=c.status, headers={**c.headers, **(headers or {})})


def _facilitator_down(error: X402Error) -> Response:
    """A refusal before terms exist (``/supported`` failed): 502/503 with the reason."""
    body = {"error": {"code": error.http_status, "reason": error.reason, "message": str(error)}}
    return JSONResponse(body, status_code=error.http_status)


def quote(req: ChatRequest, routes: list[Route]) -> tuple[Bound, int]:
    """This request's upper bound at the cheapest offer and its price (rail 1's hold)."""
    b = bound(req.size, req.messages, req.max_output, routes[0])
    return b, max(1, hold_amount(routes[0], b))


def _description(route: Route, b: Bound, amount: int) -> str:
    return (
        f"one chat completion with {route.slug}: {amount} micro-USDC, the price of up to "
        f"{b.input_tokens} input and {b.output_tokens} output tokens at the cheapest offer"
    )


async def _terms(
    x: X402Service, request: Request, route: Route, b: Bound, amount: int
) -> PaymentTerms:
    return await x.terms(
        slug=route.slug,
        amount=amount,
        resource=str(request.url.replace(query="")),
        description=_description(route, b, amount),
    )


@router.get(
    PATH, summary="The x402 payment terms (402) of a minimal call", operation_id="x402_terms"
)
@router.head(
    PATH, summary="The x402 payment terms (402) of a minimal call", operation_id="x402_terms_head"
)
async def x402_terms(request: Request, model: str | None = None) -> Response:
    """Always 402: the terms of a one-message call to ``model`` (default: the first listed
    model) with its default maximum output. Conformance tools and pay.sh probe with GET; a
    POST gets the price of its own body."""
    gw: Gateway = request.app.state.gateway
    x = _rail(gw)
    slug = model or next(iter(sorted(gw.catalog.routes)), None)
    routes = gw.catalog.resolve(slug) if slug else []
    if not routes:
        raise ModelNotFound(f"model {slug!r} has no active provider offer", param="model")
    b = bound(0, 1, None, routes[0])
    amount = max(1, hold_amount(routes[0], b))
    try:
        terms = await _terms(x, request, routes[0], b, amount)
    except X402Error as e:
        return _facilitator_down(e)
    return _answer(x.rail.challenge(terms))


@router.post(
    PATH,
    summary="Chat completion paid per call with x402 (USDC on Solana)",
    operation_id="x402_chat_completions",
)
async def x402_chat_completions(request: Request) -> Response:
    """The OpenAI chat-completions request of ``POST /api/v1/chat/completions``, without an
    API key: unpaid, it answers 402 with the payment terms (v2 ``PAYMENT-REQUIRED`` header
    and a JSON body with v1 ``accepts``); paid (``PAYMENT-SIGNATURE`` or ``X-PAYMENT``), it
    settles the payment into the model's inbox and answers with ``PAYMENT-RESPONSE`` /
    ``X-PAYMENT-RESPONSE``, streaming unless ``stream`` is false."""
    gw: Gateway = request.app.state.gateway
    x = _rail(gw)
    raw = await read_body(request, gw.settings.max_body_bytes)
    req = parse(raw, request.headers.get("accept"))
    routes = resolve_routes(gw, req)
    b, amount = quote(req, routes)
    try:
        terms = await _terms(x, request, routes[0], b, amount)
    except X402Error as e:
        return _facilitator_down(e)
    try:
        auth = await x.rail.authorize(request.headers, terms)
    except X402Error as e:
        gw.metrics.calls.labels(routes[0].slug, "-", "x402_refused").inc()
        return _answer(refusal(e, terms))
    if auth is None:
        return _answer(x.rail.challenge(terms))
    try:
        attempt = await _route(gw, req, routes)
    except BaseException:
        await gw.run_to_end(x.rail.release(auth))  # nothing charged; the payment may come back
        raise
    try:
        settled, ch = await gw.run_to_end(_settle_and_record(gw, x, auth, attempt, amount, b))
    except BaseException as e:
        if attempt.stream is not None:
            await attempt.stream.aclose()
        if isinstance(e, X402Error):
            return _answer(refusal(e, terms))
        raise
    headers = _headers(attempt.route, request.state.request_id, settled, amount)
    if req.stream:
        return StreamingResponse(
            _sse(gw, req, attempt, ch),
            media_type="text/event-stream",
            headers={**headers, "Cache-Control": "no-cache"},
        )
    gw.metrics.calls.labels(attempt.route.slug, attempt.route.provider_key, "ok").inc()
    usage = usage_of(attempt.chunks)
    body = assemble(attempt.chunks, req.model, usage, _with_tokens(ch, usage))
    return JSONResponse(body, headers=headers)


async def _route(gw: Gateway, req: ChatRequest, routes: list[Route]) -> Attempt:
    """Rail 1's routing without a hold: cheapest first, fail over until a first byte."""
    reasons: dict[str, str] = {}
    for route in routes:
        b = bound(req.size, req.messages, req.max_output, route)
        try:
            return await open_attempt(gw, req, route, b)
        except (UpstreamFailed, StreamBroken) as e:
            reasons[route.qualified_id] = failed_over(gw, route, e)
    gw.metrics.calls.labels(req.model, "-", "all_failed").inc()
    raise AllProvidersFailed(
        f"every provider of {req.model!r} failed; the payment was not settled (nothing was "
        "charged, the same payment may be sent again)",
        metadata={"providers": reasons},
    )


async def _settle_and_record(
    gw: Gateway, x: X402Service, auth: Authorization, attempt: Attempt, amount: int, b: Bound
) -> tuple[SettledPayment, Charge]:
    """/settle, then the call's outbox row (run to its end even if the client leaves)."""
    settled = await x.rail.settle(auth)
    route = attempt.route
    provider, creator, protocol = expected_split(
        amount, gw.catalog.protocol_fee_bps, route.creator_fee_bps
    )
    try:
        await gw.ledger.record_x402_call(
            auth.payment_id,
            route.slug,
            str(route.provider),
            amount,
            prompt_tokens=b.input_tokens,
            completion_tokens=b.output_tokens,
            usage_source=USAGE_SOURCE,
            split=Split(gross=amount, provider=provider, creator=creator, protocol=protocol),
        )
    except Exception:
        # The client paid: serve it. The USDC stays in the inbox, unattributed (never paid
        # out twice); the log names the payment for a manual record.
        gw.log.exception(
            "x402 call settled but not recorded",
            extra={"payment_id": auth.payment_id, "transaction": settled.transaction},
        )
    gw.metrics.charged.labels(route.slug).inc(amount)
    return settled, Charge(b.input_tokens, b.output_tokens, amount, provider, creator, protocol)


def _with_tokens(ch: Charge, usage: Usage | None) -> Charge:
    if usage is None:
        return ch
    return Charge(
        usage.prompt_tokens, usage.completion_tokens, ch.gross, ch.provider, ch.creator, ch.protocol
    )


def _headers(route: Route, request_id: str, settled: SettledPayment, amount: int) -> dict[str, str]:
    name, value = settled.header
    return {
        name: value,
        "X-Bourse-Provider": route.provider_name,
        "X-Bourse-Model": route.model_name,
        "X-Bourse-Model-Id": route.qualified_id,
        "X-Request-Id": request_id,
        "X-Bourse-Charge": str(amount),
    }


async def _sse(gw: Gateway, req: ChatRequest, attempt: Attempt, ch: Charge) -> AsyncIterator[bytes]:
    stream = attempt.stream
    assert stream is not None
    relay = Relay()
    try:
        async for event in relay_sse(stream, req, lambda usage: _with_tokens(ch, usage), relay):
            yield event
    finally:
        await stream.aclose()
        gw.metrics.calls.labels(attempt.route.slug, attempt.route.provider_key, relay.outcome).inc()
