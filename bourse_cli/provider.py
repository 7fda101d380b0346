"""``bourse provider``: inference providers register and publish their prices."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.table import Table

from bourse_cli.context import state_of
from bourse_cli.errors import guard
from bourse_cli.output import key_values, usdc
from bourse_ops import provider as provider_script
from bourse_ops.common import Session, parse_amount, pubkey

app: typer.Typer = typer.Typer(help="Providers: registration and offers.", no_args_is_help=True)


def render_offer(d: dict[str, Any]) -> RenderableType:
    return key_values(
        f"offer for {d['slug']}",
        [
            ("offer", d["offer"]),
            ("model", d["model"]),
            ("input price", f"{usdc(d['price_input_per_mtok'])} USDC per 1M tokens"),
            ("output price", f"{usdc(d['price_output_per_mtok'])} USDC per 1M tokens"),
            ("active", d["active"]),
        ],
    )


def render_provider(d: dict[str, Any]) -> RenderableType:
    head = key_values(
        f"provider {d['name']}",
        [
            ("address", d["address"]),
            ("authority", d["authority"]),
            ("payout account", d["payout"]),
            ("payout balance", f"{usdc(d['payout_balance'])} USDC"),
            ("total earned", f"{usdc(d['total_earned'])} USDC"),
            ("active", d["active"]),
        ],
    )
    offers = Table(title="offers")
    for col in ("model", "input / 1M tok (USDC)", "output / 1M tok (USDC)", "active"):
        offers.add_column(col)
    for o in d["offers"]:
        offers.add_row(
            o["slug"],
            usdc(o["price_input_per_mtok"]),
            usdc(o["price_output_per_mtok"]),
            "yes" if o["active"] else "no",
        )
    return Group(head, offers)


@app.command()
def register(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Provider name (at most 32 bytes)")],
    payout: Annotated[
        str | None,
        typer.Option(help="USDC account for payouts (default: your USDC account, created)"),
    ] = None,
) -> None:
    """Register the keypair as an inference provider."""
    state = state_of(ctx)
    authority = state.signer()
    with guard():
        payout_key = pubkey(payout, "payout account") if payout is not None else None

    async def work(s: Session) -> dict[str, Any]:
        return (await provider_script.register_provider(s, authority, name, payout_key)).to_json()

    state.out.emit(state.run(work), render_provider)


@app.command()
def offer(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Model slug")],
    input_price: Annotated[str, typer.Option(help="USDC per 1M input tokens, e.g. 0.27")],
    output_price: Annotated[str, typer.Option(help="USDC per 1M output tokens, e.g. 1.10")],
    active: Annotated[bool, typer.Option("--active/--inactive", help="Offer state")] = True,
) -> None:
    """Create or update your price for a model."""
    state = state_of(ctx)
    authority = state.signer()
    with guard():
        price_in = parse_amount(input_price, 6, "input price")
        price_out = parse_amount(output_price, 6, "output price")

    async def work(s: Session) -> dict[str, Any]:
        view = await provider_script.upsert_offer(
            s, authority, slug, price_in, price_out, active=active
        )
        return view.to_json()

    state.out.emit(state.run(work), render_offer)


@app.command()
def status(
    ctx: typer.Context,
    authority: Annotated[
        str | None, typer.Argument(help="Provider authority (default: your keypair)")
    ] = None,
) -> None:
    """A provider, its payout balance and its offers."""
    state = state_of(ctx)
    with guard(state.url):
        key = pubkey(authority, "authority") if authority is not None else state.keypair().pubkey()

    async def work(s: Session) -> dict[str, Any]:
        return (await provider_script.provider_status(s, key)).to_json()

    state.out.emit(state.run(work), render_provider)
