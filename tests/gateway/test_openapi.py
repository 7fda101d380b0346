"""The gateway's OpenAPI 3.1 documents (``gateway/openapi.py``): valid 3.1, every route of the app
documented with a summary, bodies with described fields and an example, OpenAI-shaped errors,
the x402 402 with its headers, Bearer security on rail 1; the x402 subset; the committed files
(``docs/openapi/``) current; both served by the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from openapi_spec_validator.validation import OpenAPIV31SpecValidator
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from gateway import openapi

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "openapi"
Json = dict[str, Any]


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return openapi.offline_app()


@pytest.fixture(scope="module")
def full(app: FastAPI) -> Json:
    return openapi.documents(app)[0]


@pytest.fixture(scope="module")
def x402(app: FastAPI) -> Json:
    return openapi.documents(app)[1]


def routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """``(method, path)`` of every route the app serves (its HTTP operations), included
    routers' routes too (FastAPI wraps them)."""
    for route in iter_route_contexts(app.routes):
        assert isinstance(route.original_route, APIRoute), f"{route.path}: not an API route"
        assert route.path_format is not None and route.methods, route.path
        for method in route.methods:
            yield method.lower(), route.path_format


def resolve(doc: Json, schema: Json) -> Json:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_both_documents_validate_as_openapi_31(full: Json, x402: Json) -> None:
    for doc in (full, x402):
        assert doc["openapi"].startswith("3.1")
        OpenAPIV31SpecValidator(doc).validate()


def test_the_validator_refuses_a_broken_document(full: Json) -> None:
    broken = {**full, "paths": {"/x": {"get": {"responses": {"200": {"content": 1}}}}}}
    with pytest.raises(OpenAPIValidationError):
        OpenAPIV31SpecValidator(broken).validate()


def test_every_route_of_the_app_is_documented_with_a_summary(app: FastAPI, full: Json) -> None:
    served = set(routes(app))
    documented = {(m, p) for p, m, _ in openapi.operations(full)}
    # every route is in the document, and nothing else is
    assert served == documented
    # the market, the documents themselves and rail 1 are among them
    assert {
        ("get", "/market"),
        ("get", "/market/{slug}"),
        ("get", "/api/market"),
        ("get", "/api/market/{slug}"),
        ("get", "/openapi.json"),
        ("get", "/api/x402/openapi.json"),
        ("post", openapi.RAIL1_CHAT),
    } <= served
    docs = openapi.operation_docs()
    ids = []
    for path, method, op in openapi.operations(full):
        assert op.get("summary"), (method, path)
        assert (method, path) in docs, f"{method} {path}: no entry in operation_docs()"
        assert op["responses"], (method, path)
        ids.append(op["operationId"])
    assert len(ids) == len(set(ids)), "operation ids must be unique"


def test_request_bodies_have_described_fields_and_chat_an_example(full: Json) -> None:
    bodies = 0
    for path, method, op in openapi.operations(full):
        if "requestBody" not in op:
            continue
        for media in op["requestBody"]["content"].values():
            schema = resolve(full, media["schema"])
            for name, prop in schema["properties"].items():
                assert prop.get("description"), f"{method} {path}: field {name} undescribed"
            bodies += 1
    assert bodies >= 5  # chat, admin keys and credits, top-ups
    chat = full["paths"][openapi.RAIL1_CHAT]["post"]["requestBody"]["content"]["application/json"]
    fields = resolve(full, chat["schema"])["properties"]
    assert {"model", "messages", "stream", "stream_options", "max_tokens"} <= set(fields)
    assert resolve(full, chat["schema"])["required"] == ["model", "messages"]
    assert chat["example"]["model"] and chat["example"]["messages"]


