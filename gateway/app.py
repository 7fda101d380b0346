"""The FastAPI application: routes, OpenAI-shaped errors, request ids, /health, /metrics."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bourse_chain.cluster import resolve_cluster
from gateway import logs, openapi
from gateway.api import admin, catalog_routes, chat, credits, topups, x402
from gateway.errors import BadRequest, GatewayError, NotFound
from gateway.market import CatalogEntry, market_router
from gateway.market.routed import routed_models
from gateway.service import Gateway

log = logging.getLogger("bourse.gateway.http")


class RequestIds:
    """Gives every request an id (``X-Request-Id``, also in the logs and the call's row)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-request-id" for k, _ in headers):
                    headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 3),
                    "user_id": scope["state"].get("user_id"),
                },
            )
            logs.request_id.reset(token)


def _error(exc: GatewayError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Every error as an OpenAI-shaped body ``{"error": {...}}`` with its HTTP status."""

    @app.exception_handler(GatewayError)
    async def _gateway_error(_: Request, exc: GatewayError) -> JSONResponse:
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
        loc = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        return _error(BadRequest(f"{loc}: {first.get('msg', 'invalid')}", param=loc or None))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            default = exc.detail == HTTPStatus.NOT_FOUND.phrase
            return _error(NotFound("no such route" if default else str(exc.detail)))
        err = GatewayError(str(exc.detail))
        err.status = exc.status_code
        err.code = "HTTP_ERROR"
        return _error(err)

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _error(GatewayError("internal error"))


def mount_market(app: FastAPI, gateway: Gateway) -> None:
    """The market page and its API (docs/market.md), reading the gateway's chain; the
    gateway's routed models without a token are its preview cards."""
    s = gateway.settings

    def catalog() -> list[CatalogEntry]:
        try:
            return routed_models(gateway.catalog)
        except RuntimeError:  # the catalog is not loaded (yet)
            return []

    app.include_router(
        market_router(
            resolve_cluster(s.rpc_url).url,
            catalog=catalog,
            ttl_secs=s.market_ttl_seconds,
            refresh_secs=s.market_refresh_seconds,
            window_days=s.market_window_days,
        )
    )


def create_app(gateway: Gateway) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    app = FastAPI(
        title="Bourse gateway",
        summary="OpenAI-compatible inference paid in USDC on Solana, and the model market",
        version=openapi.API_VERSION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.gateway = gateway
    for r in (
        chat.router,
        catalog_routes.router,
        credits.router,
        admin.router,
        topups.router,
        x402.router,
    ):
        app.include_router(r)
    mount_market(app, gateway)
    install_error_handlers(app)

    @app.get("/health", summary="Liveness")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "models": len(gateway.catalog.routes)}

    @app.get("/metrics", summary="Prometheus metrics")
    async def metrics() -> Response:
        return PlainTextResponse(
            generate_latest(gateway.metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    openapi.install(app)
    return app


def build_app(gateway: Gateway) -> ASGIApp:
    return RequestIds(create_app(gateway))
