"""``bourse-gateway`` (and ``bourse gateway``): serve the gateway; manage keys and credits.

Key and credit commands work on the database directly (``--db`` or the config's ``db``),
so they run with or without a gateway serving it. Output is JSON.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvicorn

from gateway import logs
from gateway.db.engine import create_schema, make_engine
from gateway.keys import KeyError_, KeyStore
from gateway.ledger import Ledger, UnknownUser
from gateway.settings import load_settings

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

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file")]
DbOpt = Annotated[
    str | None, typer.Option("--db", help="sqlite+aiosqlite:///… or postgresql+asyncpg://…")
]


def _echo(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


def _with_store(
    config: Path | None, db: str | None, fn: Callable[[KeyStore, Ledger], Awaitable[T]]
) -> T:
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
    from gateway.server import config as server_config
    from gateway.standin import StandIn

    uvicorn.Server(server_config(StandIn(behaviour, delay).app, host, port)).run()


def main() -> None:
    app()
