"""``bourse market``: the market at a glance (every model's vault, volume, fees, buyback,
burn and supply), one model's history from its events, and its 30-day revenue and burn
chart (in the terminal, or a PNG with matplotlib)."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bourse_cli.context import CliState, state_of
from bourse_cli.errors import CliError, guard
from bourse_cli.options import I64_MAX, in_range
from bourse_cli.output import stdout_console, tokens, usdc
from bourse_ops.common import Session
from bourse_ops.market_view import list_models, model_chart, model_history, model_status

app: typer.Typer = typer.Typer(help="Market views: models, history, charts.", no_args_is_help=True)

BAR_WIDTH = 28
STATUSES = ("pending", "approved", "delisted")
#: Most transactions ``market history`` reads.
MAX_HISTORY = 10_000
#: Most days ``market chart`` shows.
MAX_DAYS = 3_660


def render_models(rows: list[dict[str, Any]]) -> RenderableType:
    table = Table(title="Bourse market")
    headers = (
        "model",
        "status",
        "token",
        "fee",
        "vault USDC",
        "volume USDC",
        "creator fees",
        "protocol fees",
        "bought back USDC",
        "burned",
        "supply",
    )
    for h in headers:
        table.add_column(h, justify="left" if h in ("model", "status", "token") else "right")
    for r in rows:
        dec = r["token_decimals"]
        table.add_row(
            r["slug"],
            r["status"],
            r["token_kind"],
            f"{r['fee_bps'] / 100:g}%",
            usdc(r["vault_balance"]),
            usdc(r["volume"]),
            usdc(r["creator_fees"]),
            usdc(r["protocol_fees"]),
            usdc(r["usdc_spent"]),
            tokens(r["tokens_burned_base_units"], dec),
            tokens(r["supply_base_units"], dec),
        )
    if not rows:
        table.caption = "no models listed yet"
    return table


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="Only models in this status (pending|approved|delisted)")
    ] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh until Ctrl-C")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between refreshes")] = 2.0,
    count: Annotated[int | None, typer.Option(help="Stop after this many refreshes")] = None,
) -> None:
    """Every model: vault balance, volume, fees, USDC spent on buyback, burned, supply."""
    state = state_of(ctx)
    with guard():
        if status is not None and status not in STATUSES:
            raise CliError(f"--status {status!r} is not one of {', '.join(STATUSES)}")
        in_range("--count", count, 1, I64_MAX)
        if not interval > 0:
            raise CliError(f"--interval must be a positive number of seconds, got {interval:g}")

    async def fetch(s: Session) -> list[dict[str, Any]]:
        return [v.to_json() for v in await list_models(s, status=status)]

    if not watch:
        state.out.emit(state.run(fetch), render_models)
        return
    _watch(state, fetch, interval, count)


def _watch(state: CliState, fetch: Any, interval: float, count: int | None) -> None:
    """Refresh in place (table mode) or print one JSON line per refresh (JSON mode)."""

    async def loop(s: Session) -> None:
        n = 0
        if state.out.json:
            while count is None or n < count:
                state.out.line({"at": int(time.time()), "models": await fetch(s)})
                n += 1
                if count is None or n < count:
                    await asyncio.sleep(interval)
            return
        with Live(console=stdout_console(), auto_refresh=False) as live:
            while count is None or n < count:
                rows = await fetch(s)
                stamp = Text(f"refreshed {time.strftime('%H:%M:%S')} every {interval:g}s")
                live.update(Group(render_models(rows), stamp), refresh=True)
                n += 1
                if count is None or n < count:
                    await asyncio.sleep(interval)

    state.run(loop, interrupt_ok=True)


def render_history(rows: list[dict[str, Any]], decimals: int | None = None) -> RenderableType:
    table = Table(title="model history (newest first)")
    for h in ("time (UTC)", "event", "details", "signature"):
        table.add_column(h, overflow="fold")
    for r in rows:
        when = (
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["block_time"]))
            if r["block_time"] is not None
            else "-"
        )
        table.add_row(
            when,
            r["event"],
            _details(r["event"], r["fields"], decimals or 0),
            r["signature"][:16] + "…",
        )
    if not rows:
        table.caption = "no events yet"
    return table


def _details(event: str, f: dict[str, Any], dec: int) -> str:
    """One event in words; token amounts in whole tokens of the model (``dec`` decimals)."""
    if event == "BatchSettled":
        return (
            f"batch {f['sequence']}: {f['count']:,} calls, {usdc(f['total'])} → provider "
            f"{usdc(f['provider_amount'])}, creator {usdc(f['creator_fee'])}, protocol "
            f"{usdc(f['protocol_fee'])}"
        )
    if event == "OrderSettled":
        refund = f" refund {usdc(f['refund'])}" if f.get("refund") else ""
        return (
            f"gross {usdc(f['gross'])} → provider {usdc(f['provider_amount'])}, creator "
            f"{usdc(f['creator_fee'])}, protocol {usdc(f['protocol_fee'])}{refund}"
        )
    if event == "BuybackExecuted":
        bought = tokens(f["tokens_bought"], dec)
        return f"spent {usdc(f['usdc_spent'])} USDC, bought {bought} tokens"
    if event == "TokensBurned":
        burned, total = tokens(f["amount"], dec), tokens(f["total_burned"], dec)
        return f"burned {burned} tokens (total {total})"
    if event == "OrderOpened":
        return f"hold {usdc(f['hold'])} USDC"
    if event == "OrderCancelled":
        who = "released by the settler" if f.get("by_settler") else "cancelled by the payer"
        return f"{who}: hold of {usdc(f['refund'])} USDC refunded"
    if event == "FeesHarvested":
        harvested = tokens(f["amount"], dec)
        return f"harvested {harvested} tokens from {f['sources']} accounts"
    shown = {k: v for k, v in f.items() if k != "model"}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


@app.command()
def history(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Model slug")],
    limit: Annotated[int, typer.Option(help="Transactions to read, newest first")] = 100,
) -> None:
    """A model's history from its events: settlements, buybacks, burns, status changes."""
    state = state_of(ctx)
    with guard():
        in_range("--limit", limit, 1, MAX_HISTORY)

    async def work(s: Session) -> tuple[list[dict[str, Any]], int | None]:
        entries = await model_history(s, slug, limit=limit)
        return [e.to_json() for e in entries], (await model_status(s, slug)).token_decimals

    rows, decimals = state.run(work)
    state.out.emit(rows, lambda r: render_history(r, decimals))