def test_rail1_chat_errors_headers_and_security(full: Json) -> None:
    op = full["paths"][openapi.RAIL1_CHAT]["post"]
    assert op["security"] == [{"apiKey": []}]
    scheme = full["components"]["securitySchemes"]["apiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for status in ("400", "401", "402", "404", "413", "429", "502"):
        media = op["responses"][status]["content"]["application/json"]
        assert media["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}, status
    error = resolve(full, {"$ref": "#/components/schemas/ErrorDetail"})
    assert {"message", "type", "code", "param"} <= set(error["properties"])
    ok = op["responses"]["200"]
    assert {"application/json", "text/event-stream"} == set(ok["content"])
    assert {"X-Bourse-Provider", "X-Bourse-Model", "X-Bourse-Model-Id"} <= set(ok["headers"])
    # admin routes take the admin token, the market is open
    assert full["paths"]["/api/admin/keys"]["post"]["security"] == [{"adminToken": []}]
    assert full["paths"]["/api/market"]["get"]["security"] == []
    # no FastAPI 422: validation errors are answered 400, OpenAI-shaped
    assert all("422" not in op["responses"] for _, _, op in openapi.operations(full))


def test_market_api_is_documented_with_its_models(full: Json) -> None:
    ok = full["paths"]["/api/market"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/MarketSnapshot")
    fields = full["components"]["schemas"]["MarketModel"]["properties"]
    assert fields["vault_balance"]["description"].endswith("micro-USDC")
    detail = full["paths"]["/api/market/{slug}"]["get"]["responses"]
    assert detail["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")


def test_x402_subset_is_the_paths_under_api_x402(full: Json, x402: Json) -> None:
    expected = {
        p for p in full["paths"] if p.startswith("/api/x402/") and p != openapi.X402_SPEC_PATH
    }
    assert set(x402["paths"]) == expected
    OpenAPIV31SpecValidator(x402).validate()
    # it carries only the schemas its operations reach
    assert "MarketSnapshot" not in x402["components"]["schemas"]


def test_x402_route_is_in_the_x402_document(x402: Json) -> None:
    item = x402["paths"][openapi.X402_CHAT]
    assert {"post", "get", "head"} <= set(item)
    post = item["post"]
    assert post["security"] == []
    body = post["requestBody"]["content"]["application/json"]
    assert body["example"]["model"]
    challenge = post["responses"]["402"]
    assert "PAYMENT-REQUIRED" in challenge["headers"]
    terms = resolve(x402, challenge["content"]["application/json"]["schema"])
    entry = resolve(x402, terms["properties"]["accepts"]["items"])
    assert {"amount", "maxAmountRequired", "payTo", "asset", "network"} <= set(entry["required"])
    headers = {p["name"] for p in post["parameters"] if p["in"] == "header"}
    assert headers == {"X-PAYMENT", "PAYMENT-SIGNATURE"}
    assert {"PAYMENT-RESPONSE", "X-PAYMENT-RESPONSE"} <= set(post["responses"]["200"]["headers"])
    assert "402" in item["get"]["responses"] and "402" in item["head"]["responses"]


def test_committed_files_are_current() -> None:
    for rel, text in openapi.files().items():
        path = DOCS / rel
        assert path.exists(), f"{path} missing: run python -m gateway.openapi"
        assert path.read_text() == text, f"{path} is stale: run python -m gateway.openapi"


def test_pay_md_lists_the_x402_document_beside_it() -> None:
    pay = DOCS / openapi.PAY_FILE
    _, front, _ = pay.read_text().split("---\n", 2)
    meta = yaml.safe_load(front)
    assert {"name", "title", "description", "use_case", "category", "service_url"} <= set(meta)
    spec = pay.parent / meta["openapi"]["path"]
    assert spec == DOCS / openapi.X402_FILE and spec.exists()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # no lifespan: the documents need nothing started
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
        yield http


async def test_the_app_serves_both_documents(
    client: httpx.AsyncClient, full: Json, x402: Json
) -> None:
    for path, doc in (("/openapi.json", full), ("/api/x402/openapi.json", x402)):
        got = await client.get(path)
        assert got.status_code == 200
        body = got.json()
        assert body.pop("servers") == [{"url": "http://gw.test"}]
        assert body == doc
