"""Bad input and refusals: each a clear OpenAI-shaped error, nothing charged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.gateway.harness import (
    Chain,
    Running,
    Upstreams,
    call_rows,
    gateway_thread,
    journal_sums,
    settings_for,
    user_row,
)

FUNDS = 1_000_000
OK_BODY = {"model": "deepseek-chat", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def gw(chain: Chain, upstreams: Upstreams, db_url: str) -> Iterator[Running]:
    settings = settings_for(
        chain,
        upstreams,
        db_url,
        max_body_bytes=4_096,
        rate_limit_per_minute=60,
        rate_limit_burst=3,
    )
    with gateway_thread(settings) as running:
        yield running


def _post(gw: Running, key: str, content: bytes | None = None, body: Any = None) -> httpx.Response:
    return httpx.post(
        gw.base_url + "/chat/completions",
        content=content if content is not None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=30,
    )


def _assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and isinstance(err["message"], str) and err["message"]
    assert set(err) >= {"message", "type", "code", "param"}
    return dict(err)


def _unchanged(gw: Running, user: str) -> None:
    user_id, available, held = user_row(gw.settings.db, user)
    assert (available, held) == (FUNDS, 0)
    assert journal_sums(gw.settings.db, user_id) == (FUNDS, 0)
    assert call_rows(gw.settings.db, user_id) == []


@pytest.mark.parametrize(
    ("content", "param"),
    [
        (b"{not json", None),
        (json.dumps({"model": "deepseek-chat"}).encode(), "messages"),
        (json.dumps({"model": "deepseek-chat", "messages": []}).encode(), "messages"),
        (json.dumps({"model": "deepseek-chat", "messages": ["hi"]}).encode(), "messages"),
        (json.dumps({**OK_BODY, "max_tokens": 10**9}).encode(), "max_tokens"),
        (json.dumps({**OK_BODY, "max_tokens": -1}).encode(), "max_tokens"),
        (json.dumps({**OK_BODY, "stream": "yes"}).encode(), "stream"),
        (json.dumps({"messages": OK_BODY["messages"]}).encode(), "model"),
    ],
)
def test_malformed_requests_are_400(gw: Running, content: bytes, param: str | None) -> None:
    key = gw.new_key("bad-input", credit=FUNDS)
    err = _assert_error(_post(gw, key, content), 400, "INVALID_REQUEST")
    assert err["param"] == param
    _unchanged(gw, "bad-input")


def test_oversized_body_is_413(gw: Running) -> None:
    key = gw.new_key("big", credit=FUNDS)
    body = {**OK_BODY, "messages": [{"role": "user", "content": "x" * 5_000}]}
    _assert_error(_post(gw, key, body=body), 413, "REQUEST_TOO_LARGE")
    _unchanged(gw, "big")


def test_unknown_model_is_404(gw: Running) -> None:
    key = gw.new_key("lost", credit=FUNDS)
    client = openai.OpenAI(base_url=gw.base_url, api_key=key, max_retries=0)
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    assert isinstance(e.value.body, dict) and e.value.body["code"] == "MODEL_NOT_FOUND"
    _unchanged(gw, "lost")


def test_missing_invalid_and_revoked_keys_are_401(gw: Running) -> None:
    r = httpx.post(gw.base_url + "/chat/completions", json=OK_BODY)
    _assert_error(r, 401, "UNAUTHORIZED")
    _assert_error(_post(gw, "bs_live_nope", body=OK_BODY), 401, "UNAUTHORIZED")
    key = gw.new_key("revoked", credit=FUNDS)
    assert _post(gw, key, body={**OK_BODY, "stream": False}).status_code == 200
    key_id = next(
        k["id"] for k in gw.admin("GET", "/api/admin/keys").json()["data"] if k["user"] == "revoked"
    )
    assert gw.admin("POST", f"/api/admin/keys/{key_id}/revoke").status_code == 200
    client = openai.OpenAI(base_url=gw.base_url, api_key=key, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(
            model="deepseek-chat", messages=[{"role": "user", "content": "hi"}]
        )


def test_short_balance_is_402_before_any_upstream_call(gw: Running, upstreams: Upstreams) -> None:
    key = gw.new_key("poor", credit=10)
    seen = len(upstreams.fakes["good"].requests)
    err = _assert_error(_post(gw, key, body=OK_BODY), 402, "INSUFFICIENT_QUOTA")
    assert err["metadata"]["balance"] == 10 and err["metadata"]["needed"] > 10
    assert "top up" in err["message"].lower()
    assert len(upstreams.fakes["good"].requests) == seen
    _user_id, available, held = user_row(gw.settings.db, "poor")
    assert (available, held) == (10, 0)


def test_rate_limit_is_429_per_key(gw: Running) -> None:
    key = gw.new_key("hasty", credit=FUNDS)
    other = gw.new_key("calm", credit=FUNDS)
    statuses = [_post(gw, key, body={**OK_BODY, "stream": False}).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
    r = _post(gw, key, body=OK_BODY)
    _assert_error(r, 429, "RATE_LIMITED")
    assert int(r.headers["Retry-After"]) >= 1
    assert _post(gw, other, body={**OK_BODY, "stream": False}).status_code == 200


def test_unknown_route_and_bad_admin_token(gw: Running) -> None:
    _assert_error(httpx.get(gw.url + "/api/v1/nothing"), 404, "NOT_FOUND")
    r = httpx.get(gw.url + "/api/admin/keys", headers={"Authorization": "Bearer wrong"})
    _assert_error(r, 401, "UNAUTHORIZED")
