"""``bourse model``: creators create a model token, register a model, tokenize it, and
check its status."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import RenderableType

from bourse_chain.keys import load_keypair
from bourse_cli.context import state_of
from bourse_cli.errors import guard
from bourse_cli.options import bps, in_range
from bourse_cli.output import key_values, tokens, usdc
from bourse_ops import clawpump, list_model, track_b
from bourse_ops.common import Session, parse_amount, pubkey
from bourse_ops.market_view import model_status

#: Most decimals of a model token: one whole token must fit in a u64 supply.
MAX_DECIMALS = 18

app: typer.Typer = typer.Typer(help="Creators: model tokens and listings.", no_args_is_help=True)


def render_model(d: dict[str, Any]) -> RenderableType:
    dec = d["token_decimals"]
    return key_values(
        f"model {d['slug']}",
        [
            ("address", d["address"]),
            ("status", d["status"]),
            ("creator", d["creator"]),
            ("creator fee", f"{d['fee_bps'] / 100:g}% ({d['fee_bps']} bps)"),
            ("metadata", d["metadata_uri"] or "-"),
            ("token", d["token_kind"]),
            ("mint", d["mint"]),
            ("supply", tokens(d["supply_base_units"], dec)),
            ("revenue vault", f"{usdc(d['vault_balance'])} USDC  ({d['revenue_vault']})"),
            ("volume", f"{usdc(d['volume'])} USDC in {d['settlements']:,} settlements"),
            ("creator fees", f"{usdc(d['creator_fees'])} USDC"),
            ("protocol fees", f"{usdc(d['protocol_fees'])} USDC"),
            ("provider payouts", f"{usdc(d['provider_payouts'])} USDC"),
            ("USDC spent on buyback", f"{usdc(d['usdc_spent'])} USDC"),
            ("tokens bought", tokens(d["tokens_bought_base_units"], dec)),
            ("tokens burned", tokens(d["tokens_burned_base_units"], dec)),
            ("buyback vault", f"{tokens(d['buyback_vault_balance_base_units'], dec)} tokens"),
        ],
    )


def render_token(d: dict[str, Any]) -> RenderableType:
    dec = d["decimals"]
    fee = "-"
    if d["transfer_fee_bps"] is not None:
        fee = f"{d['transfer_fee_bps']} bps"
        if d["transfer_fee_maximum_base_units"] is not None:
            fee += f", at most {tokens(d['transfer_fee_maximum_base_units'], dec)} tokens"
    return key_values(
        "model token created",
        [
            ("mint", d["mint"]),
            ("token", f"{d['token_kind']} ({d['token_program']})"),
            ("supply", f"{tokens(d['supply_base_units'], dec)} tokens ({dec} decimals)"),
            ("your token account", d["creator_token_account"]),
            ("transfer fee", fee),
            ("withdraw-withheld authority", d["withdraw_withheld_authority"] or "-"),
            ("signature", d["signature"]),
        ],
    )


@app.command("create-token")
def create_token(
    ctx: typer.Context,
    supply: Annotated[str, typer.Option(help="Whole tokens minted to you (fixed supply)")] = (
        "1000000000"
    ),
    decimals: Annotated[int, typer.Option(help="Token decimals")] = 6,
    token_2022: Annotated[
        bool, typer.Option("--token-2022", help="A Token-2022 mint instead of classic SPL")
    ] = False,
    transfer_fee_bps: Annotated[
        int | None,
        typer.Option(
            help="Token-2022 transfer fee in bps (at most 1000), withheld on every transfer; "
            "fixed for good (no fee authority)"
        ),
    ] = None,
    max_fee: Annotated[
        str | None, typer.Option(help="Largest transfer fee per transfer, in whole tokens")
    ] = None,
    mint_keypair: Annotated[
        Path | None, typer.Option(help="Keypair file for the mint address (default: new)")
    ] = None,
) -> None:
    """Create a fixed-supply model token (mint authority revoked, no freeze authority)."""
    state = state_of(ctx)
    with guard():
        in_range("--decimals", decimals, 0, MAX_DECIMALS)
        bps("--transfer-fee-bps", transfer_fee_bps)
    creator = state.signer()
    with guard():
        raw_supply = parse_amount(supply, decimals, "supply")
        raw_max = parse_amount(max_fee, decimals, "max fee") if max_fee is not None else None
        mint = load_keypair(mint_keypair) if mint_keypair is not None else None

    async def work(s: Session) -> dict[str, Any]:
        made = await list_model.create_model_token(
            s,
            creator,
            supply=raw_supply,
            decimals=decimals,
            token_2022=token_2022,
            transfer_fee_bps=transfer_fee_bps,
            maximum_fee=raw_max,
            mint=mint,
        )
        return made.to_json()

    state.out.emit(state.run(work), render_token)


@app.command()
def register(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Model slug, e.g. deepseek-chat")],
    fee_bps: Annotated[int, typer.Option(help="Creator fee in bps of every settled call")],
    uri: Annotated[str, typer.Option(help="Metadata URI (at most 128 bytes)")] = "",
) -> None:
    """Register a model (pending until the admin approves it)."""
    state = state_of(ctx)
    with guard():
        bps("--fee-bps", fee_bps)
    creator = state.signer()

    async def work(s: Session) -> dict[str, Any]:
        return (await list_model.register_model(s, creator, slug, fee_bps, uri)).to_json()

    state.out.emit(state.run(work), render_model)


@app.command()
def tokenize(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Model slug")],
    mint: Annotated[str, typer.Option(help="The model token's mint (see create-token)")],
) -> None:
    """Attach the model's token (the mint the admin approved); creates its buyback vault."""
    state = state_of(ctx)
    creator = state.signer()
    with guard():
        mint_key = pubkey(mint, "mint")

    async def work(s: Session) -> dict[str, Any]:
        return (await list_model.tokenize_model(s, creator, slug, mint_key)).to_json()

    state.out.emit(state.run(work), render_model)


