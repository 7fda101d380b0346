"""The OpenAI wire through the official client: streaming and not, ``stream_options``,
headers, holds and charges to the micro-USDC, failover, and what is charged when an upstream
omits usage or drops mid-stream."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from bourse_chain.money import expected_split, usage_charge
from gateway.localnet_demo import PROTOCOL_FEE_BPS
from gateway.standin import prompt_tokens, reply_words
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

A_PRICES = (270_000, 1_100_000)  # standin-a, deepseek-chat
B_PRICES = (300_000, 1_200_000)
FEE_BPS = 800
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hello, Bourse."}]
FUNDS = 5_000_000


@pytest.fixture
def gw(chain: Chain, upstreams: Upstreams, db_url: str) -> Iterator[Running]:
    with gateway_thread(settings_for(chain, upstreams, db_url)) as running:
        yield running


def _user(gw: Running, key: str) -> tuple[int, int, int]:
    r = httpx.get(gw.base_url + "/credits", headers={"Authorization": f"Bearer {key}"})
    return user_row(gw.settings.db, r.json()["user"])


def _expected(prices: tuple[int, int], tokens_in: int, tokens_out: int) -> int:
    return usage_charge(prices[0], prices[1], tokens_in, tokens_out)


def test_json_call_charges_reported_usage_and_records_the_split(gw: Running) -> None:
    key = gw.new_key(credit=FUNDS)
    client = openai.OpenAI(base_url=gw.base_url, api_key=key)
    raw = client.chat.completions.with_raw_response.create(
        model="deepseek-chat",
        messages=MESSAGES,
        max_tokens=50,
    )
    completion = raw.parse()
    words = reply_words("deepseek-chat", MESSAGES)
    assert completion.choices[0].message.content == "".join(words)
    assert raw.headers["X-Bourse-Provider"] == "Local stand-in A"
    assert raw.headers["X-Bourse-Model-Id"] == "standin-a/deepseek-chat"
    assert raw.headers["X-Bourse-Model"].startswith("DeepSeek V3")
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (prompt_tokens(MESSAGES), len(words))
    gross = _expected(A_PRICES, usage.prompt_tokens, usage.completion_tokens)
    assert raw.headers["X-Bourse-Charge"] == str(gross)
    user_id, available, held = _user(gw, key)
    assert (available, held) == (FUNDS - gross, 0)
    assert journal_sums(gw.settings.db, user_id) == (available, held)
    (row,) = call_rows(gw.settings.db, user_id)
    provider, creator, protocol = expected_split(gross, PROTOCOL_FEE_BPS, FEE_BPS)
    assert (row.gross, row.provider_amount, row.creator_fee, row.protocol_fee) == (
        gross,
        provider,
        creator,
        protocol,
    )
    assert row.usage_source == "upstream"


def test_stream_with_usage_chunk(gw: Running) -> None:
    key = gw.new_key(credit=FUNDS)
    client = openai.OpenAI(base_url=gw.base_url, api_key=key)
    chunks = list(
        client.chat.completions.create(
            model="deepseek-chat",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(reply_words("deepseek-chat", MESSAGES))
    usage = chunks[-1].usage
    assert usage is not None and not chunks[-1].choices
    gross = _expected(A_PRICES, usage.prompt_tokens, usage.completion_tokens)
    user_id, available, held = _user(gw, key)
    assert (available, held) == (FUNDS - gross, 0)
    assert journal_sums(gw.settings.db, user_id) == (available, held)


def test_stream_is_the_default_without_accept_json(gw: Running) -> None:
    key = gw.new_key(credit=FUNDS)
    r = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "deepseek-chat", "messages": MESSAGES},
        headers={"Authorization": f"Bearer {key}", "Accept": "*/*"},
    )
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert all(json.loads(e)["object"] == "chat.completion.chunk" for e in events[:-1])
    # no include_usage asked: no usage chunk forwarded
    assert all(json.loads(e)["choices"] for e in events[:-1])


def test_hold_is_bounded_by_max_tokens_and_the_request_bytes(gw: Running) -> None:
    key = gw.new_key(credit=FUNDS)
    body = {"model": "deepseek-chat", "messages": MESSAGES, "max_tokens": 100, "stream": False}
    raw = json.dumps(body).encode()
    r = httpx.post(
        gw.base_url + "/chat/completions",
        content=raw,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    bound_in = len(raw) + 8 * 1 + 16
    assert int(r.headers["X-Bourse-Hold"]) == _expected(A_PRICES, bound_in, 100)


def test_failover_before_first_byte_tops_up_the_hold(
    chain: Chain, upstreams: Upstreams, db_url: str
) -> None:
    settings = settings_for(chain, upstreams, db_url, behaviours=("fail", "good"))
    with gateway_thread(settings) as gw:
        key = gw.new_key(credit=FUNDS)
        client = openai.OpenAI(base_url=gw.base_url, api_key=key)
        raw = client.chat.completions.with_raw_response.create(
            model="deepseek-chat",
            messages=MESSAGES,
            max_tokens=20,
        )
        completion = raw.parse()
        assert raw.headers["X-Bourse-Provider"] == "Local stand-in B"
        assert completion.usage is not None
        gross = _expected(
            B_PRICES, completion.usage.prompt_tokens, completion.usage.completion_tokens
        )
        user_id, available, held = _user(gw, key)
        assert (available, held) == (FUNDS - gross, 0)
        # the hold was topped up to B's (dearer) bound
        hold_b = int(raw.headers["X-Bourse-Hold"])
        assert hold_b > _expected(A_PRICES, 1, 20)
        kinds = [k for k in _journal_kinds(gw, user_id)]
        assert kinds == ["credit", "hold", "hold_topup", "post"]


def _journal_kinds(gw: Running, user_id: int) -> list[str]:
    from sqlalchemy import select

    from gateway.db.schema import journal
    from tests.gateway.harness import read_db

    rows = read_db(
        gw.settings.db,
        select(journal.c.kind).where(journal.c.user_id == user_id).order_by(journal.c.id),
    )
    return [r[0] for r in rows]


@pytest.mark.parametrize("behaviours", [("fail", "garbage"), ("slow", "fail")])
def test_all_providers_failed_releases_the_hold(
    chain: Chain, upstreams: Upstreams, db_url: str, behaviours: tuple[str, str]
) -> None:
    with gateway_thread(settings_for(chain, upstreams, db_url, behaviours=behaviours)) as gw:
        key = gw.new_key(credit=FUNDS)
        client = openai.OpenAI(base_url=gw.base_url, api_key=key, max_retries=0)
        with pytest.raises(openai.APIStatusError) as e:
            client.chat.completions.create(model="deepseek-chat", messages=MESSAGES)
        assert e.value.status_code == 502
        err = e.value.body
        assert isinstance(err, dict) and err["code"] == "ALL_PROVIDERS_FAILED"
        user_id, available, held = _user(gw, key)
        assert (available, held) == (FUNDS, 0)
        assert call_rows(gw.settings.db, user_id) == []
        assert journal_sums(gw.settings.db, user_id) == (FUNDS, 0)


def test_upstream_without_usage_is_charged_the_byte_bound(
    chain: Chain, upstreams: Upstreams, db_url: str
) -> None:
    settings = settings_for(chain, upstreams, db_url, behaviours=("no_usage", "good"))
    with gateway_thread(settings) as gw:
        key = gw.new_key(credit=FUNDS)
        body = {"model": "deepseek-chat", "messages": MESSAGES, "max_tokens": 64, "stream": False}
        raw = json.dumps(body).encode()
        r = httpx.post(
            gw.base_url + "/chat/completions",
            content=raw,
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 200, r.text
        text = r.json()["choices"][0]["message"]["content"]
        # output: the bytes delivered, capped at max_tokens (the text is longer than 64 bytes)
        assert len(text.encode()) > 64
        gross = _expected(A_PRICES, len(raw) + 8 + 16, 64)
        assert r.json()["usage"]["cost_micro_usdc"] == gross
        assert r.json()["usage"]["usage_reported"] is False
        user_id, available, _ = _user(gw, key)
        assert available == FUNDS - gross
        (row,) = call_rows(gw.settings.db, user_id)
        assert row.usage_source == "bound" and row.gross == gross


def test_drop_mid_stream_sends_an_error_event_and_charges_what_was_delivered(
    chain: Chain, upstreams: Upstreams, db_url: str
) -> None:
    settings = settings_for(chain, upstreams, db_url, behaviours=("drop", "good"))
    with gateway_thread(settings) as gw:
        key = gw.new_key(credit=FUNDS)
        body = {"model": "deepseek-chat", "messages": MESSAGES, "max_tokens": 64, "stream": True}
        raw = json.dumps(body).encode()
        r = httpx.post(
            gw.base_url + "/chat/completions",
            content=raw,
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 200
        events = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
        last = json.loads(events[-1])
        assert last["error"]["code"] == "UPSTREAM_ERROR"
        delivered = "".join(
            (json.loads(e)["choices"][0]["delta"].get("content") or "") for e in events[:-1]
        )
        assert delivered == "".join(reply_words("deepseek-chat", MESSAGES)[:2])
        gross = _expected(A_PRICES, len(raw) + 8 + 16, len(delivered.encode()))
        _user_id, available, held = _user(gw, key)
        assert (available, held) == (FUNDS - gross, 0)
        # the openai client raises on the error event
        client = openai.OpenAI(base_url=gw.base_url, api_key=key)
        with pytest.raises(openai.APIError):
            for _ in client.chat.completions.create(
                model="deepseek-chat",
                messages=MESSAGES,
                stream=True,
            ):
                pass


def test_json_call_fails_over_when_the_first_upstream_drops(
    chain: Chain, upstreams: Upstreams, db_url: str
) -> None:
    settings = settings_for(chain, upstreams, db_url, behaviours=("drop", "good"))
    with gateway_thread(settings) as gw:
        key = gw.new_key(credit=FUNDS)
        client = openai.OpenAI(base_url=gw.base_url, api_key=key)
        raw = client.chat.completions.with_raw_response.create(
            model="deepseek-chat",
            messages=MESSAGES,
        )
        assert raw.headers["X-Bourse-Provider"] == "Local stand-in B"
        assert raw.parse().choices[0].message.content == "".join(
            reply_words("deepseek-chat", MESSAGES)
        )


def test_client_leaving_mid_stream_settles_what_was_delivered(
    chain: Chain, upstreams: Upstreams, db_url: str
) -> None:
    import time

    settings = settings_for(chain, upstreams, db_url, behaviours=("drop", "good"))
    with gateway_thread(settings) as gw:
        key = gw.new_key(credit=FUNDS)
        body = {"model": "deepseek-chat", "messages": MESSAGES, "max_tokens": 64, "stream": True}
        raw = json.dumps(body).encode()
        with httpx.stream(
            "POST",
            gw.base_url + "/chat/completions",
            content=raw,
            headers={"Authorization": f"Bearer {key}"},
        ) as r:
            first = next(r.iter_lines())
            assert first.startswith("data: ")
        # the client is gone while the upstream still streams (it stalls before dropping)
        deadline = time.monotonic() + 10
        while _user(gw, key)[2] != 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        user_id, available, _ = _user(gw, key)
        (row,) = call_rows(gw.settings.db, user_id)
        assert row.usage_source == "bound"
        delivered = "".join(reply_words("deepseek-chat", MESSAGES)[:2])
        assert row.gross == _expected(A_PRICES, len(raw) + 8 + 16, len(delivered.encode()))
        assert available == FUNDS - row.gross
        assert journal_sums(gw.settings.db, user_id) == (available, 0)
        metrics = httpx.get(gw.url + "/metrics").text
        assert 'outcome="client_gone"' in metrics
