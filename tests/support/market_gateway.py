"""``bourse-gateway serve`` as a real process on a :class:`MarketChain`'s localnet: the chain's
provider served by a LOCAL STAND-IN upstream, the settler settling paid calls, the market page
refreshing fast. What the market page's acceptance tests drive."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gateway.server import ServerThread
from gateway.settings import ProviderConfig, Settings
from gateway.standin import StandIn
from tests.gateway.harness import Process, gateway_process, write_config
from tests.support.market_chain import MarketChain

ADMIN_TOKEN = "market-admin-token"
PROVIDER_KEY = "gpu"


@dataclass
class MarketGateway:
    url: str
    process: Process

    async def admin(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            r = await http.post(path, json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    async def new_key(self, credit: int) -> str:
        user = f"market-{uuid.uuid4().hex[:8]}"
        key = await self.admin("/api/admin/keys", {"user": user})
        grant = {"user": user, "amount": credit, "reference": uuid.uuid4().hex}
        assert (await self.admin("/api/admin/credits", grant))["credited"]
        return str(key["key"])

    async def paid_call(self, model: str, key: str) -> int:
        """One chat completion through the gateway (rail 1); returns what it charged."""
        async with httpx.AsyncClient(base_url=self.url, timeout=60) as http:
            r = await http.post(
                "/api/v1/chat/completions",
                json={
                    "model": model,
                    "messages": [{"role": "user", "content": "the market page, please"}],
                    "stream": False,
                    "max_tokens": 64,
                },
                headers={"Authorization": f"Bearer {key}"},
            )
        assert r.status_code == 200, r.text
        return int(r.headers["X-Bourse-Charge"])


@contextlib.asynccontextmanager
async def market_gateway(
    chain: MarketChain, routed: Sequence[str], tmp: Path
) -> AsyncIterator[MarketGateway]:
    """The gateway process routing ``routed`` (slugs the chain's provider offers)."""
    upstream = ServerThread(StandIn("good").app).start()
    settings = Settings(
        db=f"sqlite+aiosqlite:///{tmp / 'gateway.sqlite3'}",
        rpc_url=chain.rpc_url,
        settler_keypair=str(chain.net.keypair_paths["settler"]),
        admin_token=ADMIN_TOKEN,
        providers=(
            ProviderConfig(
                key=PROVIDER_KEY,
                name="Market page GPU (local stand-in)",
                authority=str(chain.keys["provider"].pubkey()),
                base_url=upstream.url + "/v1",
                models={slug: slug for slug in routed},
            ),
        ),
        settle_interval=0.2,
        catalog_refresh_seconds=3600,
        topup_poll_seconds=0,
        rate_limit_per_minute=0,
        market_ttl_seconds=0.2,
        market_refresh_seconds=0.4,
    )
    config = write_config(settings, tmp / "gateway.toml")
    # the localnet answers on this event loop: wait for the process off it
    process = await asyncio.to_thread(gateway_process, config, tmp / "gateway.log")
    try:
        yield MarketGateway(process.url, process)
    finally:
        await asyncio.to_thread(process.stop)
        await asyncio.to_thread(upstream.stop)
