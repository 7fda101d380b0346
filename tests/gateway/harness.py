"""The gateway under test: an embedded localnet with the demo market, stand-in upstreams of
every behaviour, and gateways (on a background thread, or as real processes) on SQLite or
PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bourse_chain.pda import provider_pda
from bourse_ops.common import Session, read_manifest
from gateway import localnet_demo
from gateway.app import build_app
from gateway.db.engine import make_engine, reading
from gateway.db.schema import calls, holds, journal, users
from gateway.server import ServerThread, free_port
from gateway.service import Gateway
from gateway.settings import Settings, to_toml
from gateway.standin import BEHAVIOURS, StandIn
from localnet import Localnet
from localnet.net import ThreadedLocalnet

ADMIN_TOKEN = "test-admin-token"
PG_ENV = "BOURSE_TEST_PG_DSN"


@dataclass
class Chain:
    net: ThreadedLocalnet
    keypairs: dict[str, Keypair]
    providers: list[Keypair]
    keypair_paths: dict[str, Path]

    @property
    def provider_accounts(self) -> list[Pubkey]:
        return [provider_pda(kp.pubkey())[0] for kp in self.providers]

    def token_balance(self, account: Pubkey) -> int:
        value = self.net.rpc("getTokenAccountBalance", [str(account)])
        return int(value["value"]["amount"])


def start_chain(workdir: Path) -> tuple[Any, Chain]:
    ctx = Localnet.start_in_thread(port=0, workdir=workdir, backend="embedded")
    net = ctx.__enter__()
    second = Keypair()
    net.airdrop(second.pubkey(), 100 * 10**9)
    providers = [net.keypairs["provider"], second]

    async def setup() -> None:
        session = await Session.open(net.rpc_url, manifest=read_manifest(net.manifest_path))
        async with session:
            await localnet_demo.setup_market(session, net.keypairs, providers)

    net.run(setup(), timeout=120)
    return ctx, Chain(net, net.keypairs, providers, net.keypair_paths)


@dataclass
class Upstreams:
    servers: dict[str, ServerThread] = field(default_factory=dict)
    fakes: dict[str, StandIn] = field(default_factory=dict)

    def url(self, behaviour: str) -> str:
        return self.servers[behaviour].url + "/v1"


def start_upstreams(slow_delay: float = 3.0) -> Upstreams:
    ups = Upstreams()
    for b in BEHAVIOURS:
        fake = StandIn(b, delay=slow_delay if b == "slow" else 0.0)
        ups.fakes[b] = fake
        ups.servers[b] = ServerThread(fake.app).start()
    return ups


# ------------------------------------------------------------------ databases


def postgres_dsn() -> str | None:
    dsn = os.environ.get(PG_ENV)
    if not dsn:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_ENV} is not set: CI must start PostgreSQL (see .ci/run)")
        pytest.skip(f"PostgreSQL tests need {PG_ENV}")
    return dsn


def fresh_postgres(dsn: str) -> str:
    """A new, empty database on the server of ``dsn``; returns its URL."""
    name = f"gw_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        engine = create_async_engine(dsn, isolation_level="AUTOCOMMIT")
        try:
            async with reading(engine) as conn:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            await engine.dispose()

    try:
        asyncio.run(create())
    except Exception as e:  # server down
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {dsn} unreachable: {e}")
        pytest.skip(f"PostgreSQL at {dsn} unreachable: {e}")
    return dsn.rsplit("/", 1)[0] + f"/{name}"


def database_url(kind: str, tmp: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / f'gw-{uuid.uuid4().hex[:8]}.sqlite3'}"
    dsn = postgres_dsn()
    assert dsn is not None
    return fresh_postgres(dsn)


# -------------------------------------------------------------------- gateway


def settings_for(
    chain: Chain,
    ups: Upstreams,
    db: str,
    behaviours: tuple[str, str] = ("good", "good"),
    **overrides: Any,
) -> Settings:
    base = Settings(
        db=db,
        rpc_url=chain.net.rpc_url,
        settler_keypair=str(chain.keypair_paths["settler"]),
        admin_token=ADMIN_TOKEN,
        settle_interval=0.2,
        settle_batch_size=20,
        catalog_refresh_seconds=3600,
        topup_poll_seconds=0,
        rate_limit_per_minute=0,
        upstream_first_byte_timeout=1.5,
        log_json=True,
    )
    s = localnet_demo.gateway_settings(
        base, chain.providers, [ups.url(behaviours[0]), ups.url(behaviours[1])]
    )
    return s.with_(**overrides)


@dataclass
class Running:
    url: str
    settings: Settings
    server: ServerThread | None = None
    gateway: Gateway | None = None

    @property
    def base_url(self) -> str:
        return self.url + "/api/v1"

    def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return httpx.request(
            method,
            self.url + path,
            json=body,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=30,
        )

    def new_key(self, user: str | None = None, credit: int = 0) -> str:
        user = user or f"user-{uuid.uuid4().hex[:8]}"
        r = self.admin("POST", "/api/admin/keys", {"user": user})
        assert r.status_code == 200, r.text
        if credit:
            g = self.admin(
                "POST",
                "/api/admin/credits",
                {"user": user, "amount": credit, "reference": uuid.uuid4().hex},
            )
            assert g.status_code == 200 and g.json()["credited"], g.text
        return str(r.json()["key"])

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


@contextlib.contextmanager
def gateway_thread(settings: Settings) -> Iterator[Running]:
    gw = Gateway(settings)
    with ServerThread(build_app(gw)) as srv:
        yield Running(srv.url, settings, srv, gw)


def write_config(settings: Settings, path: Path) -> Path:
    """A TOML config file for a gateway process."""
    path.write_text(to_toml(settings))
    return path


@dataclass
class Process:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def gateway_process(config: Path, log: Path, env: dict[str, str] | None = None) -> Process:
    """``bourse-gateway serve`` as a real process (``python -m gateway``)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port", str(port)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return Process(url, proc, log)
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(log.read_text()[-2000:])
        time.sleep(0.1)


