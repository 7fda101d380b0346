"""HTML of the market pages: Jinja2 templates shipped in the package, amounts in UI units
with their unit (``bourse_ops.common.format_amount``, the CLI's formatter)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bourse_ops.common import USDC_DECIMALS, format_amount
from gateway.market import charts

NONE = "\N{EN DASH}"


def usdc(micro: int | None) -> str:
    """``usdc(1_250_000) == "1.25 USDC"``."""
    return NONE if micro is None else f"{format_amount(micro, USDC_DECIMALS)} USDC"


def tokens(raw: int | None, decimals: int | None) -> str:
    """``tokens(5_000_000, 6) == "5 tokens"``."""
    return NONE if raw is None else f"{format_amount(raw, decimals or 0)} tokens"


def percent(bps: int) -> str:
    """``percent(250) == "2.5%"``."""
    return f"{bps / 100:g}%"


def per_mtok(micro: int | None) -> str:
    return NONE if micro is None else f"{format_amount(micro, USDC_DECIMALS)} USDC / M tokens"


def utc(ts: int | float | None, never: str = "never") -> str:
    """``utc(0) == "never"``; else ``YYYY-MM-DD HH:MM UTC``."""
    if not ts:
        return never
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def short(address: str | None) -> str:
    if not address:
        return NONE
    return address if len(address) <= 12 else f"{address[:4]}…{address[-4:]}"


def slug_path(slug: str) -> str:
    """The slug as a URL path (``/`` kept: ``/market/org/model`` resolves)."""
    return quote(slug, safe="/:")


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("gateway.market", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        usdc=usdc,
        tokens=tokens,
        percent=percent,
        per_mtok=per_mtok,
        utc=utc,
        short=short,
        slug_path=slug_path,
    )
    env.globals.update(bar_chart=charts.bar_chart, sparkline=charts.sparkline, usdc=usdc)
    return env


class Renderer:
    """Renders the templates with the URLs of one mounting."""

    def __init__(self, *, assets: str, refresh_ms: int) -> None:
        self.env = environment()
        self.assets = assets
        self.refresh_ms = refresh_ms

    def render(self, template: str, **context: Any) -> str:
        base = {"assets": self.assets, "refresh_ms": self.refresh_ms}
        return self.env.get_template(template).render(**base, **context)
