"""``bourse-gateway serve --localnet``: an embedded localnet with the demo market, two LOCAL
STAND-IN upstreams (no model behind them), a gateway on SQLite, and a key with credits."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
from pathlib import Path

import typer
import uvicorn
from solders.keypair import Keypair

from bourse_ops.common import Session, read_manifest
from gateway import localnet_demo
from gateway.app import build_app
from gateway.db.engine import create_schema
from gateway.server import config, free_port
from gateway.service import Gateway
from gateway.settings import Settings
from gateway.standin import StandIn

DEMO_CREDITS = 10_000_000  # 10 USDC


async def serve_localnet(host: str, port: int, workdir: Path | None, base: Settings) -> None:
    from localnet import Localnet

    with tempfile.TemporaryDirectory(prefix="bourse-gateway-") as tmp:
        root = workdir or Path(tmp)
        async with Localnet.start(port=0, workdir=root / "localnet", backend="embedded") as net:
            second = Keypair()
            await net.airdrop(second.pubkey(), 100 * 10**9)
            providers = [net.keypairs["provider"], second]
            session = await Session.open(net.rpc_url, manifest=read_manifest(net.manifest_path))
            async with session:
                await localnet_demo.setup_market(session, net.keypairs, providers)
            servers = []
            urls = []
            for _ in providers:
                up_port = free_port(host)
                servers.append(uvicorn.Server(config(StandIn("good").app, host, up_port)))
                urls.append(f"http://{host}:{up_port}/v1")
            admin_token = secrets.token_urlsafe(16)
            db = base.db if base.db != Settings().db else f"sqlite+aiosqlite:///{root}/gw.sqlite3"
            settings = localnet_demo.gateway_settings(
                base.with_(
                    db=db,
                    rpc_url=net.rpc_url,
                    settler_keypair=str(net.keypair_paths["settler"]),
                    admin_token=admin_token,
                ),
                providers,
                urls,
            )
            gw = Gateway(settings)
            await create_schema(gw.engine)
            key = await gw.keys.create("demo", "serve --localnet")
            await gw.ledger.credit(key.info.user_id, DEMO_CREDITS, "grant", "demo-credits")
            port = port or 8080
            server = uvicorn.Server(config(build_app(gw), host, port))
            tasks = [asyncio.create_task(s.serve()) for s in servers]
            typer.echo(
                "Bourse gateway on an embedded localnet (upstreams are LOCAL STAND-INS: "
                "no model runs behind them)\n"
                f"  base URL    http://{host}:{port}/api/v1\n"
                f"  market      http://{host}:{port}/market\n"
                f"  API key     {key.secret}   (10 USDC of credits)\n"
                f"  admin token {admin_token}\n"
                f"  RPC         {net.rpc_url}\n"
                f"  models      {', '.join(m.slug for m in localnet_demo.MODELS)}"
            )
            if settings.x402_facilitator_url:
                typer.echo(f"  x402        http://{host}:{port}/api/x402/v1/chat/completions")
            try:
                await server.serve()
            finally:
                for s in servers:
                    s.should_exit = True
                for t in tasks:
                    with contextlib.suppress(Exception):
                        await t
