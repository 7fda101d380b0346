"""``bourse order``: paid calls. A payer opens an order (the pre-flight hold); the settler
settles actual usage or releases it, and settles payments collected off-chain."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.table import Table

from bourse_cli.context import state_of
from bourse_cli.errors import guard
from bourse_cli.options import I64_MAX, U64_MAX, in_range
from bourse_cli.output import key_values, usdc
from bourse_ops import orders
from bourse_ops.common import Session, parse_amount, pubkey

app: typer.Typer = typer.Typer(
    help="Paid calls: orders and collected payments.", no_args_is_help=True
)


SPLIT_FIELDS = ("gross", "provider", "creator", "protocol", "refund")


def render_split(d: dict[str, Any]) -> RenderableType:
    rows = [(k, f"{usdc(d[k])} USDC") for k in SPLIT_FIELDS if k in d]
    if d.get("already_settled"):
        return key_values("already settled (nothing moved); the recorded split:", rows)
    return key_values("settlement", rows)


def _utc(ts: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def render_order(d: dict[str, Any]) -> RenderableType:
    return key_values(
        "order",
        [
            ("order", d["order"]),
            ("payer", d["payer"]),
            ("payer USDC account", d["payer_token"]),
            ("model", d["model"]),
            ("provider", d["provider"]),
            ("nonce", str(d["nonce"])),
            ("hold", f"{usdc(d['hold'])} USDC"),
            ("input price", f"{usdc(d['price_input_per_mtok'])} USDC per 1M tokens"),
            ("output price", f"{usdc(d['price_output_per_mtok'])} USDC per 1M tokens"),
            ("opened", _utc(d["opened_at"])),
            ("expires", _utc(d["expires_at"])),
        ],
    )


def render_orders(rows: list[dict[str, Any]]) -> RenderableType:
    table = Table(title="open orders")
    for h in ("order", "payer", "hold USDC", "expires (UTC)"):
        table.add_column(h, justify="right" if h == "hold USDC" else "left")
    for r in rows:
        expires = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["expires_at"]))
        table.add_row(r["order"], r["payer"], usdc(r["hold"]), expires)
    if not rows:
        table.caption = "no open orders"
    return table


@app.command("open")
def open_(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Model slug")],
    provider: Annotated[str, typer.Option(help="Provider authority whose offer to use")],
    max_input: Annotated[int, typer.Option(help="Most input tokens the call may use")],
    max_output: Annotated[int, typer.Option(help="Most output tokens the call may use")],
    ttl: Annotated[int, typer.Option(help="Seconds until the payer may cancel")] = 600,
    key: Annotated[str | None, typer.Option(help="Idempotency key (default: a new one)")] = None,
) -> None:
    """Escrow the upper-bound charge of a call from your USDC account."""
    state = state_of(ctx)
    with guard():
        in_range("--max-input", max_input, 0, U64_MAX)
        in_range("--max-output", max_output, 0, U64_MAX)
        in_range("--ttl", ttl, 1, I64_MAX)
    payer = state.signer()
    with guard():
        provider_key = pubkey(provider, "provider")

    async def work(s: Session) -> dict[str, Any]:
        view = await orders.open_order(
            s,
            payer,
            slug,
            provider_key,
            max_input_tokens=max_input,
            max_output_tokens=max_output,
            ttl_secs=ttl,
            key=key or uuid.uuid4().hex,
        )
        return view.to_json()

    state.out.emit(state.run(work), render_order)


@app.command()
def settle(
    ctx: typer.Context,
    order: Annotated[str, typer.Argument(help="Order address")],
    input_tokens: Annotated[int, typer.Option(help="Input tokens actually used")],
    output_tokens: Annotated[int, typer.Option(help="Output tokens actually used")],
) -> None:
    """(settler) Charge actual usage; the rest of the hold is refunded."""
    state = state_of(ctx)
    with guard():
        in_range("--input-tokens", input_tokens, 0, U64_MAX)
        in_range("--output-tokens", output_tokens, 0, U64_MAX)
    settler = state.signer()
    with guard():
        address = pubkey(order, "order")

    async def work(s: Session) -> dict[str, Any]:
        return await orders.settle_order(s, settler, address, input_tokens, output_tokens)

    state.out.emit(state.run(work), render_split)


@app.command()
def release(
    ctx: typer.Context, order: Annotated[str, typer.Argument(help="Order address")]
) -> None:
    """(settler) Release a hold in full (upstream failure)."""
    state = state_of(ctx)
    settler = state.signer()
    with guard():
        address = pubkey(order, "order")

    async def work(s: Session) -> dict[str, Any]:
        return await orders.release_order(s, settler, address)

    state.out.emit(state.run(work), render_split)


@app.command("list")
def list_(
    ctx: typer.Context,
    payer: Annotated[str | None, typer.Option(help="Only this payer's orders")] = None,
) -> None:
    """Open orders and their holds."""
    state = state_of(ctx)
    with guard():
        payer_key = pubkey(payer, "payer") if payer is not None else None

    async def work(s: Session) -> list[dict[str, Any]]:
        return [o.to_json() for o in await orders.list_orders(s, payer=payer_key)]

    state.out.emit(state.run(work), render_orders)


@app.command()
def pay(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Model slug")],
    provider: Annotated[str, typer.Option(help="Provider authority that served the call")],
    amount: Annotated[str, typer.Option(help="USDC collected, e.g. 0.25")],
    payment_id: Annotated[str, typer.Option("--id", help="Payment id (settles once)")],
) -> None:
    """(settler) Split a payment collected off-chain (x402, credits) from your USDC account."""
    state = state_of(ctx)
    settler = state.signer()
    with guard():
        provider_key = pubkey(provider, "provider")
        micro = parse_amount(amount, 6, "amount")

    async def work(s: Session) -> dict[str, Any]:
        return await orders.settle_payment(s, settler, slug, provider_key, micro, payment_id)

    state.out.emit(state.run(work), render_split)
