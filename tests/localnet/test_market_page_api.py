"""The market API on a live localnet: served by the gateway process, its figures equal
``bourse market list -o json`` and the chain, history equals ``bourse market history``; reads
are cached and cost the budget docs/market.md states, catalog previews, errors (the router
in-process, with the gateway's error handlers)."""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from markupsafe import escape

from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from bourse_chain.money import expected_split
from gateway.app import install_error_handlers
from gateway.market import CatalogEntry, MarketService, market_router
from tests.support.cli import Bourse
from tests.support.market_chain import PROTOCOL_FEE_BPS, USDC, MarketChain, start_market
from tests.support.market_gateway import MarketGateway, market_gateway

CHAT, CODER, PENDING = "acme/chat-1", "acme/coder-2", "acme/pending-3"
CATALOG = [
    CatalogEntry(id=CHAT, name="Chat One (tokenized: no preview)"),
    CatalogEntry(id=PENDING, name="Pending Three", price_input_per_mtok=2 * USDC),
    CatalogEntry(id="other/llama-x", name="Llama X", context_length=131_072),
]


@pytest.fixture(scope="module")
async def chain(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MarketChain]:
    async with start_market(tmp_path_factory.mktemp("market-api")) as c:
        await c.list_model(CHAT)
        await c.list_model(CODER, t22=True)
        await c.register_only(PENDING)
        batch = await c.pay(CHAT, 3 * USDC, 1_250_001)  # two calls, one batch
        assert (batch.count, batch.total) == (2, 4_250_001)
        await c.pay(CODER, 2 * USDC)
        report = await c.buyback(CHAT)
        assert report.tokens_burned > 0
        yield c


@pytest.fixture
async def service(chain: MarketChain) -> AsyncIterator[MarketService]:
    async def catalog() -> list[CatalogEntry]:  # what the gateway supplies: its routed models
        return CATALOG

    svc = MarketService([chain.rpc_url], catalog=catalog, ttl_secs=3600)
    yield svc
    await svc.aclose()


