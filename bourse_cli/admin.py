"""``bourse admin``: initialize the market, approve or delist models, update fees and the
other config fields, show the config."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import RenderableType
from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_chain.market import DEFAULT_BUYBACK_COOLDOWN_SECS, DEFAULT_MAX_BUYBACK_PER_CALL
from bourse_cli.context import CliState, state_of
from bourse_cli.errors import guard
from bourse_cli.model import render_model
from bourse_cli.options import I64_MAX, bps, in_range
from bourse_cli.output import key_values, usdc
from bourse_ops import admin as admin_script
from bourse_ops.common import Deployment, Session, parse_amount, pubkey

app: typer.Typer = typer.Typer(help="Admin: config, approvals, fees.", no_args_is_help=True)


def render_config(d: dict[str, Any]) -> RenderableType:
    return key_values(
        "compute market config",
        [
            ("address", d["address"]),
            ("admin", d["admin"]),
            ("pending admin", d["pending_admin"]),
            ("settler", d["settler"]),
            ("crank", d["crank"]),
            ("treasury authority", d["treasury_authority"]),
            ("treasury USDC account", d["treasury"]),
            ("USDC mint", d["usdc_mint"]),
            (
                "protocol fee",
                f"{d['protocol_fee_bps']} bps (cap {d['max_protocol_fee_bps']} bps)",
            ),
            ("creator fee cap", f"{d['max_model_fee_bps']} bps"),
            ("swap programs", ", ".join(d["swap_programs"]) or "-"),
            (
                "buyback cap per call",
                f"{usdc(d['max_buyback_per_call'])} USDC"
                if d["max_buyback_per_call"]
                else "no cap",
            ),
            ("buyback cooldown", f"{d['buyback_cooldown_secs']} s"),
            ("paused", d["paused"]),
        ],
    )


def _pk(value: str | None, what: str) -> Any:
    return pubkey(value, what) if value is not None else None


@app.command()
def init(
    ctx: typer.Context,
    settler: Annotated[
        str | None, typer.Option(help="Settler key (default: localnet's settler, else you)")
    ] = None,
    crank: Annotated[
        str | None, typer.Option(help="Crank key (default: localnet's crank, else you)")
    ] = None,
    treasury: Annotated[str | None, typer.Option(help="Treasury authority (default: you)")] = None,
    protocol_fee_bps: Annotated[int, typer.Option(help="Protocol fee")] = 100,
    max_protocol_fee_bps: Annotated[int, typer.Option(help="Protocol fee cap (fixed)")] = 500,
    max_model_fee_bps: Annotated[int, typer.Option(help="Creator fee cap (fixed)")] = 3_000,
    max_buyback: Annotated[
        str, typer.Option(help="USDC cap per buyback call; 0 = none (not recommended)")
    ] = str(DEFAULT_MAX_BUYBACK_PER_CALL // 1_000_000),
    cooldown: Annotated[
        int, typer.Option(help="Seconds between buybacks of a model; 0 = none")
    ] = DEFAULT_BUYBACK_COOLDOWN_SECS,
    swap_program: Annotated[
        list[str] | None,
        typer.Option(help="Allow-listed swap program (repeat; default on localnet: cp_pool)"),
    ] = None,
    usdc_mint: Annotated[
        str | None, typer.Option(help="USDC mint (default: the localnet manifest's)")
    ] = None,
) -> None:
    """Create the config and the shared escrow (the program's upgrade authority only)."""
    state = state_of(ctx)
    with guard():
        bps("--protocol-fee-bps", protocol_fee_bps)
        bps("--max-protocol-fee-bps", max_protocol_fee_bps)
        bps("--max-model-fee-bps", max_model_fee_bps)
        in_range("--cooldown", cooldown, 0, I64_MAX)
    admin = state.signer()
    with guard():
        me = admin.pubkey()
        settler_key = _pk(settler, "settler") or state.role("settler") or me
        crank_key = _pk(crank, "crank") or state.role("crank") or me
        treasury_key = _pk(treasury, "treasury") or me
        cap = parse_amount(max_buyback, 6, "max buyback")
        swaps = [pubkey(p, "swap program") for p in swap_program or []]
        if not swap_program and state.manifest is not None:
            swaps = [state.manifest.program_ids.get("cp_pool", CP_POOL_ID)]
        mint = _pk(usdc_mint, "USDC mint")

    async def work(s: Session) -> dict[str, Any]:
        if mint is not None:
            d = s.deployment
            s.deployment = Deployment(
                d.program_id, d.config, mint, d.usdc_token_program, d.manifest
            )
        view = await admin_script.init_config(
            s,
            admin,
            settler=settler_key,
            crank=crank_key,
            treasury_authority=treasury_key,
            protocol_fee_bps=protocol_fee_bps,
            max_protocol_fee_bps=max_protocol_fee_bps,
            max_model_fee_bps=max_model_fee_bps,
            max_buyback_per_call=cap,
            buyback_cooldown_secs=cooldown,
            swap_programs=swaps,
        )
        return view.to_json()

    state.out.emit(state.run(work), render_config)


def _set_status(
    state: CliState, slug: str, status: ModelStatus, mint: Pubkey | None = None
) -> None:
    admin = state.signer()

    async def work(s: Session) -> dict[str, Any]:
        return (await admin_script.set_model_status(s, admin, slug, status, mint)).to_json()

    state.out.emit(state.run(work), render_model)


@app.command()
def approve(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Model slug")],
    mint: Annotated[
        str | None,
        typer.Option(help="The only mint the creator may tokenize the model with"),
    ] = None,
) -> None:
    """Approve a model: it can take orders, and with --mint be tokenized with that mint."""
    with guard():
        mint_key = pubkey(mint, "mint") if mint is not None else None
    _set_status(state_of(ctx), slug, ModelStatus.APPROVED, mint_key)


@app.command()
def delist(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Model slug")],
    sweep_stuck_revenue: Annotated[
        bool,
        typer.Option(
            "--sweep-stuck-revenue",
            help="Also move the revenue vault to the treasury (only when the model's token "
            "fee can rise or is above the cap, so buyback is frozen)",
        ),
    ] = False,
) -> None:
    """Delist a model."""
    state = state_of(ctx)
    if not sweep_stuck_revenue:
        _set_status(state, slug, ModelStatus.DELISTED)
        return
    admin = state.signer()

    async def work(s: Session) -> dict[str, Any]:
        return (await admin_script.delist_and_sweep(s, admin, slug)).to_json()

    state.out.emit(state.run(work), render_model)


@app.command("update-fees")
def update_fees(
    ctx: typer.Context,
    protocol_fee_bps: Annotated[int, typer.Option(help="New protocol fee (within its cap)")],
) -> None:
    """Change the protocol fee."""
    with guard():
        bps("--protocol-fee-bps", protocol_fee_bps)
    _update(state_of(ctx), {"protocol_fee_bps": protocol_fee_bps})


@app.command()
def update(
    ctx: typer.Context,
    protocol_fee_bps: Annotated[int | None, typer.Option(help="Protocol fee")] = None,
    settler: Annotated[str | None, typer.Option(help="Settler key")] = None,
    crank: Annotated[str | None, typer.Option(help="Crank key")] = None,
    treasury: Annotated[str | None, typer.Option(help="Treasury authority")] = None,
    swap_program: Annotated[
        list[str] | None, typer.Option(help="Swap allow-list (repeat; replaces the list)")
    ] = None,
    max_buyback: Annotated[str | None, typer.Option(help="USDC cap per buyback")] = None,
    cooldown: Annotated[int | None, typer.Option(help="Buyback cooldown, seconds")] = None,
    pause: Annotated[bool | None, typer.Option("--pause/--unpause", help="Pause")] = None,
    propose_admin: Annotated[str | None, typer.Option(help="Propose a new admin")] = None,
) -> None:
    """Change config fields (the others stay as they are)."""
    with guard():
        bps("--protocol-fee-bps", protocol_fee_bps)
        in_range("--cooldown", cooldown, 0, I64_MAX)
        changes: dict[str, Any] = {
            "protocol_fee_bps": protocol_fee_bps,
            "settler": _pk(settler, "settler"),
            "crank": _pk(crank, "crank"),
            "treasury_authority": _pk(treasury, "treasury"),
            "swap_programs": [pubkey(p, "swap program") for p in swap_program]
            if swap_program
            else None,
            "max_buyback_per_call": parse_amount(max_buyback, 6, "max buyback")
            if max_buyback is not None
            else None,
            "buyback_cooldown_secs": cooldown,
            "paused": pause,
            "pending_admin": _pk(propose_admin, "admin"),
        }
    _update(state_of(ctx), changes)


def _update(state: CliState, changes: dict[str, Any]) -> None:
    admin = state.signer()

    async def work(s: Session) -> dict[str, Any]:
        return (await admin_script.update_config(s, admin, **changes)).to_json()

    state.out.emit(state.run(work), render_config)


@app.command()
def config(ctx: typer.Context) -> None:
    """Show the config: keys, fees and caps, swap allow-list, buyback limits."""
    state = state_of(ctx)

    async def work(s: Session) -> dict[str, Any]:
        return admin_script.config_view(s).to_json()

    state.out.emit(state.run(work), render_config)
