"""Calls to OpenAI-compatible upstreams, in the form the client asked for.

* Streaming (:func:`open_stream`): ``stream: true`` with ``stream_options.include_usage``,
  parsed from the SSE wire into chunk dicts. It returns only once the first chunk has
  arrived, so everything that can fail before the first byte (connection, HTTP error, a body
  that is not an SSE stream of chunks, a first-byte timeout) raises :class:`UpstreamFailed`
  there and the caller can fail over; later failures raise :class:`StreamBroken` from the
  iterator.
* JSON (:func:`fetch_json`): ``stream: false`` (OpenAI's non-streaming answer always carries
  ``usage``; ``stream_options`` is only allowed with ``stream: true``, so it is not sent). The
  client gets nothing before the whole answer is read, so every failure — connection, HTTP
  error, no response headers within the first-byte timeout, a body cut short or not a
  ``chat.completion`` — raises :class:`UpstreamFailed` and the caller fails over.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from gateway.catalog import Route

_SSE = "text/event-stream"
_JSON = "application/json"
_loads = orjson.loads


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value)


class UpstreamFailed(Exception):
    """The upstream failed before its first chunk (safe to fail over)."""


class StreamBroken(Exception):
    """The upstream failed after streaming had started."""


@dataclass
class UpstreamStream:
    first: dict[str, Any]
    rest: AsyncIterator[dict[str, Any]]
    response: aiohttp.ClientResponse

    async def aclose(self) -> None:
        _close(self.response)


def _close(response: aiohttp.ClientResponse) -> None:
    """Back to the pool when read to the end, else drop the connection."""
    if response.content.at_eof():
        response.release()
    else:
        response.close()


def upstream_body(request: dict[str, Any], route: Route, stream: bool = True) -> dict[str, Any]:
    body = {k: v for k, v in request.items() if k not in ("stream", "stream_options")}
    body["model"] = route.upstream_model
    body["stream"] = stream
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def _headers(route: Route, accept: str) -> dict[str, str]:
    headers = {"Accept": accept}
    if route.api_key:
        headers["Authorization"] = f"Bearer {route.api_key}"
    return headers


async def _events(response: aiohttp.ClientResponse) -> AsyncIterator[str]:
    data: list[str] = []
    async for raw in response.content:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
        elif line == "" and data:
            yield "\n".join(data)
            data = []
    if data:
        yield "\n".join(data)


async def _chunks(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    async for event in _events(response):
        if event.strip() == "[DONE]":
            return
        try:
            chunk = _loads(event)
        except ValueError as e:
            raise StreamBroken(f"upstream sent a non-JSON event: {event[:80]!r}") from e
        if not isinstance(chunk, dict):
            raise StreamBroken("upstream sent a non-object event")
        if "error" in chunk:
            raise StreamBroken(f"upstream error event: {json.dumps(chunk['error'])[:200]}")
        yield chunk


async def open_stream(
    http: aiohttp.ClientSession,
    route: Route,
    request: dict[str, Any],
    first_byte_timeout: float,
) -> UpstreamStream:
    url = f"{route.base_url}/chat/completions"
    try:
        response = await asyncio.wait_for(
            http.post(url, json=upstream_body(request, route), headers=_headers(route, _SSE)),
            first_byte_timeout,
        )
    except (aiohttp.ClientError, TimeoutError) as e:
        raise UpstreamFailed(f"{type(e).__name__}: {e}") from e
    try:
        if response.status != 200:
            text = (await response.read())[:300].decode("utf-8", "replace")
            raise UpstreamFailed(f"HTTP {response.status}: {text}")
        ctype = response.headers.get("Content-Type", "")
        if not ctype.startswith("text/event-stream"):
            raise UpstreamFailed(f"not an event stream (content-type {ctype!r})")
        chunks = _chunks(response)
        first = await asyncio.wait_for(anext(chunks), first_byte_timeout)
        if not isinstance(first.get("choices"), list):
            raise UpstreamFailed("first event is not a chat.completion.chunk")
    except (aiohttp.ClientError, TimeoutError, StreamBroken, StopAsyncIteration) as e:
        response.close()
        raise UpstreamFailed(f"{type(e).__name__}: {e}") from e
    except UpstreamFailed:
        response.close()
        raise
    return UpstreamStream(first, _guarded(chunks), response)


async def fetch_json(
    http: aiohttp.ClientSession,
    route: Route,
    request: dict[str, Any],
    first_byte_timeout: float,
) -> dict[str, Any]:
    """The upstream's whole ``chat.completion`` answer (``stream: false``)."""
    url = f"{route.base_url}/chat/completions"
    try:
        async with asyncio.timeout(first_byte_timeout):
            response = await http.post(
                url,
                data=_dumps(upstream_body(request, route, stream=False)),
                headers={**_headers(route, _JSON), "Content-Type": _JSON},
            )
        try:
            raw = await response.read()
        finally:
            _close(response)
    except (aiohttp.ClientError, TimeoutError) as e:
        raise UpstreamFailed(f"{type(e).__name__}: {e}") from e
    if response.status != 200:
        raise UpstreamFailed(f"HTTP {response.status}: {raw[:300].decode('utf-8', 'replace')}")
    ctype = response.headers.get("Content-Type", "")
    if not ctype.startswith(_JSON):
        raise UpstreamFailed(f"not a JSON answer (content-type {ctype!r})")
    try:
        answer = _loads(raw)
    except ValueError as e:
        raise UpstreamFailed(f"upstream sent invalid JSON: {raw[:80]!r}") from e
    if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
        raise UpstreamFailed("the answer is not a chat.completion")
    return answer


async def _guarded(chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    try:
        async for chunk in chunks:
            yield chunk
    except (aiohttp.ClientError, TimeoutError) as e:
        raise StreamBroken(f"{type(e).__name__}: {e}") from e
