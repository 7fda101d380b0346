"""``bourse demo``: the whole value flow on an embedded localnet, with a progress display
(stderr) and the value flow at the end (stdout: tables, or JSON with ``-o json``)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
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
from gateway import demo_leg

#: Most orders / gateway calls per model.
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
        "gateway calls",
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
            str(m["gateway_calls"]),
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
        str(t["gateway_calls"]),
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
    who.add_row("gateway paid (its calls, from its settlement wallet)", usdc(p["gateway"]["paid"]))
    who.add_row("provider received", usdc(p["provider"]["received"]))
    who.add_row("revenue vaults received (creator fees)", usdc(p["revenue_vaults"]["received"]))
    who.add_row("  spent on buyback", usdc(p["revenue_vaults"]["spent_on_buyback"]))
    who.add_row("treasury received (protocol fees)", usdc(p["treasury"]["received"]))
    who.add_row("escrow left", usdc(p["escrow"]["left"]))

    gateway = render_gateway(d["gateway"])
    timings = Table(title="Seconds per phase")
    timings.add_column("phase")
    timings.add_column("seconds", justify="right")
    for name, seconds in d["timings"].items():
        timings.add_row(name.replace("_", " "), f"{seconds:.2f}")

    checks = Table(title="Checks")
    checks.add_column("check")
    checks.add_column("ok")
    for name, ok in d["checks"].items():
        checks.add_row(name.replace("_", " "), Text("yes", "green") if ok else Text("NO", "red"))
    verdict = Text(
        f"All checks passed in {d['elapsed_seconds']:.1f} s." if d["ok"] else "Some checks failed.",
        style="bold green" if d["ok"] else "bold red",
    )
    return Group(calls, gateway, burn, who, timings, checks, verdict)


def render_gateway(g: dict[str, Any]) -> RenderableType:
    table = Table(
        title="Gateway (rail 1): calls with the openai client, settled on-chain by its worker"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("calls served / asked", f"{g['served']} / {g['calls']}"),
        ("charged (ledger, USDC)", usdc(sum(g["ledger_charged"].values()))),
        ("settled on-chain (batch totals, USDC)", usdc(sum(g["onchain_settled"].values()))),
        ("charged (X-Bourse-Charge headers, USDC)", usdc(g["charged_headers"])),
        (
            "credits left of granted (USDC)",
            f"{usdc(g['credits_left'])} / {usdc(g['credits_granted'])}",
        ),
        (
            "batches (model #sequence: calls)",
            ", ".join(f"{b['model']} #{b['sequence']}: {b['count']}" for b in g["batches"]),
        ),
        ("proofs verified on-chain", f"{g['proofs_verified']} / {g['settled']}"),
        ("paid calls per second", f"{g['calls_per_second']:.1f}"),
        ("x402 call (rail 2)", _x402_row(g["x402"])),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _x402_row(x: dict[str, Any]) -> str:
    if x["status"] == "skipped":
        return f"skipped: {x['reason']}"
    return (
        f"{x['status']} on {x['model']}: paid {usdc(x['amount'])},"
        f" inbox received {usdc(x['inbox_delta'])}"
    )


def demo(
    ctx: typer.Context,
    orders: Annotated[int, typer.Option(help="Orders per model (the last one is released)")] = 6,
    calls: Annotated[
        int, typer.Option(help="Paid calls per model through the gateway (openai client)")
    ] = 8,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display")] = False,
    x402_facilitator: Annotated[
        Path | None,
        typer.Option(
            envvar="BOURSE_X402_FACILITATOR_DIR",
            help="Folder of the Node x402 facilitator for the demo's x402 call (default: the"
            " checkout's x402_facilitator/; the call is skipped when it cannot run)",
        ),
    ] = None,
) -> None:
    """List two models (SPL and Token-2022), register a provider, run paid calls (on-chain
    orders, and calls through the inference gateway with the openai client, settled on-chain
    by its worker) and one crank cycle on an embedded localnet, and print the value flow. No
    setup needed."""
    state = state_of(ctx)
    with guard():
        in_range("--orders", orders, 2, MAX_CALLS)
        in_range("--calls", calls, 1, MAX_CALLS)
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
            run_demo(
                reporter=RichReporter(progress),
                orders=orders,
                calls=calls,
                gateway_leg=demo_leg.run,
                x402_facilitator=x402_facilitator,
            )
        )
    data = report.to_json()
    x402 = report.gateway.x402
    if x402.status == "skipped":
        stderr_console().print(
            f"x402 call skipped: {x402.reason}", markup=False, highlight=False, soft_wrap=True
        )
    state.out.emit(data, render_report)
    if not report.ok:
        raise typer.Exit(1)