def _bar(value: int, top: int, style: str) -> Text:
    width = round(BAR_WIDTH * value / top) if top else 0
    if value and not width:
        width = 1
    return Text("█" * width, style=style)


def render_chart(d: dict[str, Any]) -> RenderableType:
    days = d["days"]
    top_rev = max((p["revenue"] for p in days), default=0)
    top_burn = max((p["tokens_burned_base_units"] for p in days), default=0)
    dec = d["token_decimals"]
    table = Table(title=f"{d['slug']}: revenue and burn, last {len(days)} days (UTC)")
    table.add_column("day")
    table.add_column("revenue USDC", justify="right")
    table.add_column("", min_width=BAR_WIDTH)
    table.add_column("burned", justify="right")
    table.add_column("", min_width=BAR_WIDTH)
    for p in days:
        table.add_row(
            p["date"],
            usdc(p["revenue"]),
            _bar(p["revenue"], top_rev, "green"),
            tokens(p["tokens_burned_base_units"], dec),
            _bar(p["tokens_burned_base_units"], top_burn, "red"),
        )
    total_rev = sum(p["revenue"] for p in days)
    total_burn = sum(p["tokens_burned_base_units"] for p in days)
    table.caption = f"total revenue {usdc(total_rev)} USDC, burned {tokens(total_burn, dec)}"
    return table


@app.command()
def chart(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Model slug")],
    days: Annotated[int, typer.Option(help="Days to show, ending today (chain time)")] = 30,
    png: Annotated[Path | None, typer.Option(help="Also write a PNG (needs matplotlib)")] = None,
) -> None:
    """A model's daily revenue (gross settled USDC) and tokens burned, like the market page."""
    state = state_of(ctx)
    with guard():
        in_range("--days", days, 1, MAX_DAYS)

    async def work(s: Session) -> dict[str, Any]:
        view = await model_status(s, slug)
        points = await model_chart(s, slug, days=days)
        return {
            "slug": slug,
            "token_decimals": view.token_decimals,
            "days": [p.to_json() for p in points],
        }

    data = state.run(work)
    if png is not None:
        with guard():
            write_png(data, png)
        data["png"] = str(png)
    state.out.emit(data, render_chart)


def write_png(data: dict[str, Any], path: Path) -> None:
    """The chart as a PNG: revenue bars (USDC) and burned tokens (line), per day."""
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        raise CliError(
            "--png needs matplotlib (`pip install matplotlib`); the terminal chart works without"
        ) from None
    matplotlib.use("Agg")
    plt = importlib.import_module("matplotlib.pyplot")
    points: Sequence[dict[str, Any]] = data["days"]
    dates = [p["date"][5:] for p in points]
    revenue = [p["revenue"] / 1e6 for p in points]
    burned = [p["tokens_burned_base_units"] / 10 ** (data["token_decimals"] or 0) for p in points]
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(dates, revenue, color="#2e7d32", label="revenue (USDC)")
    ax.set_ylabel("USDC")
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    ax2 = ax.twinx()
    ax2.plot(dates, burned, color="#c62828", marker="o", label="tokens burned")
    ax2.set_ylabel("tokens burned")
    ax.set_title(f"{data['slug']}: {len(points)}-day revenue and burn")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