@app.command()
def status(ctx: typer.Context, slug: Annotated[str, typer.Argument(help="Model slug")]) -> None:
    """A model's status, token, vaults, volume, fees, buyback and burn."""
    state = state_of(ctx)

    async def work(s: Session) -> dict[str, Any]:
        return (await model_status(s, slug)).to_json()

    state.out.emit(state.run(work), render_model)


@app.command("check-coin")
def check_coin(
    ctx: typer.Context,
    mint: Annotated[str, typer.Argument(help="A pump.fun / ClawPump coin's mint")],
) -> None:
    """Track B: verify a pump.fun coin for listing and show where buybacks would trade."""
    state = state_of(ctx)
    with guard():
        mint_key = pubkey(mint, "mint")

    async def work(s: Session) -> dict[str, Any]:
        return (await track_b.check_coin(s, mint_key)).to_json()

    def render(d: dict[str, Any]) -> RenderableType:
        m = d["market"]
        return key_values(
            "coin",
            [
                ("mint", d["mint"]),
                ("token", f"{d['kind']} ({d['token_program']})"),
                ("extensions", ", ".join(str(e) for e in d["extensions"]) or "-"),
                ("supply", tokens(d["supply"], d["decimals"])),
                ("bonding curve", m["curve"] or "-"),
                ("quote mint", m["quote_mint"] or "-"),
                ("complete", str(m["complete"])),
                ("buyback venue", f"{m['venue']} ({m['reason']})"),
            ],
        )

    state.out.emit(state.run(work), render)


@app.command()
def attach(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Model slug (approved with this mint)")],
    mint: Annotated[str, typer.Option(help="The pump.fun coin's mint")],
) -> None:
    """Track B: verify a pump.fun coin and tokenize the model with it (the admin must have
    approved the model with this mint)."""
    state = state_of(ctx)
    creator = state.signer()
    with guard():
        mint_key = pubkey(mint, "mint")

    async def work(s: Session) -> dict[str, Any]:
        return (await track_b.attach(s, creator, slug, mint_key)).to_json()

    state.out.emit(state.run(work), render_model)


@app.command("clawpump-launch")
def clawpump_launch(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Coin name")],
    symbol: Annotated[str, typer.Option(help="Coin symbol")],
    description: Annotated[str, typer.Option(help="Coin description")],
    image_url: Annotated[str, typer.Option(help="Image URL (ClawPump's /api/upload)")],
    agent_id: Annotated[str, typer.Option(help="Your ClawPump agent id")],
    agent_name: Annotated[str, typer.Option(help="Your agent's display name")],
    api_key: Annotated[
        str, typer.Option(envvar="BOURSE_CLAWPUMP_API_KEY", help="ClawPump agent API key")
    ],
    url: Annotated[str, typer.Option(help="ClawPump base URL")] = clawpump.DEFAULT_BASE_URL,
) -> None:
    """Launch a pump.fun coin through ClawPump (SOL-paired: listable, not yet bought back)."""
    state = state_of(ctx)
    creator = state.signer()
    req = clawpump.LaunchRequest(
        name, symbol, description, image_url, agent_id, agent_name, creator.pubkey()
    )

    async def work() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=60) as http:
            launch = await clawpump.ClawPumpClient(http, api_key, url).launch(req)
        return {"mint": str(launch.mint), "tx": launch.tx_hash, "pump_url": launch.pump_url}

    with guard(url):
        out = asyncio.run(work())
    state.out.emit(out, lambda d: key_values("ClawPump launch", list(d.items())))
