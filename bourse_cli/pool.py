"""``bourse pool``: the localnet swap venue (``cp_pool``) the buyback buys from."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import RenderableType

from bourse_cli.context import state_of
from bourse_cli.errors import guard
from bourse_cli.options import bps
from bourse_cli.output import key_values, tokens, usdc
from bourse_ops import pool as pool_script
from bourse_ops.common import Session, parse_amount
from bourse_ops.market_view import fetch_model

app: typer.Typer = typer.Typer(help="Localnet swap pools for buyback.", no_args_is_help=True)


@app.command()
def add(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Model slug (tokenized)")],
    tokens: Annotated[str, typer.Option(help="Whole model tokens to deposit")],
    usdc: Annotated[str, typer.Option(help="USDC to deposit")],
    fee_bps: Annotated[
        int | None,
        typer.Option(help="Fee of a new pool (default 30); an existing pool keeps its own"),
    ] = None,
) -> None:
    """Create the model-token/USDC pool if missing and deposit liquidity (locked for good)."""
    state = state_of(ctx)
    with guard():
        bps("--fee-bps", fee_bps)
    owner = state.signer()
    with guard():
        micro = parse_amount(usdc, 6, "usdc")

    async def work(s: Session) -> dict[str, Any]:
        _, model = await fetch_model(s, slug)
        decimals = (await s.mint_info(model.mint))[2] if model.token_kind else 0
        raw_tokens = parse_amount(tokens, decimals, "tokens")
        view = await pool_script.add_pool(
            s, owner, slug, tokens=raw_tokens, usdc=micro, fee_bps=fee_bps
        )
        return view.to_json()

    state.out.emit(state.run(work), lambda d: render_pool(slug, d))


def render_pool(slug: str, d: dict[str, Any]) -> RenderableType:
    return key_values(
        f"pool {slug}",
        [
            ("pool", d["pool"]),
            (
                "token reserve",
                f"{tokens(d['token_reserve_base_units'], d['token_decimals'])} tokens",
            ),
            ("USDC reserve", f"{usdc(d['usdc_reserve'])} USDC"),
            ("fee", f"{d['fee_bps']} bps"),
            ("mint", d["mint"]),
            ("token vault", d["token_vault"]),
            ("USDC vault", d["usdc_vault"]),
        ],
    )
