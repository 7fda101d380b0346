"""Models from the chain (approved models, active offers), credits, health, metrics, logs."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.gateway.harness import Chain, Running, Upstreams, gateway_thread, settings_for


@pytest.fixture
def gw(chain: Chain, upstreams: Upstreams, tmp_path: object) -> Iterator[Running]:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    db = f"sqlite+aiosqlite:///{tmp_path / 'cat.sqlite3'}"
    with gateway_thread(settings_for(chain, upstreams, db)) as running:
        yield running


def test_models_list_is_openai_shaped_with_qualified_ids_and_chain_prices(gw: Running) -> None:
    key = gw.new_key(credit=1)
    listed = openai.OpenAI(base_url=gw.base_url, api_key=key).models.list()
    ids = [m.id for m in listed.data]
    assert ids == [
        "deepseek-chat",
        "standin-a/deepseek-chat",
        "standin-b/deepseek-chat",
        "kimi-k2.6",
        "standin-a/kimi-k2.6",
        "standin-b/kimi-k2.6",
    ]
    raw = httpx.get(gw.url + "/api/models").json()
    assert raw == httpx.get(gw.base_url + "/models").json()
    first = raw["data"][0]
    assert first["pricing"]["input_micro_usdc_per_mtok"] == 270_000
    assert first["pricing"]["output_micro_usdc_per_mtok"] == 1_100_000
    assert [p["id"] for p in first["providers"]] == [
        "standin-a/deepseek-chat",
        "standin-b/deepseek-chat",
    ]
    assert first["creator_fee_bps"] == 800


def test_a_qualified_id_pins_the_provider(gw: Running) -> None:
    key = gw.new_key(credit=1_000_000)
    client = openai.OpenAI(base_url=gw.base_url, api_key=key)
    raw = client.chat.completions.with_raw_response.create(
        model="standin-b/kimi-k2.6", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["X-Bourse-Provider"] == "Local stand-in B"
    assert raw.headers["X-Bourse-Model-Id"] == "standin-b/kimi-k2.6"


def test_credits_health_metrics(gw: Running) -> None:
    key = gw.new_key(credit=1_000_000)
    c = httpx.get(gw.base_url + "/credits", headers={"Authorization": f"Bearer {key}"}).json()
    assert (c["balance"], c["held"], c["unit"]) == (1_000_000, 0, "micro-USDC")
    assert "hold" in c["cost_model"]
    assert httpx.get(gw.url + "/health").json() == {"status": "ok", "models": 2}
    client = openai.OpenAI(base_url=gw.base_url, api_key=key)
    client.chat.completions.create(
        model="deepseek-chat", messages=[{"role": "user", "content": "hi"}]
    )
    text = httpx.get(gw.url + "/metrics").text
    assert (
        'bourse_gateway_calls_total{model="deepseek-chat",outcome="ok",provider="standin-a"} 1.0'
        in text
    )
    assert 'bourse_gateway_holds_total{outcome="posted"} 1.0' in text
    assert "bourse_gateway_upstream_first_chunk_seconds_bucket" in text
    assert "bourse_gateway_settlement_lag_seconds" in text
    r = httpx.get(gw.url + "/health")
    assert len(r.headers["X-Request-Id"]) == 32
