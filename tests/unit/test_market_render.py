"""The market page's pure parts: UI units, the SVG charts, escaping, the event tail's window."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bourse_ops.market_view import HistoryEntry
from gateway.market.charts import HEIGHT, PAD_BOTTOM, PAD_TOP, bar_chart, sparkline
from gateway.market.render import Renderer, percent, slug_path, tokens, usdc, utc
from gateway.market.router import etag_of, is_listed
from gateway.market.schemas import (
    CatalogEntry,
    DayPoint,
    MarketModel,
    MarketSnapshot,
    MarketTotals,
)
from gateway.market.service import build_read
from gateway.market.tail import DAY, EventTail


def test_ui_units() -> None:
    assert usdc(1_250_000) == "1.25 USDC"
    assert usdc(0) == "0 USDC"
    assert usdc(1_234_567_890_123) == "1,234,567.890123 USDC"
    assert usdc(None) == "\N{EN DASH}"
    assert tokens(5_000_000, 6) == "5 tokens"
    assert tokens(7, 0) == "7 tokens"
    assert percent(250) == "2.5%" and percent(500) == "5%"
    assert utc(0) == "never"
    assert utc(1_700_000_000) == "2023-11-14 22:13 UTC"
    assert slug_path("acme/chat 1?") == "acme/chat%201%3F"


@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), min_size=1, max_size=40))
def test_bars_scale_to_the_largest_value(values: list[int]) -> None:
    dates = [f"2026-11-{i + 1:02d}" for i in range(len(values))]
    svg = str(bar_chart(values, dates, title="t", label=usdc))
    heights = [float(h) for h in re.findall(r'height="([0-9.]+)"><title>', svg)]
    assert len(heights) == len(values)
    top = max(values)
    inner = HEIGHT - PAD_TOP - PAD_BOTTOM
    for v, h in zip(values, heights, strict=True):
        if v == 0:
            assert h == 0
        else:  # proportional (rounded to 0.1), never invisible
            assert h >= 1 and abs(h - max(inner * v / top, 1)) <= 0.05
    assert f"max {usdc(top)}" in svg


def test_chart_and_titles_are_escaped() -> None:
    svg = str(bar_chart([1], ["<d>"], title='"><script>x</script>', label=str))
    assert "<script>" not in svg and "&lt;d&gt;" in svg
    spark = str(sparkline([0, 0, 0], title="<b>"))
    assert "<b>" not in spark and 'points="1.0,27.0 60.0,27.0 119.0,27.0"' in spark


def snapshot_of(models: list[MarketModel], catalog: list[CatalogEntry]) -> MarketSnapshot:
    return MarketSnapshot(
        chain_time=0,
        refreshed_at=0,
        window_days=1,
        dates=["2026-12-03"],
        totals=MarketTotals(
            models=0,
            approved=0,
            tokenized=0,
            volume=0,
            settlements=0,
            creator_fees=0,
            usdc_spent=0,
            vault_balance=0,
            revenue_window=0,
        ),
        days=[
            DayPoint(
                date="2026-12-03", revenue=0, creator_fees=0, usdc_spent=0, tokens_burned=0, calls=0
            )
        ],
        models=models,
        catalog=catalog,
        events_indexed=0,
    )


def market_html(snapshot: MarketSnapshot, page: int = 1, per_page: int = 100) -> str:
    listed = [m for m in snapshot.models if is_listed(m)]
    first = (page - 1) * per_page
    return Renderer(assets="/a", refresh_ms=1000).render(
        "market_main.html",
        snapshot=snapshot,
        stale=snapshot.stale,
        approved=listed[first : first + per_page],
        first=first,
        listed=len(listed),
        page=page,
        pages=-(-len(listed) // per_page),
        others=[],
        home="/m",
    )


def a_model(i: int) -> MarketModel:
    return MarketModel(
        slug=f"org/m-{i}",
        address=f"A{i}",
        status="approved",
        creator="C",
        fee_bps=500,
        metadata_uri="",
        token_kind="spl",
        mint=f"M{i}",
        token_program="T",
        revenue_vault="R",
        buyback_vault="B",
        vault_balance=i,
        buyback_vault_balance=0,
        volume=1_000 - i,
        creator_fees=0,
        protocol_fees=0,
        provider_payouts=0,
        settlements=0,
        usdc_spent=0,
        tokens_bought=0,
        tokens_burned=0,
        supply=10**12,
        token_decimals=6,
        last_buyback_ts=0,
        created_at=0,
        revenue_days=[i],
        revenue_window=i,
        transfer_fee_bps=None,
        transfer_fee_max=None,
    )


def test_pages_escape_what_the_chain_and_the_catalog_say() -> None:
    evil = CatalogEntry(id="x", name="<img src=x onerror=alert(1)>")
    html = market_html(snapshot_of([], [evil]).model_copy(update={"stale": True}))
    assert "<img" not in html and "&lt;img src=x" in html
    assert "figures from the last read" in html
    assert etag_of(html) == etag_of(html) != etag_of(html + " ")


def entry(sig: str, t: int, event: str, **fields: object) -> HistoryEntry:
    return HistoryEntry(sig, t, t, event, dict(fields))


def test_tail_keeps_the_window_and_groups_by_model() -> None:
    tail = EventTail(window_days=2)
    now = 100 * DAY + 3600
    old = entry("a", 98 * DAY + 10, "BatchSettled", model="M", count=1, total=5, creator_fee=1)
    inside = entry("b", 99 * DAY, "BatchSettled", model="M", count=3, total=7, creator_fee=2)
    other = entry("c", now, "TokensBurned", model="N", amount=3, total_burned=3)
    config = entry("d", now, "ConfigUpdated", admin="A")
    tail._add([inside, old])  # an earlier update (newest first)
    tail._add([other, config])  # a later one
    assert tail.horizon(now) == 99 * DAY
    tail._prune(tail.horizon(now))
    assert [e.signature for e in tail.entries] == ["c", "d", "b"]
    assert tail.of_model("M") == [inside] and tail.of_model("N") == [other]
    assert tail.of_model("nobody") == []
    read = build_read([], tail, now, 2, [])
    assert [d.revenue for d in read.snapshot.days] == [7, 0]
    assert [d.calls for d in read.snapshot.days] == [3, 0]  # the batch's calls
    assert [d.creator_fees for d in read.snapshot.days] == [2, 0]
    assert read.snapshot.events_indexed == 3


def test_a_page_of_models_with_its_pager() -> None:
    html = market_html(snapshot_of([a_model(i) for i in range(250)], []), page=3)
    slugs = re.findall(r'<li class="card model" data-slug="([^"]+)"', html)
    assert slugs == [f"org/m-{i}" for i in range(200, 250)]
    assert "Models 201\N{EN DASH}250 of 250, by volume" in html
    assert 'rel="prev" href="/m?page=2"' in html and 'rel="next"' not in html
    one = market_html(snapshot_of([a_model(i) for i in range(3)], []))
    assert 'class="pager"' not in one and one.count('class="card model"') == 3
