"""``bourse crank``: one crank cycle by hand (the crank key): buyback and burn, harvest of
Token-2022 transfer fees, through the operators' jobs (``cranks.buyback``, ``cranks.harvest``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import RenderableType

from bourse_cli.context import state_of
from bourse_cli.errors import guard
from bourse_cli.options import bps
from bourse_cli.output import key_values, tokens, usdc
from bourse_ops import crank as crank_script
from bourse_ops.common import Session, parse_amount


def _state_dir() -> Any:
    return typer.Option(
        help="Crank journal and fee ledger (default: the bourse-crank daemon's, "
        "~/.local/state/bourse-crank)"
    )


app: typer.Typer = typer.Typer(help="Crank: buyback-and-burn, fee harvest.", no_args_is_help=True)


def render_buyback(d: dict[str, Any]) -> RenderableType:
    dec = d["token_decimals"]
    return key_values(
        f"buyback {d['slug']}: {d['outcome']}",
        [
            ("USDC spent", f"{usdc(d['usdc_spent'])} USDC"),
            ("tokens bought", tokens(d["tokens_bought_base_units"], dec)),
            ("tokens burned", tokens(d["tokens_burned_base_units"], dec)),
            ("supply before", tokens(d["supply_before_base_units"], dec)),
            ("supply after", tokens(d["supply_after_base_units"], dec)),
            ("detail", d["detail"] or "-"),
            ("signatures", ", ".join(d["signatures"]) or "-"),
        ],
    )


def render_harvest(d: dict[str, Any]) -> RenderableType:
    return key_values(
        f"harvest {d['slug']}: {d['outcome']}",
        [
            ("harvested", f"{tokens(d['harvested_base_units'], d['token_decimals'])} tokens"),
            ("source accounts", d["sources"]),
            ("treasury token account", d["destination"]),
            ("detail", d["detail"] or "-"),
            ("signatures", ", ".join(d["signatures"]) or "-"),
        ],
    )


@app.command()
def buyback(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Model slug")],
    amount: Annotated[
        str | None, typer.Option(help="USDC to spend (default: the whole revenue vault)")
    ] = None,
    slippage_bps: Annotated[int, typer.Option(help="Slippage tolerance")] = 100,
    state_dir: Annotated[Path | None, _state_dir()] = None,
) -> None:
    """Buy the model's token back with its revenue vault's USDC and burn it."""
    state = state_of(ctx)
    with guard():
        bps("--slippage-bps", slippage_bps)
        micro = parse_amount(amount, 6, "amount") if amount is not None else None
    crank = state.signer()

    async def work(s: Session) -> dict[str, Any]:
        report = await crank_script.buyback_and_burn(
            s, crank, slug, amount_in=micro, slippage_bps=slippage_bps, state_dir=state_dir
        )
        return report.to_json()

    state.out.emit(state.run(work), render_buyback)


@app.command()
def harvest(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Model slug (a Token-2022 listing)")],
    state_dir: Annotated[Path | None, _state_dir()] = None,
) -> None:
    """Collect withheld transfer fees into the treasury's token account."""
    state = state_of(ctx)
    crank = state.signer()

    async def work(s: Session) -> dict[str, Any]:
        return (await crank_script.harvest_fees(s, crank, slug, state_dir=state_dir)).to_json()

    state.out.emit(state.run(work), render_harvest)
