"""Prometheus metrics and the ``/metrics`` + ``/health`` HTTP endpoint of the crank daemon.

Each :class:`Metrics` owns its own ``CollectorRegistry`` (no module-level state), so several
daemons can live in one process (tests). Amounts are raw on-chain units: micro-USDC for
``usdc_spent``, the model token's base units for ``tokens_*`` and ``fees_harvested``
(labelled per model, since mints differ in decimals).

The server binds 127.0.0.1 by default. ``/health`` answers 200 while every enabled job has
succeeded within ``stale_after_intervals`` of its interval (or has not had the time to run
yet), 503 otherwise, with a JSON body describing each job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger(__name__)

NS = "bourse_crank"


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.vaults_scanned = Counter(
            "vaults_scanned",
            "Vaults (buyback) or token accounts (harvest) read",
            ["job"],
            namespace=NS,
            registry=r,
        )
        self.usdc_spent = Counter(
            "usdc_spent", "Micro-USDC spent on buybacks", ["model"], namespace=NS, registry=r
        )
        self.tokens_bought = Counter(
            "tokens_bought",
            "Model tokens arrived in buyback vaults (base units)",
            ["model"],
            namespace=NS,
            registry=r,
        )
        self.tokens_burned = Counter(
            "tokens_burned",
            "Model tokens burned (base units)",
            ["model"],
            namespace=NS,
            registry=r,
        )
        self.fees_harvested = Counter(
            "fees_harvested",
            "Withheld transfer fees withdrawn to the treasury (base units)",
            ["model"],
            namespace=NS,
            registry=r,
        )
        self.tx_sent = Counter(
            "tx_sent",
            "Transactions landed successfully",
            ["job", "kind"],
            namespace=NS,
            registry=r,
        )
        self.tx_failed = Counter(
            "tx_failed",
            "Transactions that failed (simulation, execution, expiry, RPC)",
            ["job", "kind", "error"],
            namespace=NS,
            registry=r,
        )
        self.tx_simulated = Counter(
            "tx_simulated",
            "Transactions simulated only (dry run)",
            ["job", "kind"],
            namespace=NS,
            registry=r,
        )
        self.fee_lamports = Counter(
            "fee_lamports",
            "Lamports paid in transaction fees",
            ["job"],
            namespace=NS,
            registry=r,
        )
        self.fee_spent_today = Gauge(
            "fee_spent_today_lamports",
            "Lamports spent on fees today (UTC), by every daemon on this key",
            namespace=NS,
            registry=r,
        )
        self.fee_budget = Gauge(
            "fee_budget_lamports",
            "Daily fee budget in lamports (0 = none)",
            namespace=NS,
            registry=r,
        )
        self.rpc_requests = Counter(
            "rpc_requests",
            "JSON-RPC requests sent, by method",
            ["method"],
            namespace=NS,
            registry=r,
        )
        self.rpc_errors = Counter(
            "rpc_errors",
            "JSON-RPC attempts that failed (transport, HTTP status, node error)",
            ["method", "endpoint", "kind"],
            namespace=NS,
            registry=r,
        )
        self.rpc_failovers = Counter(
            "rpc_failovers",
            "Requests answered by another endpoint than the first tried",
            namespace=NS,
            registry=r,
        )
        self.model_outcomes = Counter(
            "model_outcomes",
            "Per-model results of a job run",
            ["job", "outcome", "reason"],
            namespace=NS,
            registry=r,
        )
        self.job_runs = Counter(
            "job_runs",
            "Job runs by outcome (ok, failed, error, locked)",
            ["job", "outcome"],
            namespace=NS,
            registry=r,
        )
        self.job_duration = Histogram(
            "job_duration_seconds",
            "Wall time of a job run",
            ["job"],
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
            namespace=NS,
            registry=r,
        )
        self.last_success = Gauge(
            "last_success_timestamp_seconds",
            "Unix time of the job's last successful run",
            ["job"],
            namespace=NS,
            registry=r,
        )
        self.last_run = Gauge(
            "last_run_timestamp_seconds",
            "Unix time the job's last run ended",
            ["job"],
            namespace=NS,
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """A sample's current value (0 when absent): for tests and the benchmark."""
        got = self.registry.get_sample_value(f"{NS}_{name}", labels or {})
        return 0.0 if got is None else float(got)


@dataclass
class JobHealth:
    interval: float
    last_success: float | None = None
    last_run: float | None = None
    last_outcome: str | None = None
    consecutive_failures: int = 0


@dataclass
class Health:
    """What /health reports; the daemon updates it after every run."""

    started_at: float
    stale_after_intervals: float = 3.0
    jobs: dict[str, JobHealth] = field(default_factory=dict)
    clock: Callable[[], float] = time.time

    def record(self, job: str, outcome: str, ok: bool) -> None:
        h = self.jobs[job]
        now = self.clock()
        h.last_run = now
        h.last_outcome = outcome
        if ok:
            h.last_success = now
            h.consecutive_failures = 0
        elif outcome != "locked":
            h.consecutive_failures += 1

    def report(self) -> tuple[bool, dict[str, Any]]:
        now = self.clock()
        healthy = True
        jobs: dict[str, Any] = {}
        for name, h in self.jobs.items():
            limit = h.interval * self.stale_after_intervals
            since = h.last_success if h.last_success is not None else self.started_at
            stale = now - since > limit
            # A standby daemon that only ever finds the lock taken is not unhealthy.
            if h.last_outcome == "locked" and h.consecutive_failures == 0:
                stale = False
            healthy = healthy and not stale
            jobs[name] = {
                "healthy": not stale,
                "interval_secs": h.interval,
                "last_success": h.last_success,
                "last_run": h.last_run,
                "last_outcome": h.last_outcome,
                "consecutive_failures": h.consecutive_failures,
            }
        return healthy, {"status": "ok" if healthy else "unhealthy", "jobs": jobs}


class MetricsServer:
    """``/metrics`` and ``/health`` on ``host:port`` (aiohttp)."""

    def __init__(self, metrics: Metrics, health: Health, host: str, port: int) -> None:
        self.metrics = metrics
        self.health = health
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        for address in self._runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                self.port = int(address[1])
                break
        log.info(
            "metrics on http://%s:%d/metrics",
            self.host,
            self.port,
            extra={"event": "metrics_listening", "port": self.port},
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        body = self.metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health(self, request: web.Request) -> web.Response:
        healthy, body = self.health.report()
        return web.json_response(body, status=200 if healthy else 503)
