"""Solana JSON-RPC 2.0 over HTTP (aiohttp) in front of a ``Chain``.

POST / takes one request or a batch (a JSON array); GET /health answers ``ok`` like a
validator. Handlers are synchronous (LiteSVM calls take well under a millisecond) and run on
the server's event loop, one at a time, which also serializes access to the chain.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from localnet.chain import Chain
from localnet.methods import METHODS, Handler
from localnet.params import Params
from localnet.rpc_envelope import check_batch, error_doc, parse_body, valid_id
from localnet.rpc_errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    RpcError,
)

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8899
#: Bodies above this are refused (a validator caps requests at 50 MiB).
MAX_REQUEST_BYTES = 50 * 1024 * 1024


class JsonRpcDispatcher:
    """Maps JSON-RPC request objects to handler results or error objects."""

    def __init__(self, chain: Chain, methods: dict[str, Handler] | None = None) -> None:
        self.chain = chain
        self.methods = dict(METHODS if methods is None else methods)

    def handle_body(self, body: bytes) -> Any:
        """The response document for a raw request body (None: nothing to send)."""
        try:
            request = parse_body(body)
            if isinstance(request, list):
                check_batch(request)
                return [self.handle(item) for item in request]
        except RpcError as exc:
            return {"jsonrpc": "2.0", "error": exc.to_json(), "id": None}
        return self.handle(request)

    def handle(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict):
            return error_doc(INVALID_REQUEST, "Invalid request")
        request_id = request.get("id")
        if not valid_id(request_id):
            return error_doc(INVALID_REQUEST, "Invalid request: invalid id")
        method = request.get("method")
        if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
            return error_doc(INVALID_REQUEST, "Invalid request", request_id)
        handler = self.methods.get(method)
        if handler is None:
            return error_doc(METHOD_NOT_FOUND, "Method not found", request_id)
        raw_params = request.get("params", [])
        if raw_params is None:
            raw_params = []
        if not isinstance(raw_params, list):
            return error_doc(INVALID_PARAMS, "Invalid params: expected an array.", request_id)
        try:
            result = handler(self.chain, Params(raw_params))
        except RpcError as exc:
            return {"jsonrpc": "2.0", "error": exc.to_json(), "id": request_id}
        except Exception:
            log.exception("%s failed", method)
            return error_doc(INTERNAL_ERROR, "Internal error", request_id)
        return {"jsonrpc": "2.0", "result": result, "id": request_id}


class RpcServer:
    """The HTTP side: ``await start()``, ``url``, ``await close()``."""

    def __init__(self, chain: Chain, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.dispatcher = JsonRpcDispatcher(chain)
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.read()
        response = self.dispatcher.handle_body(body)
        return web.Response(
            body=json.dumps(response, separators=(",", ":")).encode(),
            content_type="application/json",
        )

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_post("/", self._post)
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.info("JSON-RPC listening on %s", self.url)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            log.info("JSON-RPC on %s closed", self.url)
