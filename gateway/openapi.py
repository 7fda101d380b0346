"""The gateway's OpenAPI 3.1 document: FastAPI's generated one (``app.openapi()``), completed
with what the routes cannot say themselves (they parse their bodies by hand): summaries, the
described request bodies with an example, every response with its headers (OpenAI-shaped error
bodies, the x402 ``402``), and the security of each rail.

- ``GET /openapi.json``: the whole API;
- ``GET /api/x402/openapi.json``: the x402 subset (the paths under ``/api/x402/``), what the
  pay.sh registry lists (``docs/openapi/x402/PAY.md``).

``python -m gateway.openapi [--out docs/openapi] [--service-url URL]`` writes both,
pretty-printed, and the pay.sh listing ``x402/PAY.md`` beside the x402 one, for the repository
(``tests/gateway/test_openapi.py`` checks the committed files are current).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gateway import api_models as m

API_VERSION = metadata.version("bourse-chain")
X402_PREFIX = "/api/x402/"
FULL_PATH = "/openapi.json"
X402_SPEC_PATH = "/api/x402/openapi.json"
RAIL1_CHAT = "/api/v1/chat/completions"
X402_CHAT = "/api/x402/v1/chat/completions"
DEFAULT_OUT = Path("docs/openapi")
FULL_FILE = "gateway.json"
X402_FILE = "x402/openapi.json"
PAY_FILE = "x402/PAY.md"
DEFAULT_SERVICE_URL = "http://127.0.0.1:8080"
REF = "#/components/schemas/"
METHODS = ("get", "head", "post", "put", "patch", "delete", "options", "trace")
DOCUMENTED: tuple[type[BaseModel], ...] = (
    m.ErrorResponse,
    m.ChatCompletionRequest,
    m.ChatCompletion,
    m.PaymentRequired,
    m.X402Refusal,
)

Json = dict[str, Any]


# --------------------------------------------------------------------- building blocks


def ref(name: str) -> Json:
    return {"$ref": REF + name}


def json_content(schema: Json, example: Any = None) -> Json:
    media: Json = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def error(description: str) -> Json:
    return {"description": description, "content": json_content(ref("ErrorResponse"))}


def header(description: str) -> Json:
    return {"description": description, "schema": {"type": "string"}}


ROUTING_HEADERS: Json = {
    "X-Bourse-Provider": header("The provider that answered"),
    "X-Bourse-Model": header("The model's display name"),
    "X-Bourse-Model-Id": header("The provider-qualified model id `<provider>/<slug>`"),
    "X-Request-Id": header("This request's id (also in the logs and the call's ledger row)"),
}
SSE = {
    "text/event-stream": {
        "schema": {
            "type": "string",
            "description": "`data: <chat.completion.chunk JSON>` events, the last chunk with "
            "`usage`, then `data: [DONE]`; an error after the stream started arrives as a "
            '`data: {"error": {...}}` event',
        }
    }
}
CHAT_BODY: Json = {
    "required": True,
    "description": "OpenAI's chat-completions request",
    "content": json_content(ref("ChatCompletionRequest"), m.CHAT_EXAMPLE),
}


def chat_answer(description: str, extra_headers: Json) -> Json:
    return {
        "description": description,
        "headers": {**ROUTING_HEADERS, **extra_headers},
        "content": {**json_content(ref("ChatCompletion")), **SSE},
    }


PAYMENT_REQUIRED_402: Json = {
    "description": "Payment required: the terms of this call (x402, scheme `exact` on "
    "Solana, USDC to the model's inbox). The body is the v1 shape (`accepts` entries carry "
    "`maxAmountRequired` and its v2 name `amount`); the `PAYMENT-REQUIRED` header carries the "
    "same terms as x402 v2. A refused payment gets a fresh 402 whose `error` says why "
    "(payment_mismatch, payment_already_used, payment_invalid, settlement_failed)",
    "headers": {
        "PAYMENT-REQUIRED": header(
            "base64 of the x402 v2 PaymentRequired JSON: x402Version 2, error, resource, "
            "accepts [{scheme, network (CAIP-2), asset, amount, payTo, maxTimeoutSeconds, "
            "extra.feePayer}]"
        )
    },
    "content": json_content(ref("PaymentRequired")),
}
PAYMENT_HEADERS: list[Json] = [
    {
        "name": "X-PAYMENT",
        "in": "header",
        "required": False,
        "description": "x402 v1 payment: base64 JSON {x402Version: 1, scheme, network, "
        "payload: {transaction}} (a signed USDC transfer to ATA(payTo, asset))",
        "schema": {"type": "string"},
    },
    {
        "name": "PAYMENT-SIGNATURE",
        "in": "header",
        "required": False,
        "description": "x402 v2 payment: base64 JSON {x402Version: 2, accepted, payload: "
        "{transaction}, resource?}",
        "schema": {"type": "string"},
    },
]
TERMS_MODEL: Json = {
    "name": "model",
    "in": "query",
    "required": False,
    "description": "The model to price a one-message call of (default: the first listed)",
    "schema": {"type": "string"},
}
SETTLEMENT_HEADERS: Json = {
    "PAYMENT-RESPONSE": header("x402 v2: base64 JSON of the settlement (success, transaction)"),
    "X-PAYMENT-RESPONSE": header("x402 v1: the same, for a payment sent in X-PAYMENT"),
}
BEARER: list[Json] = [{"apiKey": []}]
ADMIN: list[Json] = [{"adminToken": []}]
OPEN: list[Json] = []
SECURITY_SCHEMES: Json = {
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "bs_live_…",
        "description": "Rail 1: an API key (`Authorization: Bearer bs_live_…`) spending USDC "
        "credits",
    },
    "adminToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The operator's admin token (the `admin_token_env` setting)",
    },
}
TAGS = [
    {"name": "inference", "description": "Rail 1: OpenAI-compatible calls paid from credits"},
    {"name": "x402", "description": "Rail 2: pay per call with x402, no account"},
    {"name": "credits", "description": "Balance and Solana Pay top-ups"},
    {"name": "market", "description": "The market page and its JSON, read from the chain"},
    {"name": "admin", "description": "Keys and credit grants (operator)"},
    {"name": "operations", "description": "Health, metrics, this document"},
]


@dataclass(frozen=True)
class Doc:
    """What one operation's document adds to FastAPI's: merged over the generated one."""

    summary: str
    tag: str
    description: str = ""
    security: list[Json] | None = None
    body: Json | None = None
    parameters: list[Json] = field(default_factory=list)
    responses: Json = field(default_factory=dict)
    operation_id: str | None = None
    #: Drop FastAPI's generated responses (a route that never answers 200).
    only_these_responses: bool = False


AUTH_ERRORS: Json = {
    "401": error("UNAUTHORIZED: a missing, invalid or revoked key"),
    "429": error("RATE_LIMITED: too many requests for this key (Retry-After says when)"),
}
ADMIN_ERRORS: Json = {
    "401": error("UNAUTHORIZED: not the admin token"),
    "403": error("FORBIDDEN: the admin API is disabled (no admin token configured)"),
}
CHAT_ERRORS: Json = {
    "400": error("INVALID_REQUEST: malformed JSON, no messages, max_tokens out of range, ..."),
    "404": error("MODEL_NOT_FOUND: no active offer for this model"),
    "413": error("REQUEST_TOO_LARGE: the body exceeds the gateway's limit"),
    "502": error("ALL_PROVIDERS_FAILED: every provider failed before answering; nothing charged"),
}


def _market_model_docs() -> dict[tuple[str, str], Doc]:
    json_answer = "the same data as JSON; amounts in raw units (micro-USDC, token base units)"
    return {
        ("get", "/market"): Doc(
            "The market page",
            "market",
            "HTML: every listed model's token, vaults, volume and 30-day revenue, the "
            "market-wide chart, previews of catalog models without a token; updates itself",
            OPEN,
            responses={"200": {"description": "The page (or its main content with fragment=1)"}},
        ),
        ("get", "/market/{slug}"): Doc(
            "One model's page",
            "market",
            "HTML: every figure of the model, its daily charts and its history, each event "
            "linking to its transaction",
            OPEN,
            responses={"404": {"description": "No such model (an HTML page)"}},
        ),
        ("get", "/market/tx/{signature}"): Doc(
            "A transaction's page",
            "market",
            "HTML: a transaction's program events and logs",
            OPEN,
            responses={"404": {"description": "No such transaction (an HTML page)"}},
        ),
        ("get", "/market-assets/{name}"): Doc(
            "The market page's stylesheet and script",
            "market",
            "Served from the package (no CDN): market.css, market.js",
            OPEN,
            responses={
                "200": {
                    "description": "The asset",
                    "content": {
                        "text/css": {"schema": {"type": "string"}},
                        "text/javascript": {"schema": {"type": "string"}},
                    },
                },
                "404": error("NOT_FOUND: no such asset"),
            },
        ),
        ("get", "/api/market"): Doc(
            "Every model's token, vaults, volume and revenue",
            "market",
            "The market page's " + json_answer + ", equal to `bourse market list -o json`",
            OPEN,
        ),
        ("get", "/api/market/{slug}"): Doc(
            "One model with its daily figures and history",
            "market",
            "A model page's " + json_answer,
            OPEN,
        ),
        ("get", "/api/market/tx/{signature}"): Doc(
            "One transaction's program events and logs", "market", security=OPEN
        ),
    }


def operation_docs() -> dict[tuple[str, str], Doc]:
    """``(method, path) -> Doc`` for every operation the gateway serves (x402's included)."""
    models_answer = {
        "200": {
            "description": "OpenAI's list shape: one entry per model (cheapest provider first, "
            "with `providers`) and one per `<provider>/<slug>`, prices from the on-chain offers",
            "content": json_content({"type": "object"}),
        }
    }
    x402_chat = Doc(
        "A chat completion paid per call with x402 (no account)",
        "x402",
        "Same request and routing as rail 1. Without a payment header: 402 with this call's "
        "price (its upper bound at the cheapest offer). With `X-PAYMENT` (v1) or "
        "`PAYMENT-SIGNATURE` (v2): checked against a quote recomputed from this body, verified "
        "and settled by the facilitator once the upstream answers, then streamed (or JSON). A "
        "payment is used once, across restarts and processes.",
        OPEN,
        body=CHAT_BODY,
        parameters=PAYMENT_HEADERS,
        responses={
            "200": chat_answer("The completion; the payment is settled", SETTLEMENT_HEADERS),
            "402": PAYMENT_REQUIRED_402,
            "400": {
                "description": "A malformed request body (OpenAI-shaped error) or payment "
                "header (x402 refusal); nothing charged",
                "content": json_content(
                    {"oneOf": [ref("ErrorResponse"), ref("X402Refusal")]},
                ),
            },
            "404": error("MODEL_NOT_FOUND, or NOT_FOUND: x402 is not enabled on this gateway"),
            "413": error("REQUEST_TOO_LARGE: the body exceeds the gateway's limit"),
            "502": {
                "description": "Every provider failed before settlement, or the facilitator "
                "answered nonsense: nothing charged",
                "content": json_content({"oneOf": [ref("ErrorResponse"), ref("X402Refusal")]}),
            },
            "503": {
                "description": "The facilitator cannot be reached: nothing charged",
                "content": json_content(ref("X402Refusal")),
            },
        },
        operation_id="x402ChatCompletions",
    )
    probe = {
        "402": PAYMENT_REQUIRED_402,
        "404": error("MODEL_NOT_FOUND, or NOT_FOUND: x402 is not enabled on this gateway"),
        "502": {
            "description": "The facilitator answered nonsense",
            "content": json_content(ref("X402Refusal")),
        },
        "503": {
            "description": "The facilitator cannot be reached",
            "content": json_content(ref("X402Refusal")),
        },
    }
    docs: dict[tuple[str, str], Doc] = {
        ("post", RAIL1_CHAT): Doc(
            "A chat completion paid from credits",
            "inference",
            "OpenAI's wire. Streams (SSE) unless `stream: false`, or `stream` omitted with "
            "`Accept: application/json`. A hold of the call's upper-bound price is taken first; "
            "the reported usage is charged, capped at the hold, the rest returns.",
            BEARER,
            body=CHAT_BODY,
            responses={
                "200": chat_answer(
                    "The completion (JSON, or an SSE stream)",
                    {
                        "X-Bourse-Hold": header("The pre-flight hold, micro-USDC"),
                        "X-Bourse-Charge": header("What was charged, micro-USDC (JSON only)"),
                    },
                ),
                "402": error(
                    "INSUFFICIENT_QUOTA: the balance cannot cover the hold; `metadata` has "
                    "the balance, the amount needed and how to top up"
                ),
                **AUTH_ERRORS,
                **CHAT_ERRORS,
            },
            operation_id="chatCompletions",
        ),
        ("post", X402_CHAT): x402_chat,
        ("get", X402_CHAT): Doc(
            "The x402 payment terms (a probe)",
            "x402",
            "Answers the same 402 as an unpaid POST, for conformance tools and registries",
            OPEN,
            parameters=[TERMS_MODEL],
            responses=probe,
            operation_id="x402ChatCompletionsTerms",
            only_these_responses=True,
        ),
        ("head", X402_CHAT): Doc(
            "The x402 payment terms, headers only",
            "x402",
            "The 402 of GET without its body: the terms are in `PAYMENT-REQUIRED`",
            OPEN,
            parameters=[TERMS_MODEL],
            responses={
                **{k: v for k, v in probe.items() if k != "402"},
                "402": {k: v for k, v in PAYMENT_REQUIRED_402.items() if k != "content"},
            },
            operation_id="x402ChatCompletionsHead",
            only_these_responses=True,
        ),
        ("get", "/api/models"): Doc(
            "The models and their prices", "inference", security=OPEN, responses=models_answer
        ),
        ("get", "/api/v1/models"): Doc(
            "The models and their prices (OpenAI path)",
            "inference",
            security=OPEN,
            responses=models_answer,
        ),
        ("get", "/api/v1/credits"): Doc(
            "The key's balance, held amount and cost model",
            "credits",
            "Amounts in micro-USDC",
            BEARER,
            responses=AUTH_ERRORS,
        ),
        ("post", "/api/v1/topups"): Doc(
            "Start a USDC top-up (a Solana Pay transfer request)",
            "credits",
            "Returns the `solana:` URL, the recipient, the mint and a reference key; pay it "
            "from any wallet, then poll `GET /api/v1/topups/{reference}`",
            BEARER,
            responses={**AUTH_ERRORS, "404": error("NOT_FOUND: top-ups are not enabled")},
        ),
        ("get", "/api/v1/topups/{reference}"): Doc(
            "Find a top-up's payment on-chain and credit it once",
            "credits",
            security=BEARER,
            responses={**AUTH_ERRORS, "404": error("NOT_FOUND: no such top-up for this key")},
        ),
        ("post", "/api/v1/topups/{reference}/confirm"): Doc(
            "Check a given transaction for a top-up",
            "credits",
            security=BEARER,
            responses={
                **AUTH_ERRORS,
                "404": error("NOT_FOUND: no such top-up for this key"),
                "409": error("SIGNATURE_ALREADY_USED: this transaction was credited already"),
            },
        ),
        ("post", "/api/admin/keys"): Doc(
            "Create an API key (its secret is returned once)",
            "admin",
            security=ADMIN,
            responses=ADMIN_ERRORS,
        ),
        ("get", "/api/admin/keys"): Doc(
            "List API keys", "admin", security=ADMIN, responses=ADMIN_ERRORS
        ),
        ("post", "/api/admin/keys/{key_id}/revoke"): Doc(
            "Revoke an API key",
            "admin",
            security=ADMIN,
            responses={**ADMIN_ERRORS, "404": error("NOT_FOUND: no such key")},
        ),
        ("post", "/api/admin/keys/{key_id}/rotate"): Doc(
            "Revoke a key and issue a new one for the same user",
            "admin",
            security=ADMIN,
            responses={**ADMIN_ERRORS, "404": error("NOT_FOUND: no such key")},
        ),
        ("get", "/api/admin/calls/{call_id}/receipt"): Doc(
            "A call's settlement receipt: its batch, transaction and inclusion proof",
            "admin",
            security=ADMIN,
            responses={**ADMIN_ERRORS, "404": error("NOT_FOUND: no such call")},
        ),
        ("post", "/api/admin/credits"): Doc(
            "Grant credits (stands in for a card onramp), once per reference",
            "admin",
            security=ADMIN,
            responses={**ADMIN_ERRORS, "400": error("INVALID_REQUEST: unknown user, ...")},
        ),
        ("get", "/health"): Doc("Liveness", "operations", security=OPEN),
        ("get", "/metrics"): Doc(
            "Prometheus metrics",
            "operations",
            security=OPEN,
            responses={
                "200": {
                    "description": "Prometheus text format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        ),
        ("get", FULL_PATH): Doc(
            "This document: the whole API (OpenAPI 3.1)",
            "operations",
            security=OPEN,
            responses={"200": {"description": "OpenAPI 3.1", "content": json_content({})}},
        ),
        ("get", X402_SPEC_PATH): Doc(
            "The x402 operations' OpenAPI 3.1 document (what pay.sh lists)",
            "operations",
            security=OPEN,
            responses={"200": {"description": "OpenAPI 3.1", "content": json_content({})}},
        ),
    }
    return docs | _market_model_docs()


#: Descriptions of body fields FastAPI's models leave undescribed.
FIELD_DOCS: dict[str, dict[str, str]] = {
    "NewKeyBody": {"user": "The user the key spends for (created if new)", "label": "A name"},
    "GrantBody": {"user": "An existing user"},
    "NewTopUp": {"amount": "micro-USDC to top up"},
    "Confirm": {"signature": "The transaction signature (base58); omitted: search again"},
}


# ------------------------------------------------------------------------------ build


def operations(spec: Json) -> Iterator[tuple[str, str, Json]]:
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def _merge_parameters(op: Json, extra: list[Json]) -> None:
    """Add ``extra``; a parameter the route declares keeps its schema, gains the description."""
    have = {(p["name"].lower(), p["in"]): p for p in op.get("parameters", [])}
    for p in extra:
        declared = have.get((p["name"].lower(), p["in"]))
        if declared is None:
            op.setdefault("parameters", []).append(copy.deepcopy(p))
        else:
            declared.setdefault("description", p["description"])


def _apply(op: Json, doc: Doc) -> None:
    op["summary"] = doc.summary
    op["tags"] = [doc.tag]
    if doc.description:
        op["description"] = doc.description
    if doc.operation_id:
        op["operationId"] = doc.operation_id
    if doc.security is not None:
        op["security"] = copy.deepcopy(doc.security)
    if doc.body is not None:
        op["requestBody"] = copy.deepcopy(doc.body)
    _merge_parameters(op, doc.parameters)
    if doc.only_these_responses:
        op["responses"] = {}
    responses = op.setdefault("responses", {})
    if "422" in responses:  # validation errors are answered 400, OpenAI-shaped
        del responses["422"]
        responses.setdefault("400", error("INVALID_REQUEST: a field is missing or invalid"))
    for status, answer in doc.responses.items():
        if status in responses and "content" not in answer and "content" in responses[status]:
            responses[status] = {**responses[status], **copy.deepcopy(answer)}
        else:
            responses[status] = copy.deepcopy(answer)
    op["responses"] = responses = dict(sorted(responses.items()))
    for status, answer in list(responses.items()):
        if answer.get("content") == {"application/json": {"schema": {}}}:
            answer["content"] = json_content({"type": "object"})
        if status not in ("200", "default") and "description" not in answer:
            answer["description"] = "Error"


def _describe_fields(schemas: Json) -> None:
    for name, described in FIELD_DOCS.items():
        props = schemas.get(name, {}).get("properties", {})
        for prop, text in described.items():
            if prop in props:
                props[prop].setdefault("description", text)


def _documented_schemas() -> Json:
    _, top = models_json_schema(
        [(model, "validation") for model in DOCUMENTED], ref_template=REF + "{model}"
    )
    defs: Json = top.get("$defs", {})
    return defs


def build(app: FastAPI) -> Json:
    """The whole API: ``app.openapi()`` completed by :func:`operation_docs`."""
    with warnings.catch_warnings():
        # one route serving GET and HEAD: FastAPI names both alike; each gets its own id below
        warnings.filterwarnings("ignore", "Duplicate Operation ID", UserWarning)
        spec = copy.deepcopy(app.openapi())
    docs = operation_docs()
    for path, method, op in operations(spec):
        doc = docs.get((method, path))
        if doc is not None:
            _apply(op, doc)
    # methods in one order (a route's methods are a set: its order changes between runs)
    spec["paths"] = {
        path: dict(sorted(item.items(), key=lambda kv: METHODS.index(kv[0])))
        for path, item in spec["paths"].items()
    }
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(_documented_schemas())
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    _describe_fields(schemas)
    components["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    spec["tags"] = copy.deepcopy(TAGS)
    spec["info"]["description"] = (
        "Bourse: OpenAI-compatible inference paid in USDC on Solana. Rail 1: an API key "
        "spending credits (`/api/v1/...`). Rail 2: x402 pay per call, no account "
        "(`/api/x402/...`). The market page and its JSON (`/market`, `/api/market`). Amounts "
        "are integers of micro-USDC unless said otherwise; errors are OpenAI-shaped."
    )
    spec["security"] = []
    _prune(spec)
    return spec


def x402_subset(spec: Json) -> Json:
    """The operations under ``/api/x402/`` (not this document's own path)."""
    sub = copy.deepcopy(spec)
    sub["paths"] = {
        p: item
        for p, item in spec["paths"].items()
        if p.startswith(X402_PREFIX) and p != X402_SPEC_PATH
    }
    sub["info"] = {
        **spec["info"],
        "title": "Bourse gateway: x402 pay-per-call",
        "summary": "Chat completions paid per call in USDC on Solana, no account",
        "description": "Chat completions paid per call with x402 (scheme exact, USDC on "
        "Solana) straight into the model's inbox. POST without payment to get the 402 "
        "terms; sign the transfer; send the same request with X-PAYMENT (v1) or "
        "PAYMENT-SIGNATURE (v2).",
    }
    used_tags = {t for _, _, op in operations(sub) for t in op.get("tags", [])}
    sub["tags"] = [t for t in spec.get("tags", []) if t["name"] in used_tags]
    sub["components"].pop("securitySchemes", None)
    _prune(sub)
    return sub


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith(REF):
                yield v[len(REF) :]
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def _prune(spec: Json) -> None:
    """Drop component schemas no operation reaches."""
    schemas: Json = spec.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    todo = list(_refs(spec.get("paths", {})))
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        todo.extend(_refs(schemas[name]))
    spec["components"]["schemas"] = {k: schemas[k] for k in sorted(seen)}


# ---------------------------------------------------------------------- serving


def documents(app: FastAPI) -> tuple[Json, Json]:
    """(the whole API, the x402 subset), built once per app."""
    cached: tuple[Json, Json] | None = getattr(app.state, "openapi_documents", None)
    if cached is None:
        full = build(app)
        cached = (full, x402_subset(full))
        app.state.openapi_documents = cached
    return cached


def _served(doc: Json, request: Request) -> JSONResponse:
    return JSONResponse({**doc, "servers": [{"url": str(request.base_url).rstrip("/")}]})


def install(app: FastAPI) -> None:
    """Serve ``/openapi.json`` and ``/api/x402/openapi.json`` (with this server's URL)."""

    @app.get(FULL_PATH)
    async def openapi_full(request: Request) -> JSONResponse:
        return _served(documents(app)[0], request)

    @app.get(X402_SPEC_PATH)
    async def openapi_x402(request: Request) -> JSONResponse:
        return _served(documents(app)[1], request)


# ------------------------------------------------------------------------ files


def pretty(doc: Json) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def offline_app() -> FastAPI:
    """The gateway app, not started (nothing is read or connected): for the files."""
    from gateway.app import create_app
    from gateway.service import Gateway
    from gateway.settings import Settings

    gateway = Gateway(Settings(db="sqlite+aiosqlite:///:memory:", rpc_url="localnet"))
    try:
        return create_app(gateway)
    finally:
        gateway.ledger.close()


def pay_md(service_url: str) -> str:
    """The pay.sh listing: front matter naming the service and its spec (beside it)."""
    return f"""---
name: bourse-x402-chat
title: Bourse x402 chat completions
description: >-
  OpenAI-compatible chat completions paid per call with x402 (scheme exact, USDC on
  Solana); the USDC goes straight to the model's inbox, no account or API key.
use_case: >-
  An agent calls an open model by paying for each call in USDC from its own Solana
  wallet: POST the chat request, get the 402 terms, sign, retry with the payment header.
category: ai
service_url: {service_url}
openapi:
  path: {Path(X402_FILE).name}
---

# Bourse x402 chat completions

`POST {X402_CHAT}` takes OpenAI's chat-completions body. Without a payment it answers
**402** with the terms (JSON body `accepts[]` with `amount`, `payTo`, `asset`, `network`; the
same terms as x402 v2 in the `PAYMENT-REQUIRED` header); sign the USDC transfer and send the
same request with `PAYMENT-SIGNATURE` (v2) or `X-PAYMENT` (v1). `GET` answers the same 402
(for probes). The spec beside this file, `{Path(X402_FILE).name}`, is generated by
`python -m gateway.openapi --service-url URL` (the whole API: `../{FULL_FILE}`); see
`docs/x402.md` for clients in curl, TypeScript and Python.
"""


def files(service_url: str = DEFAULT_SERVICE_URL) -> dict[str, str]:
    """``relative path -> text`` of the committed documents and the pay.sh listing."""
    full, x402 = documents(offline_app())
    return {
        FULL_FILE: pretty(full),
        X402_FILE: pretty(x402),
        PAY_FILE: pay_md(service_url),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.openapi", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Directory to write to")
    parser.add_argument(
        "--service-url",
        default=DEFAULT_SERVICE_URL,
        help="The gateway's public base URL, for PAY.md (default: serve --localnet's)",
    )
    args = parser.parse_args(argv)
    for rel, text in files(args.service_url).items():
        path = args.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
