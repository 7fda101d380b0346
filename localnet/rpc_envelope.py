"""The JSON-RPC 2.0 envelope: parsing a body within limits, and which ids may be echoed.

Shared by the HTTP endpoint and the PubSub WebSocket. Limits (a request must never wedge or
stall the server):

- nesting deeper than ``MAX_DEPTH`` (serde_json's recursion limit, as a validator has) is a
  parse error, whether Python's parser gives up first or not;
- a batch of more than ``MAX_BATCH`` requests is refused as a whole (-32600);
- an id that is not a string, an integer or null (``NaN``, ``1.5``, ``[..]``) is never echoed:
  the answer is -32600 with ``id: null``.
"""

from __future__ import annotations

import json
from typing import Any

from localnet.rpc_errors import INVALID_REQUEST, PARSE_ERROR, RpcError

#: serde_json's default recursion limit.
MAX_DEPTH = 128
#: Requests per batch (each answer is built in memory on the event loop).
MAX_BATCH = 1000


def error_doc(code: int, message: str, request_id: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": request_id}


def depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (iterative: no recursion of our own)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item)
    return deepest


def parse_body(body: bytes | str) -> Any:
    """The parsed document; raises RpcError(-32700) for bad JSON or too deep nesting."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RpcError(PARSE_ERROR, "Parse error") from None
    except RecursionError:
        raise RpcError(PARSE_ERROR, "Parse error: recursion limit exceeded") from None
    if depth(document) > MAX_DEPTH:
        raise RpcError(PARSE_ERROR, "Parse error: recursion limit exceeded")
    return document


def check_batch(batch: list[Any]) -> None:
    if not batch:
        raise RpcError(INVALID_REQUEST, "Invalid request")
    if len(batch) > MAX_BATCH:
        raise RpcError(INVALID_REQUEST, f"Invalid request: batch too large; max {MAX_BATCH}")


def valid_id(value: Any) -> bool:
    """What a validator's JSON-RPC accepts as an id: u64, string or null."""
    if value is None or isinstance(value, str):
        return True
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64
