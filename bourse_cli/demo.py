"""``bourse demo``: the whole value flow on an embedded localnet, with a progress display
(stderr) and the value flow at the end (stdout: tables, or JSON with ``-o json``)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from bourse_cli.context import state_of
from bourse_cli.errors import guard
from bourse_cli.options import in_range
from bourse_cli.output import stderr_console, tokens, usdc
from bourse_ops.demo import DemoReport, run_demo

#: Most orders / payments per model (each one is a transaction).
MAX_CALLS = 1_000


class RichReporter:
    """The demo's steps as a rich progress bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def begin(self, total: int) -> None:
        self.task = self.progress.add_task("Bourse demo", total=total)

    def step(self, description: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=1, description=description)


def render_report(d: dict[str, Any]) -> RenderableType:
    calls = Table(title="Paid calls: where every micro-USDC went")
    for h in (
        "model",
        "token",
        "orders",
        "payments",
        "paid in",
        "gross",
        "provider",
        "creator (vault)",
        "protocol",
        "refunded",
    ):
        calls.add_column(h, justify="left" if h in ("model", "token") else "right")
    for m in d["models"]:
        calls.add_row(
            m["slug"],
            m["token_kind"],
            str(m["orders"]),
            str(m["payments"]),
            usdc(m["paid_in"]),
            usdc(m["gross"]),
            usdc(m["provider"]),
            usdc(m["creator"]),
            usdc(m["protocol"]),
            usdc(m["refund"]),
        )
    t = d["totals"]
    calls.add_row(
        "total",
        "",
        str(t["orders"]),
        str(t["payments"]),
        usdc(t["paid_in"]),
        usdc(t["gross"]),
        usdc(t["provider"]),
        usdc(t["creator"]),
        usdc(t["protocol"]),
        usdc(t["refund"]),
        style="bold",
    )

    burn = Table(title="Crank cycle: buyback and burn (token amounts in each model's own token)")
    for h in (
        "model",
        "USDC spent",
        "tokens bought",
        "tokens burned",
        "supply before",
        "supply after",
        "vault left USDC",
        "fees harvested (tokens)",
    ):
        burn.add_column(h, justify="left" if h == "model" else "right")
    for m in d["models"]:
        dec = m["token_decimals"]
        burn.add_row(
            m["slug"],
            usdc(m["usdc_spent"]),
            tokens(m["tokens_bought_base_units"], dec),
            tokens(m["tokens_burned_base_units"], dec),
            tokens(m["supply_before_base_units"], dec),
            tokens(m["supply_after_base_units"], dec),
            usdc(m["revenue_vault_after"]),
            tokens(m["transfer_fees_harvested_base_units"], dec),
        )

    p = d["parties"]
    who = Table(title="Who got what (USDC, read back from the chain)")
    who.add_column("party")
    who.add_column("amount", justify="right")
    who.add_row("payer paid (orders, after refunds)", usdc(p["payer"]["paid"]))
    who.add_row("gateway paid (collected payments)", usdc(p["gateway"]["paid"]))
    who.add_row("provider received", usdc(p["provider"]["received"]))
    who.add_row("revenue vaults received (creator fees)", usdc(p["revenue_vaults"]["received"]))
    who.add_row("  spent on buyback", usdc(p["revenue_vaults"]["spent_on_buyback"]))
    who.add_row("treasury received (protocol fees)", usdc(p["treasury"]["received"]))
    who.add_row("escrow left", usdc(p["escrow"]["left"]))

    checks = Table(title="Checks")
    checks.add_column("check")
    checks.add_column("ok")
    for name, ok in d["checks"].items():
        checks.add_row(name.replace("_", " "), Text("yes", "green") if ok else Text("NO", "red"))
    verdict = Text(
        f"All checks passed in {d['elapsed_seconds']:.1f} s." if d["ok"] else "Some checks failed.",
        style="bold green" if d["ok"] else "bold red",
    )
    return Group(calls, burn, who, checks, verdict)


def demo(
    ctx: typer.Context,
    orders: Annotated[int, typer.Option(help="Orders per model (the last one is released)")] = 6,
    payments: Annotated[int, typer.Option(help="Collected payments per model")] = 8,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display")] = False,
) -> None:
    """List two models (SPL and Token-2022), register a provider, run paid calls and one
    crank cycle on an embedded localnet, and print the value flow. No setup needed."""
    state = state_of(ctx)
    with guard():
        in_range("--orders", orders, 2, MAX_CALLS)
        in_range("--payments", payments, 1, MAX_CALLS)
    # The embedded localnet's HTTP server logs the requests a Ctrl-C cuts off (with a
    # traceback); every client of that server is this command, which reports the interrupt.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr_console(),
        transient=False,
        disable=quiet,
    )
    with guard(), progress:
        report: DemoReport = asyncio.run(
            run_demo(reporter=RichReporter(progress), orders=orders, payments=payments)
        )
    data = report.to_json()
    state.out.emit(data, render_report)
    if not report.ok:
        raise typer.Exit(1)