# ------------------------------------------------------------------ ledger reads


def read_db(url: str, query: Any) -> list[Any]:
    async def run() -> list[Any]:
        engine = make_engine(url)
        try:
            async with reading(engine) as conn:
                return list((await conn.execute(query)).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def user_row(url: str, name: str) -> tuple[int, int, int]:
    rows = read_db(
        url, select(users.c.id, users.c.available, users.c.held).where(users.c.name == name)
    )
    uid, available, held = rows[0]
    return int(uid), int(available), int(held)


def journal_sums(url: str, user_id: int) -> tuple[int, int]:
    from sqlalchemy import func

    rows = read_db(
        url,
        select(
            func.coalesce(func.sum(journal.c.available_delta), 0),
            func.coalesce(func.sum(journal.c.held_delta), 0),
        ).where(journal.c.user_id == user_id),
    )
    return int(rows[0][0]), int(rows[0][1])


def call_rows(url: str, user_id: int | None = None) -> list[Any]:
    q = select(calls)
    if user_id is not None:
        q = q.where(calls.c.user_id == user_id)
    return read_db(url, q.order_by(calls.c.created_at))


def hold_rows(url: str, user_id: int) -> list[Any]:
    return read_db(url, select(holds).where(holds.c.user_id == user_id))


# ---------------------------------------------------------------- chain reads


@dataclass(frozen=True)
class Watched:
    wallet: Pubkey
    payouts: list[Pubkey]
    vaults: dict[str, Pubkey]
    treasury: Pubkey


def watched_accounts(chain: Chain) -> Watched:
    from bourse_chain.client import BourseClient
    from bourse_chain.generated.compute_market.accounts import Config
    from bourse_chain.market import Market
    from bourse_chain.pda import config_pda

    async def read() -> Config:
        async with BourseClient.connect(chain.net.rpc_url) as client:
            config = await client.fetch(config_pda(client.program_id)[0], Config)
        assert config is not None
        return config

    config = chain.net.run(read())
    market = Market(
        usdc_mint=config.usdc_mint,
        usdc_token_program=config.usdc_token_program,
        treasury_authority=config.treasury_authority,
    )
    return Watched(
        wallet=market.usdc_account(chain.keypairs["settler"].pubkey()),
        payouts=[market.usdc_account(kp.pubkey()) for kp in chain.providers],
        vaults={slug: market.revenue_vault(slug) for slug in ("deepseek-chat", "kimi-k2.6")},
        treasury=market.treasury,
    )


def balances(chain: Chain, w: Watched) -> dict[str, int]:
    out = {"wallet": chain.token_balance(w.wallet), "treasury": chain.token_balance(w.treasury)}
    for i, p in enumerate(w.payouts):
        out[f"payout{i}"] = chain.token_balance(p)
    for slug, v in w.vaults.items():
        out[f"vault:{slug}"] = chain.token_balance(v)
    return out


def wait_settled(url: str, n: int, timeout: float = 90.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        rows = call_rows(url)
        if len(rows) >= n and all(r.state == "settled" for r in rows):
            return rows
        if time.monotonic() > deadline:
            states = [r.state for r in rows]
            raise AssertionError(f"not settled in {timeout}s: {len(rows)} rows, {states}")
        time.sleep(0.2)
