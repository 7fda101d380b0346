"""A local aiohttp server with a queue of injectable faults and a request log.

Faults are consumed one per request, in order; once the queue is empty the server answers
normally. They stand in for what a real API does under load: 429 with ``Retry-After``,
500s, slow answers (client timeouts) and bodies that are not JSON.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from aiohttp import web

FIXTURES = Path(__file__).resolve().parent / "fixtures"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: The parsed JSON body of a request (None when it had none), for the handlers.
JSON_BODY = web.RequestKey("json_body", object)


def fixture(name: str) -> Any:
    """A fresh copy of a fixture JSON document."""
    return json.loads((FIXTURES / name).read_text())


@dataclass(frozen=True)
class Fault:
    kind: str  # "status" | "delay" | "malformed"
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""
    delay_s: float = 0.0

    @classmethod
    def rate_limited(cls, retry_after: str | None = None, **headers: str) -> Fault:
        h = dict(headers)
        if retry_after is not None:
            h["Retry-After"] = retry_after
        return cls("status", 429, h, json.dumps({"error": "Rate limit exceeded"}))

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls("status", status, {}, json.dumps({"error": "Internal Server Error"}))

    @classmethod
    def http(cls, status: int, body: object) -> Fault:
        return cls("status", status, {}, json.dumps(body))

    @classmethod
    def slow(cls, delay_s: float) -> Fault:
        return cls("delay", delay_s=delay_s)

    @classmethod
    def malformed(cls) -> Fault:
        return cls("malformed", body='{"inputMint": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEG')


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class FakeServer:
    """Base: subclasses register routes in :meth:`routes`."""

    def __init__(self) -> None:
        self.faults: deque[Fault] = deque()
        self.requests: list[Recorded] = []
        self.responses: list[Any] = []  # JSON bodies served normally, in order
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware])
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def json(self, doc: Any, status: int = 200) -> web.Response:
        if status == 200:
            self.responses.append(doc)
        return web.json_response(doc, status=status)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                dict(request.query),
                {k.lower(): v for k, v in request.headers.items()},
                body,
            )
        )
        request[JSON_BODY] = body
        fault = self.faults.popleft() if self.faults else None
        if fault is not None:
            if fault.kind == "status":
                return web.Response(
                    status=fault.status,
                    headers=dict(fault.headers),
                    text=fault.body,
                    content_type="application/json",
                )
            if fault.kind == "malformed":
                return web.Response(status=200, text=fault.body, content_type="application/json")
            if fault.kind == "delay":
                await asyncio.sleep(fault.delay_s)
        return await handler(request)
