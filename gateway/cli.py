"""``bourse-gateway`` (and ``bourse gateway``): serve the gateway; manage keys and credits;
show and verify a call's settlement receipt.

Key, credit and receipt commands work on the database directly (``--db`` or the config's
``db``), so they run with or without a gateway serving it. Output is JSON (``receipt``: a
table, or JSON with ``-o json``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from gateway.settings import load_settings

if TYPE_CHECKING:  # the database and server stacks load when a command runs (`bourse` starts
    # with this app mounted)
    from gateway.keys import KeyStore
    from gateway.ledger import Ledger

T = TypeVar("T")

app = typer.Typer(
    help="The Bourse inference gateway (rail 1: API keys + USDC credits).", no_args_is_help=True
)
keys_app = typer.Typer(
    help="Create, list, rotate and revoke bs_live_ API keys.", no_args_is_help=True
)
credits_app = typer.Typer(
    help="Grant credits (stands in for the card onramp).", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")
app.add_typer(credits_app, name="credits")


class Output(StrEnum):
    table = "table"
    json = "json"


ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file")]
DbOpt = Annotated[
    str | None, typer.Option("--db", help="sqlite+aiosqlite:///… or postgresql+asyncpg://…")
]


def _echo(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


def _with_store(
    config: Path | None, db: str | None, fn: Callable[[KeyStore, Ledger], Awaitable[T]]
) -> T:
    from gateway.db.engine import create_schema, make_engine
    from gateway.keys import KeyError_, KeyStore
    from gateway.ledger import Ledger, UnknownUser

    settings = load_settings(config, db=db)

    async def run() -> T:
        engine = make_engine(settings.db)
        try:
            await create_schema(engine)
            ledger = Ledger(engine)
            try:
                return await fn(KeyStore(engine, ledger, 0), ledger)
            finally:
                ledger.close()
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (KeyError_, UnknownUser) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from e


@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Option(help="The user (created if new) the key spends for")],
    label: Annotated[str, typer.Option(help="A name for the key")] = "",
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Create a key; its secret is printed once (only its hash is stored)."""
    _echo(_with_store(config, db, lambda ks, _: ks.create(user, label)).to_json())


