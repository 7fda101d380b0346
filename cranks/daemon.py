"""The crank daemon: it schedules the jobs, logs and counts; the jobs do the work.

* :class:`CrankContext` is everything a job's ``run_once(ctx)`` needs (config, sender,
  market, key, venue, the stop flag and a checkpoint hook for fault tests);
  :func:`build_context` builds it from a :class:`~cranks.config.CrankConfig`.
* :class:`Daemon` runs each enabled job on APScheduler 3.x (``AsyncIOScheduler``; an interval
  per job, ``max_instances=1``, ``coalesce``, ``misfire_grace_time``), each run under the
  per-(key, job) file lock (:mod:`cranks.lock`), and serves ``/metrics`` and ``/health``.
  :meth:`Daemon.run_all_once` is ``--once``.
* Graceful stop: SIGTERM/SIGINT set the stop flag (jobs finish the model in flight, its
  transactions included, and start no other), pause the scheduler and wait up to
  ``scheduler.stop_timeout_secs`` for running jobs. A second signal cancels them (what was
  sent stays in the journal; the next start settles it).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import httpx2
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from solana.rpc.commitment import Commitment
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.client import BourseClient
from bourse_chain.generated.compute_market import PROGRAM_ID
from bourse_chain.generated.compute_market.accounts import Config
from bourse_chain.keys import load_keypair
from bourse_chain.market import Market
from bourse_chain.pda import config_pda
from cranks import buyback, harvest
from cranks.config import ConfigError, CrankConfig, secret
from cranks.http import RetryPolicy
from cranks.lock import JobLock
from cranks.metrics import Health, JobHealth, Metrics, MetricsServer
from cranks.sender import RpcTransport, Sender, connect_rpc
from cranks.state import CrankState
from cranks.venues.base import Route, Venue
from cranks.venues.errors import NoRoute
from cranks.venues.jupiter import JupiterApi, JupiterConfig, JupiterVenue
from cranks.venues.local_pool import LocalPoolConfig, LocalPoolVenue
from cranks.venues.pump import PumpConfig, PumpVenue
from cranks.venues.raydium import RAYDIUM_CPMM_DEVNET_PROGRAM_ID, RaydiumConfig, RaydiumVenue

log = logging.getLogger(__name__)

#: ``await checkpoint(name, model)`` at the points where a kill matters (fault tests inject
#: an exception or a cancellation here): ``buyback:quoted``, ``buyback:bought``,
#: ``harvest:chunk``.
Checkpoint = Callable[[str, str], Awaitable[None]]


async def no_checkpoint(name: str, subject: str) -> None:
    return None


class Report(Protocol):
    job: str
    dry_run: bool
    listed: int
    scanned: int
    stopped_early: bool

    @property
    def ok(self) -> bool: ...

    def summary(self) -> dict[str, Any]: ...


JobFn = Callable[["CrankContext"], Awaitable[Report]]
JOBS: Mapping[str, JobFn] = {"buyback": buyback.run_once, "harvest": harvest.run_once}


class CrankSetupError(RuntimeError):
    """The daemon cannot start: program config missing, wrong key..."""


@dataclass
class CrankContext:
    config: CrankConfig
    sender: Sender
    market: Market
    crank: Keypair
    venue: Venue | None
    metrics: Metrics
    transport: RpcTransport | None = None
    dry_run: bool = False
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    checkpoint: Checkpoint = no_checkpoint
    http: httpx.AsyncClient | None = None
    #: Where the buyback's reference price is observed (None: ``venue``).
    reference_venue: Venue | None = None

    @property
    def client(self) -> BourseClient:
        return self.sender.client

    @property
    def state(self) -> CrankState:
        return self.sender.state

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()
        await self.client.close()


class RaydiumPools:
    """A :class:`Venue` over several Raydium CPMM pools, one per model mint."""

    def __init__(self, venues: Mapping[Pubkey, RaydiumVenue]) -> None:
        self._venues = dict(venues)

    @property
    def name(self) -> str:
        return "raydium"

    async def quote(
        self,
        input_mint: Pubkey,
        output_mint: Pubkey,
        amount_in: int,
        slippage_bps: int,
        *,
        authority: Pubkey,
        source: Pubkey,
        destination: Pubkey,
    ) -> Route:
        venue = self._venues.get(output_mint)
        if venue is None:
            raise NoRoute(f"no Raydium pool configured for mint {output_mint}", venue=self.name)
        return await venue.quote(
            input_mint,
            output_mint,
            amount_in,
            slippage_bps,
            authority=authority,
            source=source,
            destination=destination,
        )


def build_venue(config: CrankConfig, sender: Sender, http: httpx.AsyncClient | None) -> Venue:
    b = config.buyback
    if b.venue == "local_pool":
        lp = LocalPoolConfig(max_quote_age_s=b.max_quote_age_secs)
        if config.local_pool.program_id is not None:
            lp = LocalPoolConfig(config.local_pool.program_id, b.max_quote_age_secs)
        return LocalPoolVenue(sender.account_data, lp)
    if b.venue == "pump":
        pc = PumpConfig(payer=sender.payer.pubkey(), max_quote_age_s=b.max_quote_age_secs)
        sol_leg = None
        if b.sol_venue:
            leg_config = config.replace(buyback=dataclasses.replace(b, venue=b.sol_venue))
            sol_leg = build_venue(leg_config, sender, http)
        return PumpVenue(sender.account_data, pc, sol_leg=sol_leg, lamports=sender.account_lamports)
    if http is None:
        raise ConfigError(f"venue {b.venue} needs an HTTP client")
    if b.venue == "jupiter":
        j = config.jupiter
        jc = JupiterConfig(
            base_url=j.base_url,
            api=JupiterApi(j.api),
            api_key=secret(j.api_key),
            max_quote_age_s=b.max_quote_age_secs,
            retry=RetryPolicy(max_attempts=j.max_attempts, timeout_s=j.timeout_secs),
        )

        async def slot() -> int:
            return (await sender.client.rpc.get_slot()).value

        return JupiterVenue(http, jc, account_fetcher=sender.account_data, slot_fetcher=slot)
    r = config.raydium
    venues = {
        Pubkey.from_string(mint): RaydiumVenue(
            RaydiumConfig(
                pool=Pubkey.from_string(pool),
                program_id=r.program_id or RAYDIUM_CPMM_DEVNET_PROGRAM_ID,
                trade_api_url=r.trade_api_url,
                price_tolerance_bps=r.price_tolerance_bps,
                max_quote_age_s=b.max_quote_age_secs,
            ),
            sender.account_data,
            client=http,
        )
        for mint, pool in r.pools.items()
    }
    return RaydiumPools(venues)


async def build_context(
    config: CrankConfig,
    *,
    keypair: Keypair | None = None,
    dry_run: bool = False,
    inner_transport: httpx2.AsyncBaseTransport | None = None,
    venue: Venue | None = None,
    reference_venue: Venue | None = None,
    checkpoint: Checkpoint = no_checkpoint,
    metrics: Metrics | None = None,
) -> CrankContext:
    """Connect, load the key, read the program config once (USDC mint, treasury)."""
    crank = keypair or load_keypair(config.keypair)
    metrics = metrics or Metrics()
    urls = config.resolved_rpc_urls()
    rpc, transport = connect_rpc(
        urls,
        config.send,
        commitment=Commitment(config.commitment),
        metrics=metrics,
        inner=inner_transport,
    )
    program_id = config.program_id or PROGRAM_ID
    client = BourseClient(
        rpc,
        program_id=program_id,
        commitment=Commitment(config.commitment),
        options=Sender.send_options(config.send),
        owns_rpc=True,
    )
    state = CrankState(config.state_path / f"{crank.pubkey()}.json")
    sender = Sender(client, crank, config.send, state, metrics)
    transport.on_send = sender.journal_hook()
    http: httpx.AsyncClient | None = None
    try:
        cfg = await client.fetch(config_pda(program_id)[0], Config)
        if cfg is None:
            raise CrankSetupError(f"program {program_id} has no config on {urls[0]}")
        if cfg.crank != crank.pubkey():
            message = f"key {crank.pubkey()} is not the program's crank ({cfg.crank})"
            if not dry_run:
                raise CrankSetupError(message)
            log.warning("%s: simulations will fail with Unauthorized", message)
        market = Market(
            usdc_mint=cfg.usdc_mint,
            treasury_authority=cfg.treasury_authority,
            usdc_token_program=cfg.usdc_token_program,
            program_id=program_id,
        )
        b = config.buyback
        if b.enabled and (venue is None or (reference_venue is None and b.reference_venue)):
            if {b.venue, b.reference_venue, b.sol_venue} - {"local_pool", ""}:
                http = httpx.AsyncClient()
            if venue is None:
                venue = build_venue(config, sender, http)
            if reference_venue is None and b.reference_venue not in ("", b.venue):
                other = config.replace(buyback=dataclasses.replace(b, venue=b.reference_venue))
                reference_venue = build_venue(other, sender, http)
    except BaseException:
        if http is not None:
            await http.aclose()
        await client.close()
        raise
    return CrankContext(
        config=config,
        sender=sender,
        market=market,
        crank=crank,
        venue=venue,
        metrics=metrics,
        transport=transport,
        dry_run=dry_run,
        checkpoint=checkpoint,
        http=http,
        reference_venue=reference_venue,
    )


@dataclass
class JobOutcome:
    job: str
    #: ok, failed (some model failed), error (the run raised), locked (another holder)
    status: str
    report: Report | None = None
    error: str | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Daemon:
    def __init__(
        self,
        ctx: CrankContext,
        *,
        jobs: Sequence[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ctx = ctx
        names = list(jobs) if jobs else [j for j in JOBS if getattr(ctx.config, j).enabled]
        unknown = [n for n in names if n not in JOBS]
        if unknown:
            raise ConfigError(f"unknown job(s): {', '.join(unknown)}")
        self.jobs: dict[str, JobFn] = {n: JOBS[n] for n in names}
        self._clock = clock
        self.health = Health(
            started_at=clock(),
            stale_after_intervals=ctx.config.metrics.stale_after_intervals,
            jobs={n: JobHealth(self.interval(n)) for n in names},
            clock=clock,
        )
        self.server: MetricsServer | None = None
        self._running: set[asyncio.Task[Any]] = set()
        self._stop = asyncio.Event()
        self._signals = 0

    def interval(self, job: str) -> float:
        return float(getattr(self.ctx.config, job).interval_secs)

    # -- one run ---------------------------------------------------------------------------

    async def run_job(self, name: str) -> JobOutcome:
        ctx = self.ctx
        lock = JobLock(ctx.config.lock_path, ctx.crank.pubkey(), name)
        # A dry run changes nothing: it may run beside a live daemon.
        if not ctx.dry_run and not lock.acquire():
            outcome = JobOutcome(name, "locked")
            log.info(
                "%s: another daemon on this key holds %s (pid %s); skipping this run",
                name,
                lock.path,
                lock.holder_pid(),
                extra={"event": "job_locked", "job": name},
            )
            self._record(outcome)
            return outcome
        started = time.monotonic()
        log.info(
            "%s: run started",
            name,
            extra={"event": "job_started", "job": name, "dry_run": ctx.dry_run},
        )
        try:
            report = await self.jobs[name](ctx)
        except Exception as exc:  # a failed run never stops the daemon; logged and counted
            outcome = JobOutcome(name, "error", error=f"{type(exc).__name__}: {exc}")
            log.error(
                "%s: run failed: %s",
                name,
                outcome.error,
                exc_info=exc,
                extra={"event": "job_error", "job": name, "error": type(exc).__name__},
            )
        else:
            outcome = JobOutcome(name, "ok" if report.ok else "failed", report)
        finally:
            lock.release()
        outcome.duration = time.monotonic() - started
        self._record(outcome)
        if outcome.report is not None:
            log.info(
                "%s: run %s in %.2fs: %s",
                name,
                outcome.status,
                outcome.duration,
                outcome.report.summary(),
                extra={
                    "event": "job_finished",
                    "job": name,
                    "status": outcome.status,
                    "duration": round(outcome.duration, 3),
                    **outcome.report.summary(),
                },
            )
        return outcome

    def _record(self, outcome: JobOutcome) -> None:
        m, job = self.ctx.metrics, outcome.job
        m.job_runs.labels(job, outcome.status).inc()
        now = self._clock()
        m.last_run.labels(job).set(now)
        if outcome.status != "locked":
            m.job_duration.labels(job).observe(outcome.duration)
        if outcome.ok:
            m.last_success.labels(job).set(now)
        self.health.record(job, outcome.status, outcome.ok)
        report = outcome.report
        if report is None:
            return
        m.vaults_scanned.labels(job).inc(report.scanned)
        if isinstance(report, buyback.BuybackReport):
            for r in report.results:
                m.model_outcomes.labels(job, r.outcome, r.reason).inc()
                if r.usdc_spent:
                    m.usdc_spent.labels(r.model).inc(r.usdc_spent)
                if r.tokens_bought:
                    m.tokens_bought.labels(r.model).inc(r.tokens_bought)
                if r.tokens_burned:
                    m.tokens_burned.labels(r.model).inc(r.tokens_burned)
        elif isinstance(report, harvest.HarvestReport):
            for h in report.results:
                m.model_outcomes.labels(job, h.outcome, h.reason).inc()
                if h.harvested:
                    m.fees_harvested.labels(h.model).inc(h.harvested)

    async def run_all_once(self) -> list[JobOutcome]:
        """Every enabled job once, in order (``--once``)."""
        outcomes = []
        for name in self.jobs:
            if self.ctx.stopping.is_set():
                break
            outcomes.append(await self.run_job(name))
        return outcomes

    # -- scheduling ------------------------------------------------------------------------

    async def _scheduled(self, name: str) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            if not self.ctx.stopping.is_set():
                await self.run_job(name)
        finally:
            if task is not None:
                self._running.discard(task)

    def request_stop(self) -> None:
        """What SIGTERM/SIGINT do: finish the transaction in flight, start nothing new.
        A second call cancels the running jobs."""
        self._signals += 1
        self.ctx.stopping.set()
        self._stop.set()
        if self._signals == 1:
            log.info(
                "stop requested: finishing the running job's current model",
                extra={"event": "stop_requested"},
            )
        else:
            log.warning(
                "second stop request: cancelling running jobs", extra={"event": "stop_forced"}
            )
            for task in list(self._running):
                task.cancel()

    async def serve(self, *, install_signals: bool = True) -> None:
        """Run until stopped: the scheduler, the metrics server, the signal handlers."""
        cfg = self.ctx.config
        if cfg.metrics.enabled:
            self.server = MetricsServer(
                self.ctx.metrics, self.health, cfg.metrics.host, cfg.metrics.port
            )
            await self.server.start()
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
                installed.append(sig)
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        for name in self.jobs:
            scheduler.add_job(
                self._scheduled,
                IntervalTrigger(seconds=self.interval(name), timezone=UTC),
                args=[name],
                id=name,
                name=name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(cfg.scheduler.misfire_grace_secs)),
                next_run_time=now,
            )
        scheduler.start()
        log.info(
            "daemon started: jobs %s",
            ", ".join(self.jobs),
            extra={
                "event": "daemon_started",
                "jobs": list(self.jobs),
                "key": str(self.ctx.crank.pubkey()),
                "dry_run": self.ctx.dry_run,
            },
        )
        try:
            await self._stop.wait()
            scheduler.pause()
            await self._drain(cfg.scheduler.stop_timeout_secs)
        finally:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # let the scheduler's shutdown run on the loop
            for sig in installed:
                loop.remove_signal_handler(sig)
            if self.server is not None:
                await self.server.close()
            log.info("daemon stopped", extra={"event": "daemon_stopped"})

    async def _drain(self, grace: float) -> None:
        running = list(self._running)
        if not running:
            return
        _, pending = await asyncio.wait(running, timeout=grace)
        for task in pending:
            log.warning(
                "job still running after %.0fs: cancelling", grace, extra={"event": "stop_timeout"}
            )
            task.cancel()
        if pending:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*pending, return_exceptions=True)


def exit_code(outcomes: Sequence[JobOutcome]) -> int:
    """``--once``: 0 all ok, 1 a job failed or raised, 75 (EX_TEMPFAIL) only locked runs."""
    if any(o.status in ("failed", "error") for o in outcomes):
        return 1
    if any(o.status == "locked" for o in outcomes):
        return 75
    return 0
