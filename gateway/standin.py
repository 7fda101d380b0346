"""A LOCAL STAND-IN for an inference provider: a small HTTP server speaking OpenAI's
chat-completions wire (SSE chunks, the ``include_usage`` usage chunk, ``[DONE]``, OpenAI
error bodies). It runs no model: it answers with a fixed, clearly labelled text. Used by
``bourse-gateway serve --localnet``, the tests and the benchmark.

Behaviours (one per server): ``good``; ``fail`` (HTTP 500 with an error body); ``slow``
(waits ``delay`` seconds before answering); ``drop`` (streams two chunks, then the
connection dies; a JSON answer dies after its first bytes); ``no_usage`` (never reports
usage); ``garbage`` (200 with an HTML page); ``overuse`` (reports a million tokens each
way: more than any hold covers).

Usage reported: prompt tokens = ceil(UTF-8 bytes of the messages' contents / 4) + 4 per
message; completion tokens = the words sent (at most ``max_tokens``).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

BEHAVIOURS = ("good", "fail", "slow", "drop", "no_usage", "garbage", "overuse")
LABEL = "[local stand-in, no model]"


def prompt_tokens(messages: list[Any]) -> int:
    size = 0
    for m in messages:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, str):
            size += len(content.encode())
        elif isinstance(content, list):
            size += len(json.dumps(content).encode())
    return -(-size // 4) + 4 * len(messages)


def reply_words(model: str, messages: list[Any]) -> list[str]:
    last = messages[-1].get("content") if messages and isinstance(messages[-1], dict) else ""
    echo = last if isinstance(last, str) else "..."
    text = f"{LABEL} {model} received: {echo[:200]}"
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


class StandIn:
    def __init__(self, behaviour: str = "good", delay: float = 0.0) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {BEHAVIOURS}")
        self.behaviour = behaviour
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/models", self.models, methods=["GET"]),
            ]
        )

    async def models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": []})

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        if self.behaviour == "slow" and self.delay:
            await asyncio.sleep(self.delay)
        if self.behaviour == "fail":
            return JSONResponse(
                {
                    "error": {
                        "message": "The server had an error while processing your request.",
                        "type": "server_error",
                        "param": None,
                        "code": None,
                    }
                },
                status_code=500,
            )
        if self.behaviour == "garbage":
            return HTMLResponse("<html><body>502 Bad Gateway</body></html>")
        model = str(body.get("model", "?"))
        messages = body.get("messages") or []
        words = reply_words(model, messages)
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(limit, int):
            words = words[:limit]
        used = (prompt_tokens(messages), len(words))
        if self.behaviour == "overuse":
            used = (1_000_000, 1_000_000)
        usage = {
            "prompt_tokens": used[0],
            "completion_tokens": used[1],
            "total_tokens": used[0] + used[1],
        }
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if not body.get("stream"):
            message = {"role": "assistant", "content": "".join(words), "refusal": None}
            out: dict[str, Any] = {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
                ],
            }
            if self.behaviour != "no_usage":
                out["usage"] = usage
            if self.behaviour == "drop":
                return StreamingResponse(
                    self._cut(json.dumps(out).encode()), media_type="application/json"
                )
            return JSONResponse(out)
        include = bool((body.get("stream_options") or {}).get("include_usage"))
        return StreamingResponse(
            self._sse(cid, created, model, words, usage if include else None),
            media_type="text/event-stream",
        )

    async def _cut(self, body: bytes) -> AsyncIterator[bytes]:
        yield body[: len(body) // 3]
        await asyncio.sleep(0.2)
        raise ConnectionResetError("stand-in drops the connection mid-answer")

    async def _sse(
        self,
        cid: str,
        created: int,
        model: str,
        words: list[str],
        usage: dict[str, int] | None,
    ) -> AsyncIterator[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            c = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            return b"data: " + json.dumps(c).encode() + b"\n\n"

        yield chunk({"role": "assistant", "content": "", "refusal": None}, None)
        for i, w in enumerate(words):
            if self.behaviour == "drop" and i == 2:
                await asyncio.sleep(0.2)  # what was sent reaches the client, then the drop
                raise ConnectionResetError("stand-in drops the connection mid-stream")
            yield chunk({"content": w}, None)
        yield chunk({}, "stop")
        if usage is not None and self.behaviour != "no_usage":
            u = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage,
            }
            yield b"data: " + json.dumps(u).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"
