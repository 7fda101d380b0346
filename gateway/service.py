"""The running gateway: database, ledger, keys, catalog, upstream HTTP client, metrics and
the background jobs (catalog refresh, settlement worker, hold expiry, top-up polling)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import aiohttp
from solders.keypair import Keypair
from sqlalchemy.ext.asyncio import AsyncEngine

from bourse_chain.client import BourseClient
from bourse_chain.keys import load_keypair
from bourse_chain.settlement import Settlement
from gateway.catalog import Catalog, load_catalog
from gateway.db.engine import create_schema, make_engine, now_ms
from gateway.keys import KeyStore
from gateway.ledger import Ledger
from gateway.metrics import Metrics
from gateway.ratelimit import RateLimiter
from gateway.settings import Settings
from gateway.settlement.chain_port import ChainPort
from gateway.settlement.outbox import Outbox
from gateway.settlement.worker import SettlementWorker
from gateway.topups.service import TopUps
from gateway.x402.service import X402Service, open_x402

T = TypeVar("T")

log = logging.getLogger("bourse.gateway")


class Gateway:
    def __init__(self, settings: Settings, engine: AsyncEngine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.db)
        self.ledger = Ledger(self.engine)
        self.keys = KeyStore(self.engine, self.ledger, settings.key_cache_ttl)
        self.metrics = Metrics()
        self.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        self.log = log
        self._http: aiohttp.ClientSession | None = None
        self.chain: BourseClient | None = None
        self._catalog: Catalog | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._finishing: set[asyncio.Task[Any]] = set()
        self.jobs: list[Any] = []  # objects with start() / stop() (worker, top-ups)
        self.topups: TopUps | None = None
        self.worker: SettlementWorker | None = None
        self.settlement: Settlement | None = None
        self.x402: X402Service | None = None  # rail 2, when a facilitator is configured

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            raise RuntimeError("catalog not loaded")
        return self._catalog

    @property
    def http(self) -> aiohttp.ClientSession:
        """The upstream HTTP client (aiohttp: about half httpx's per-request cost)."""
        if self._http is None:
            raise RuntimeError("gateway not started")
        return self._http

    async def start(self) -> None:
        s = self.settings
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(
                total=None, connect=s.upstream_connect_timeout, sock_read=s.upstream_read_timeout
            ),
            connector=aiohttp.TCPConnector(limit=1000, limit_per_host=0),
        )
        await create_schema(self.engine)
        self.chain = BourseClient.connect(self.settings.rpc_url)
        await self.refresh_catalog()
        await self._wire_chain_jobs()
        if s.x402_facilitator_url:
            self.x402 = await open_x402(
                facilitator_url=s.x402_facilitator_url,
                network=s.x402_network,
                chain=self.chain,
                settlement=self.settlement,
                engine=self.engine,
                writer=self.ledger.writer,
                slugs=list(self.catalog.routes),
            )
        self._tasks.append(
            asyncio.create_task(
                self._every(self.settings.catalog_refresh_seconds, self.refresh_catalog)
            )
        )
        for job in self.jobs:
            await job.start()

    async def _wire_chain_jobs(self) -> None:
        assert self.chain is not None
        s = self.settings
        port = None
        wallet: Keypair | None = None
        if s.settler_keypair:
            settler = load_keypair(s.settler_keypair)
            wallet = load_keypair(s.wallet_keypair) if s.wallet_keypair else settler
            settlement = await Settlement.load(self.chain, settler)
            self.settlement = settlement
            port = ChainPort(settlement, wallet)
        else:
            log.warning("no settler keypair: calls are recorded but not settled on-chain")
        if s.worker:
            self.worker = SettlementWorker(
                self.ledger,
                Outbox(self.engine),
                port,
                self.metrics,
                interval=s.settle_interval,
                size=s.settle_batch_size,
            )
            self.jobs.append(self.worker)
        if wallet is not None:
            self.topups = TopUps(
                self.engine,
                self.ledger,
                self.chain,
                wallet.pubkey(),
                self.metrics,
                s.topup_poll_seconds,
            )
            self.jobs.append(self.topups)

    async def refresh_catalog(self) -> None:
        assert self.chain is not None
        self._catalog = await load_catalog(self.chain, self.settings, now_ms())

    async def _every(self, seconds: float, fn: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await fn()
            except Exception:
                log.exception("periodic job failed")

    def run_to_end(self, coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """Run ``coro`` to its end even if the awaiting request is cancelled (a client that
        disconnects must not leave a hold half-settled)."""
        task = asyncio.ensure_future(coro)
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        return asyncio.shield(task)

    async def stop(self) -> None:
        for job in reversed(self.jobs):
            await job.stop()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if self._finishing:
            await asyncio.gather(*self._finishing, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        if self.x402 is not None:
            await self.x402.aclose()
        if self.chain is not None:
            await self.chain.close()
        self.ledger.close()
        await self.engine.dispose()