@pytest.fixture(scope="module")
async def gateway(
    chain: MarketChain, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[MarketGateway]:
    """``bourse-gateway serve`` on this chain, routing the two tokenized models."""
    async with market_gateway(chain, [CHAT, CODER], tmp_path_factory.mktemp("gw")) as gw:
        yield gw


def router_app(service: MarketService) -> FastAPI:
    """The market router as the gateway mounts it, on a reader the test controls."""
    app = FastAPI()
    app.include_router(market_router("unused", service=service))
    install_error_handlers(app)
    return app


@pytest.fixture
async def api(service: MarketService) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=router_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://market") as client:
        yield client


def cli(chain: MarketChain) -> Bourse:
    return Bourse(chain.rpc_url, chain.net.manifest_path.parent)


async def test_gateway_api_equals_cli_list(chain: MarketChain, gateway: MarketGateway) -> None:
    # Given the chain as `bourse market list -o json` reads it
    rows = (await asyncio.to_thread(cli(chain), "market", "list")).json()
    # When the gateway process is asked
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        body = (await http.get("/api/market")).json()
        detail = (await http.get(f"/api/market/{CHAT}")).json()
        missing = await http.get("/api/market/acme/nope")
        page = await http.get(f"/market/{CODER}")
    # Then every model is there, in the same order, with the same figures
    assert [m["slug"] for m in body["models"]] == [r["slug"] for r in rows]
    for model, row in zip(body["models"], rows, strict=True):
        assert {k: model[k] for k in row} == row
    assert {r["slug"] for r in rows} == {CHAT, CODER, PENDING}
    # the gateway routes only tokenized models here: nothing to preview
    assert body["catalog"] == []
    history = (await asyncio.to_thread(cli(chain), "market", "history", CHAT)).json()
    assert detail["history"] == history
    # errors are the gateway's, OpenAI-shaped
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    assert "acme/nope" in missing.json()["error"]["message"]
    assert page.status_code == 200 and CODER in page.text


async def test_api_figures_equal_the_chain(chain: MarketChain, api: httpx.AsyncClient) -> None:
    body = (await api.get("/api/market")).json()
    by_slug = {m["slug"]: m for m in body["models"]}
    for slug in (CHAT, CODER):
        address, model = await chain.model(slug)
        got = by_slug[slug]
        assert got["address"] == str(address)
        assert got["volume"] == model.total_volume > 0
        assert got["creator_fees"] == model.total_creator_fees
        assert got["tokens_burned_base_units"] == model.tokens_burned
        assert got["vault_balance"] == await chain.balance(model.revenue_vault)
        assert got["buyback_vault_balance_base_units"] == await chain.balance(model.buyback_vault)
        assert got["supply_base_units"] == await chain.supply(model.mint)
        assert got["token_kind"] == ("token2022" if slug == CODER else "spl")
        # the Token-2022 token carries a 1% transfer fee (create_model_token's)
        if slug == CODER:
            assert got["transfer_fee_bps"] == 100 and got["transfer_fee_max"] > 0
        else:
            assert got["transfer_fee_bps"] is None is got["transfer_fee_max"]
        assert model.token_kind != TokenKind.NONE
        # every settlement happened today: the window's revenue is the whole volume
        assert got["revenue_window"] == sum(got["revenue_days"]) == model.total_volume
        assert got["revenue_days"][-1] == model.total_volume
    assert by_slug[CHAT]["tokens_burned_base_units"] > 0 and by_slug[CHAT]["last_buyback_ts"] > 0
    assert body["totals"]["volume"] == sum(m["volume"] for m in body["models"])
    assert body["totals"]["revenue_window"] == body["totals"]["volume"] == 6_250_001
    assert body["totals"]["approved"] == 2
    assert body["days"][-1]["calls"] == 3
    assert body["totals"]["settlements"] == 3 == sum(m["settlements"] for m in body["models"])
    assert len(body["dates"]) == body["window_days"] == 30


async def test_model_detail_equals_cli_history_and_chart(
    chain: MarketChain, api: httpx.AsyncClient
) -> None:
    bourse = cli(chain)
    history = (await asyncio.to_thread(bourse, "market", "history", CHAT)).json()
    chart = (await asyncio.to_thread(bourse, "market", "chart", CHAT)).json()
    detail = (await api.get(f"/api/market/{CHAT}")).json()
    assert detail["model"]["slug"] == CHAT
    # the CLI reads the model's own transactions; the API the program's: same events
    assert detail["history"] == history
    events = [e["event"] for e in history]
    assert "PaymentSettled" not in events and "BuybackExecuted" in events
    assert "TokensBurned" in events
    # the two calls settled in one batch: its count, total and split as the program paid them
    (batch,) = [e["fields"] for e in history if e["event"] == "BatchSettled"]
    _, model = await chain.model(CHAT)
    fees = expected_split(4_250_001, PROTOCOL_FEE_BPS, model.fee_bps)
    assert (batch["count"], batch["total"], batch["sequence"]) == (2, 4_250_001, 0)
    assert (batch["provider_amount"], batch["creator_fee"], batch["protocol_fee"]) == fees
    assert batch["model"] == detail["model"]["address"]
    assert detail["model"]["settlements"] == model.settlement_count == 2
    assert detail["days"] == chart["days"]
    assert detail["days"][-1]["calls"] == 2
    assert detail["days"][-1]["revenue"] == 4_250_001


async def test_catalog_previews_only_models_without_a_token(api: httpx.AsyncClient) -> None:
    catalog = (await api.get("/api/market")).json()["catalog"]
    assert [c["id"] for c in catalog] == [PENDING, "other/llama-x"]
    assert catalog[0]["price_input_per_mtok"] == 2 * USDC


async def test_status_filter_and_errors(api: httpx.AsyncClient) -> None:
    approved = (await api.get("/api/market", params={"status": "approved"})).json()
    assert {m["slug"] for m in approved["models"]} == {CHAT, CODER}
    missing = await api.get("/api/market/acme/nope")
    assert missing.status_code == 404 and "acme/nope" in missing.json()["error"]["message"]
    assert (await api.get("/market/acme/nope")).status_code == 404
    # a path under tx/ that is not a signature is a slug (no such model here)
    assert (await api.get("/api/market/tx/not-a-sig")).status_code == 404
    unknown_tx = "1" * 64
    assert (await api.get(f"/api/market/tx/{unknown_tx}")).status_code == 404


async def test_transaction_view(api: httpx.AsyncClient) -> None:
    detail = (await api.get(f"/api/market/{CHAT}")).json()
    burn = next(e for e in detail["history"] if e["event"] == "TokensBurned")
    tx = (await api.get(f"/api/market/tx/{burn['signature']}")).json()
    assert tx["succeeded"] is True and tx["fee"] > 0
    assert burn["fields"] in [e["fields"] for e in tx["events"]]
    page = await api.get(f"/market/tx/{burn['signature']}")
    assert page.status_code == 200 and burn["signature"] in page.text


async def test_reads_are_cached_and_cost_the_budget(
    chain: MarketChain, service: MarketService, api: httpx.AsyncClient
) -> None:
    # Given one read done
    await api.get("/api/market")
    before = service.calls.copy()
    # When the page, the API and a model page are asked again within the TTL
    for path in ("/market", "/api/market", f"/market/{CHAT}", f"/api/market/{CODER}"):
        assert (await api.get(path)).status_code == 200
    # Then no RPC call is made
    assert service.calls == before
    # And after a new settlement, one refresh costs the scan's batches plus the new tx
    await chain.pay(CODER, 500_000)
    service.ttl_secs = 0
    body = (await api.get("/api/market")).json()
    spent = service.calls - before
    n = len(body["models"])
    assert dict(spent) == {
        "getProgramAccounts": 1,
        "getMultipleAccounts": math.ceil((1 + 3 * n) / 100),  # the clock, then 3 per model
        "getSignaturesForAddress": 1,
        "getTransaction": 1,
    }
    coder = next(m for m in body["models"] if m["slug"] == CODER)
    assert coder["volume"] == 2_500_000 == coder["revenue_window"]


async def test_unreachable_chain_is_a_503(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    service = MarketService([url], rpc_timeout_secs=1)
    app = router_app(service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m") as c:
        got = await c.get("/api/market")
        page = await c.get("/market")
    await service.aclose()
    assert page.status_code == 503
    assert got.status_code == 503
    assert got.json()["error"]["code"] == "CHAIN_UNAVAILABLE"
    assert "cannot read the chain" in got.json()["error"]["message"]


async def test_window_and_a_chain_that_goes_away(tmp_path: Path) -> None:
    # Given a model paid 40 days ago and again today
    async with start_market(tmp_path) as c:
        await c.list_model("old/model")
        await c.pay("old/model", 7 * USDC)
        await c.net.warp_time(40 * 86_400)
        await c.pay("old/model", 1_500_000)
        service = MarketService([c.rpc_url], ttl_secs=0)
        try:
            # When the market is read
            first = await service.read()
            model = first.model("old/model")
            assert model is not None
            # Then the volume is all time, the window's revenue only the last 30 days
            assert model.volume == 8_500_000
            assert model.revenue_window == 1_500_000 == model.revenue_days[-1]
            detail = first.detail("old/model")
            assert detail is not None
            assert [e.event for e in detail.history] == ["BatchSettled"]
            assert detail.history[0].fields["total"] == 1_500_000
            assert detail.history[0].fields["count"] == 1
            assert detail.history[0].fields["sequence"] == 1  # the stream's second batch
            assert first.snapshot.stale is False
        finally:
            stopped_at = service.calls.copy()
    # When the chain goes away, the last read is served, marked stale
    try:
        again = await service.read()
        assert service.calls != stopped_at  # it did try
        assert again.stale is True and again.snapshot.stale is True
        assert again.model("old/model") == first.model("old/model")
    finally:
        await service.aclose()


async def test_fragments_answer_304_while_unchanged(api: httpx.AsyncClient) -> None:
    full = await api.get(f"/market/{CHAT}")
    assert full.status_code == 200 and full.text.startswith("<!doctype html>")
    assert f'data-live="/market/{CHAT}?fragment=1"' in full.text
    part = await api.get(f"/market/{CHAT}", params={"fragment": 1})
    assert part.status_code == 200 and "<html" not in part.text
    # the page starts from the fragment it embeds: its first poll answers 304
    assert f'data-etag="{escape(part.headers["etag"])}"' in full.text
    same = await api.get(
        f"/market/{CHAT}", params={"fragment": 1}, headers={"If-None-Match": part.headers["etag"]}
    )
    assert same.status_code == 304 and same.content == b""
    css = await api.get("/market-assets/market.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert (await api.get("/market-assets/secret.py")).status_code == 404
