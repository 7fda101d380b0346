"""Parsing and validation of a chat-completions request body (400 / 413 on bad input)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway.errors import BadRequest

MAX_MESSAGES = 10_000


@dataclass(frozen=True)
class ChatRequest:
    body: dict[str, Any]
    model: str
    messages: int
    max_output: int | None
    stream: bool
    include_usage: bool
    size: int


def wants_stream(body: dict[str, Any], accept: str | None) -> bool:
    """Streaming by default; ``stream: false`` for one JSON; an omitted ``stream`` with an
    ``Accept`` of only ``application/json`` (what openai-python sends) gets JSON too."""
    if "stream" in body:
        return bool(body["stream"])
    if not accept:
        return True
    types = [t.split(";")[0].strip().lower() for t in accept.split(",") if t.strip()]
    return not types or any(t != "application/json" for t in types)


def parse(raw: bytes, accept: str | None) -> ChatRequest:
    try:
        body = json.loads(raw)
    except ValueError as e:
        raise BadRequest(f"the body is not valid JSON: {e}") from e
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("`model` is required (a model id from /api/v1/models)", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("`messages` must be a non-empty array", param="messages")
    if len(messages) > MAX_MESSAGES:
        raise BadRequest(f"at most {MAX_MESSAGES} messages", param="messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise BadRequest(f"messages[{i}] must be an object with a `role`", param="messages")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise BadRequest("`stream` must be a boolean", param="stream")
    max_output = None
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BadRequest(f"`{name}` must be a positive integer", param=name)
        max_output = value if max_output is None else min(max_output, value)
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise BadRequest("`stream_options` must be an object", param="stream_options")
    include_usage = bool((options or {}).get("include_usage", False))
    return ChatRequest(
        body=body,
        model=model,
        messages=len(messages),
        max_output=max_output,
        stream=wants_stream(body, accept),
        include_usage=include_usage,
        size=len(raw),
    )
