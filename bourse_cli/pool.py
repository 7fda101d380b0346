"""``bourse pool``: the localnet swap venue (``cp_pool``) the buyback buys from."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bourse_cli.context import state_of
from bourse_cli.errors import guard
from bourse_cli.output import key_values
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
    fee_bps: Annotated[int, typer.Option(help="Pool fee (on creation)")] = 30,
) -> None:
    """Create the model-token/USDC pool if missing and deposit liquidity (locked for good)."""
    state = state_of(ctx)
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

    state.out.emit(state.run(work), lambda d: key_values(f"pool {slug}", list(d.items())))