@keys_app.command("list")
def keys_list(
    user: Annotated[str | None, typer.Option(help="Only this user's keys")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    _echo([k.to_json() for k in _with_store(config, db, lambda ks, _: ks.listing(user))])


@keys_app.command("rotate")
def keys_rotate(key_id: int, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Revoke a key and issue a new one for the same user and label."""
    _echo(_with_store(config, db, lambda ks, _: ks.rotate(key_id)).to_json())


@keys_app.command("revoke")
def keys_revoke(key_id: int, config: ConfigOpt = None, db: DbOpt = None) -> None:
    _echo(_with_store(config, db, lambda ks, _: ks.revoke(key_id)).to_json())


@credits_app.command("grant")
def credits_grant(
    user: Annotated[str, typer.Option(help="The user to credit")],
    amount: Annotated[int, typer.Option(help="micro-USDC", min=1)],
    reference: Annotated[str, typer.Option(help="Idempotency key: granted once")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    async def grant(_: KeyStore, ledger: Ledger) -> dict[str, Any]:
        user_id = await ledger.user_id(user)
        credited = await ledger.credit(user_id, amount, "grant", f"grant:{reference}")
        bal = await ledger.balance(user_id)
        return {"credited": credited, "balance": bal.available, "held": bal.held}

    _echo(_with_store(config, db, grant))


@app.command("receipt")
def receipt(
    call_id: Annotated[str, typer.Argument(help="The call's id (its X-Request-Id)")],
    config: ConfigOpt = None,
    db: DbOpt = None,
    rpc_url: Annotated[str | None, typer.Option(help="Solana RPC URL or cluster")] = None,
    output: Annotated[Output, typer.Option("--output", "-o", help="json or table")] = Output.table,
) -> None:
    """Show a call's settlement receipt (batch, sequence, transaction, proof) and verify the
    proof against the chain as ``bourse receipt verify`` does; exit 1 unless it verifies and
    agrees with the ledger row."""
    from bourse_chain.client import BourseClient
    from bourse_chain.receipts import verify_on_chain
    from gateway.db.engine import make_engine
    from gateway.settlement.receipts import call_receipt

    settings = load_settings(config, db=db, rpc_url=rpc_url)

    async def run() -> dict[str, Any] | None:
        engine = make_engine(settings.db)
        try:
            found = await call_receipt(engine, call_id)
        finally:
            await engine.dispose()
        if found is None:
            return None
        out = found.to_json()
        proof = found.call_proof()
        verification = None
        if proof is not None:
            async with BourseClient.connect(settings.rpc_url) as client:
                verification = (await verify_on_chain(client, proof)).to_json()
        out["verification"] = verification
        out["disagreements"] = found.disagreements()
        out["verified"] = (
            bool(found.settled and verification is not None and verification["verified"])
            and not out["disagreements"]
        )
        return out

    result = asyncio.run(run())
    if result is None:
        typer.echo(f"error: no call {call_id!r}", err=True)
        raise typer.Exit(1)
    if output is Output.json:
        _echo(result)
    else:
        Console(width=None if sys.stdout.isatty() else 200).print(render_receipt(result))
    if not result["verified"]:
        raise typer.Exit(1)


def render_receipt(d: dict[str, Any]) -> RenderableType:
    """Tables of the receipt; the verdict reads like ``bourse receipt verify``'s."""
    c, b, v = d["call"], d["batch"] or {}, d["verification"]

    def table(title: str, rows: list[tuple[str, Any]]) -> Table:
        t = Table(title=title, show_header=False, box=None, pad_edge=False)
        t.add_column("field", style="bold")
        t.add_column("value", overflow="fold")
        for name, value in rows:
            t.add_row(name, "-" if value is None else str(value))
        return t

    split = " / ".join(_usdc(c[k]) for k in ("provider_amount", "creator_fee", "protocol_fee"))
    parts: list[RenderableType] = [
        table(
            "call",
            [
                ("id", c["id"]),
                ("state", c["state"]),
                ("model / provider", f"{c['model']} / {c['provider']}"),
                ("charged", f"{_usdc(c['gross'])} USDC"),
                ("provider / creator / protocol", split),
            ],
        ),
        table(
            "batch",
            [(k, b.get(k)) for k in ("id", "stream", "sequence", "root", "count", "total")]
            + [("transaction", b.get("tx_signature"))],
        ),
    ]
    if v is not None:
        parts.append(
            table(
                "on-chain verification",
                [("verified", "yes" if v["verified"] else "NO"), ("reason", v["reason"])],
            )
        )
    if d["disagreements"]:
        parts.append(Text("disagrees with the ledger: " + "; ".join(d["disagreements"]), "red"))
    if not d["settled"]:
        parts.append(Text(f"not settled yet (state {c['state']})", "yellow"))
    return Group(*parts)


def _usdc(micro: int) -> str:
    from bourse_ops.common import USDC_DECIMALS, format_amount

    return format_amount(micro, USDC_DECIMALS)


@app.command("serve")
def serve(
    config: ConfigOpt = None,
    db: DbOpt = None,
    rpc_url: Annotated[str | None, typer.Option(help="Solana RPC URL or cluster")] = None,
    settler_keypair: Annotated[str | None, typer.Option(help="The config's settler")] = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    worker: Annotated[
        bool | None, typer.Option("--worker/--no-worker", help="Run the settlement worker here")
    ] = None,
    localnet: Annotated[
        bool,
        typer.Option("--localnet", help="Embedded localnet, demo market, local stand-in upstreams"),
    ] = False,
    workdir: Annotated[Path | None, typer.Option(help="--localnet: keep its files here")] = None,
    x402_facilitator: Annotated[
        str | None,
        typer.Option(help="Enable x402 pay-per-call (rail 2) through this facilitator URL"),
    ] = None,
    x402_network: Annotated[
        str | None, typer.Option(help="x402 network label: mainnet, devnet or localnet")
    ] = None,
) -> None:
    """Serve the OpenAI-compatible API (and x402 pay-per-call when a facilitator is given)."""
    if localnet and x402_facilitator and x402_network is None:
        x402_network = "localnet"  # labelled as devnet on the wire
    settings = load_settings(
        config,
        db=db,
        rpc_url=rpc_url,
        settler_keypair=settler_keypair,
        worker=worker,
        x402_facilitator_url=x402_facilitator,
        x402_network=x402_network,
    )
    import uvicorn

    from gateway import logs

    logs.setup(settings.log_json)
    if localnet:
        from gateway.localnet_serve import serve_localnet

        asyncio.run(serve_localnet(host, port, workdir, settings))
        return
    from gateway.app import build_app
    from gateway.server import config as server_config
    from gateway.service import Gateway

    uvicorn.Server(server_config(build_app(Gateway(settings)), host, port)).run()


@app.command("standin")
def standin(
    host: str = "127.0.0.1",
    port: int = 9000,
    behaviour: Annotated[
        str, typer.Option(help="good, fail, slow, drop, no_usage, garbage, overuse")
    ] = "good",
    delay: Annotated[float, typer.Option(help="slow: seconds before answering")] = 2.0,
) -> None:
    """Serve a LOCAL STAND-IN upstream (OpenAI wire, no model) at http://HOST:PORT/v1."""
    import uvicorn

    from gateway.server import config as server_config
    from gateway.standin import StandIn

    uvicorn.Server(server_config(StandIn(behaviour, delay).app, host, port)).run()


def main() -> None:
    app()
