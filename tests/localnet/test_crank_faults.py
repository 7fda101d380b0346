"""Crash safety and faults: kill the daemon at every point that matters and start a fresh
one; inject RPC errors at the JSON-RPC layer; expire a blockhash; fail a simulation; run out
of fee budget; run a second daemon on the same key. Each test asserts that nothing was lost
and nothing was spent twice: every micro-USDC leaving a revenue vault is in the model's
``usdc_spent`` once, every token bought is burned, the supply fell by exactly that much.

A "kill" is :class:`Killed`, a ``BaseException`` (like the ``KeyboardInterrupt`` /
``SystemExit`` / cancellation a dying process sees): it passes the per-model isolation
boundary, aborts the run and leaves the daemon object dead; the test then builds a new
context and daemon on the same state directory, as a restarted process would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import os
import random
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import httpx2
import pytest
from solana.exceptions import SolanaRpcException
from solana.rpc.core import RPCException
from solders.pubkey import Pubkey

from bourse_ops.sandbox.crank_env import (
    USDC,
    CrankEnv,
    Listed,
    start_env,
    t22_fee,
)
from cranks.buyback import BuybackReport
from cranks.daemon import CrankContext, Daemon, build_context, exit_code
from cranks.harvest import HarvestReport
from cranks.sender import FeeBudgetExhausted
from cranks.venues.base import Route
from cranks.venues.local_pool import LocalPoolVenue

ROOT = Path(__file__).resolve().parents[2]


class Killed(BaseException):
    """The process died here."""


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CrankEnv]:
    async with start_env(tmp_path_factory.mktemp("crank-faults"), cooldown_secs=3600) as e:
        yield e


def kill_at(point: str, slug: str) -> Callable[[str, str], Awaitable[None]]:
    async def checkpoint(name: str, subject: str) -> None:
        if name == point and subject == slug:
            raise Killed(f"{point} {slug}")

    return checkpoint


async def run(env: CrankEnv, ctx: CrankContext, *jobs: str) -> list[Any]:
    try:
        return await Daemon(ctx, jobs=list(jobs)).run_all_once()
    finally:
        await ctx.aclose()


async def assert_settled(env: CrankEnv, m: Listed, funded: int, supply_before: int) -> None:
    """Spent exactly once, everything bought burned, nothing stranded."""
    state = await env.model(m)
    assert state.usdc_spent == funded
    assert state.tokens_bought == state.tokens_burned > 0
    assert await env.balance(m.revenue_vault) == 0
    assert await env.balance(m.buyback_vault) == 0
    assert await env.supply(m.mint) == supply_before - state.tokens_bought


# -- kills ---------------------------------------------------------------------------------


async def test_kill_between_quote_and_send(env: CrankEnv) -> None:
    m = await env.add_model(env.slug("k-quote"), t22=True)
    await env.fund(m, 40 * USDC)
    supply, before = await env.supply(m.mint), await env.snapshot([m])
    expected = await env.pool_quote(m, 40 * USDC)
    config = env.crank_config([m])
    # When the daemon dies after quoting, before sending
    ctx = await build_context(
        config, keypair=env.crank, checkpoint=kill_at("buyback:quoted", m.slug)
    )
    with pytest.raises(Killed):
        await run(env, ctx, "buyback")
    assert ctx.transport is not None and ctx.transport.calls["sendTransaction"] == 0
    assert await env.snapshot([m]) == before
    # Then a fresh daemon re-quotes and buys once
    (outcome,) = await run(env, await build_context(config, keypair=env.crank), "buyback")
    assert outcome.status == "ok"
    await assert_settled(env, m, 40 * USDC, supply)
    assert (await env.model(m)).tokens_bought == expected


async def test_kill_after_buyback_before_burn(env: CrankEnv) -> None:
    m = await env.add_model(env.slug("k-burn"))
    await env.fund(m, 25 * USDC)
    supply = await env.supply(m.mint)
    config = env.crank_config([m])
    ctx = await build_context(
        config, keypair=env.crank, checkpoint=kill_at("buyback:bought", m.slug)
    )
    with pytest.raises(Killed):
        await run(env, ctx, "buyback")
    # The buyback landed, the burn did not
    state = await env.model(m)
    assert state.usdc_spent == 25 * USDC and state.tokens_burned == 0
    assert await env.balance(m.buyback_vault) == state.tokens_bought > 0
    # Then the next cycle burns the leftover first (the vault is empty: nothing to buy)
    (outcome,) = await run(env, await build_context(config, keypair=env.crank), "buyback")
    assert isinstance(outcome.report, BuybackReport)
    (r,) = outcome.report.results
    assert (r.outcome, r.reason, r.tokens_burned) == (
        "burned",
        "below_threshold",
        state.tokens_bought,
    )
    await assert_settled(env, m, 25 * USDC, supply)


class Inner(httpx2.AsyncBaseTransport):
    """The real HTTP transport under the daemon's failover transport, with hooks per call."""

    def __init__(
        self, hook: Callable[[str, httpx2.Request], Awaitable[httpx2.Response | None]] | None = None
    ) -> None:
        self.real = httpx2.AsyncHTTPTransport()
        self.hook = hook
        self.n = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.n += 1
        method = json.loads(request.content).get("method", "?")
        if self.hook is not None:
            answer = await self.hook(method, request)
            if answer is not None:
                return answer
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


async def test_kill_with_the_buyback_in_flight_never_doubles_it(env: CrankEnv) -> None:
    m = await env.add_model(env.slug("k-flight"))
    await env.fund(m, 30 * USDC)
    supply, before = await env.supply(m.mint), await env.snapshot([m])
    config = env.crank_config([m])

    async def die_on_send(method: str, request: httpx2.Request) -> httpx2.Response | None:
        if method == "sendTransaction":
            raise Killed("the packet is on its way; the process is not")
        return None

    # When the daemon dies as the signed buyback leaves (journaled; it never reaches the node)
    ctx = await build_context(config, keypair=env.crank, inner_transport=Inner(die_on_send))
    with pytest.raises(Killed):
        await run(env, ctx, "buyback")
    # Then a restarted daemon leaves the model alone while that transaction could still land
    (waiting,) = await run(env, await build_context(config, keypair=env.crank), "buyback")
    assert isinstance(waiting.report, BuybackReport)
    assert [(r.outcome, r.reason) for r in waiting.report.results] == [("skipped", "pending_tx")]
    assert await env.snapshot([m]) == before
    # And once its blockhash can no longer land, buys once
    await env.net.warp_time(65)
    (outcome,) = await run(env, await build_context(config, keypair=env.crank), "buyback")
    assert outcome.status == "ok"
    await assert_settled(env, m, 30 * USDC, supply)


async def test_cancelled_after_send_before_confirmation(env: CrankEnv) -> None:
    m = await env.add_model(env.slug("k-confirm"), t22=True)
    await env.fund(m, 35 * USDC)
    supply = await env.supply(m.mint)
    config = env.crank_config([m])
    inner = Inner()

    async def cancel_after_send(method: str, request: httpx2.Request) -> httpx2.Response | None:
        if method == "sendTransaction":
            answer = await inner.real.handle_async_request(request)  # it reaches the node
            task = asyncio.current_task()
            assert task is not None
            task.cancel()  # and the daemon is cancelled while it waits for confirmation
            return answer
        return None

    inner.hook = cancel_after_send
    ctx = await build_context(config, keypair=env.crank, inner_transport=inner)
    with pytest.raises(asyncio.CancelledError):
        await run(env, ctx, "buyback")
    state = await env.model(m)
    assert state.usdc_spent == 35 * USDC and state.tokens_burned == 0
    # The restarted daemon finds the journaled transaction landed, and burns what it bought
    (outcome,) = await run(env, await build_context(config, keypair=env.crank), "buyback")
    assert outcome.status == "ok"
    await assert_settled(env, m, 35 * USDC, supply)


async def test_kill_mid_harvest(env: CrankEnv) -> None:
    m = await env.add_model(env.slug("k-harvest"), t22=True)
    withheld = t22_fee(1_000_000 * USDC)
    for i in range(30):
        withheld += (await env.holder(m, (i + 3) * USDC))[1]
    config = env.crank_config([m])
    dest = await env.treasury_account(m.mint)
    ctx = await build_context(
        config, keypair=env.crank, checkpoint=kill_at("harvest:chunk", m.slug)
    )
    with pytest.raises(Killed):
        await run(env, ctx, "harvest")
    first = await env.balance(dest)
    assert 0 < first < withheld
    (outcome,) = await run(env, await build_context(config, keypair=env.crank), "harvest")
    assert isinstance(outcome.report, HarvestReport)
    (r,) = outcome.report.results
    assert r.outcome == "harvested" and r.sources == 11  # 31 sources: 20 before the kill
    assert await env.balance(dest) == withheld == first + r.harvested


# -- chain and RPC faults --------------------------------------------------------------------


async def test_expired_blockhash_is_rebuilt_and_resent(env: CrankEnv) -> None:
    m = await env.add_model(env.slug("expiry"))
    await env.fund(m, 15 * USDC)
    supply = await env.supply(m.mint)
    dropped: list[bytes] = []

    async def drop_first_send(method: str, request: httpx2.Request) -> httpx2.Response | None:
        if method == "sendTransaction" and not dropped:
            dropped.append(request.content)
            await env.net.warp_time(65)  # the lost transaction's blockhash expires
            await env.net.rpc("bourse_expireBlockhash")
            body = json.loads(request.content)
            sig = "1" * 64
            return httpx2.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": sig})
        return None

    ctx = await build_context(
        env.crank_config([m]), keypair=env.crank, inner_transport=Inner(drop_first_send)
    )
    (outcome,) = await run(env, ctx, "buyback")
    assert outcome.status == "ok" and dropped
    assert ctx.metrics.value("tx_sent_total", {"job": "buyback", "kind": "buyback"}) == 1
    await assert_settled(env, m, 15 * USDC, supply)


class Tampered:
    """The local pool venue, asking one more token than can arrive for one model."""

    def __init__(self, inner: LocalPoolVenue, victim: Pubkey) -> None:
        self.inner = inner
        self.victim = victim

    @property
    def name(self) -> str:
        return "tampered"

    async def quote(self, *args: Any, **kwargs: Any) -> Route:
        route = await self.inner.quote(*args, **kwargs)
        if kwargs["authority"] != self.victim:
            return route
        return dataclasses.replace(
            route, min_out=route.expected_out + 1, expected_out=route.expected_out + 1
        )


async def test_failed_simulation_skips_the_model_and_the_rest_goes_on(env: CrankEnv) -> None:
    bad, good = await env.add_model(env.slug("sim-bad")), await env.add_model(env.slug("sim-ok"))
    for m in (bad, good):
        await env.fund(m, 10 * USDC)
    bad_before, supply = await env.snapshot([bad]), await env.supply(good.mint)
    ctx = await build_context(env.crank_config([bad, good]), keypair=env.crank)
    assert isinstance(ctx.venue, LocalPoolVenue)
    ctx.venue = Tampered(ctx.venue, bad.address)
    daemon = Daemon(ctx, jobs=["buyback"])
    try:
        (outcome,) = await daemon.run_all_once()
    finally:
        await ctx.aclose()
    assert outcome.status == "failed" and exit_code([outcome]) == 1
    assert isinstance(outcome.report, BuybackReport)
    r_bad, r_good = sorted(outcome.report.results, key=lambda r: r.model != bad.slug)
    assert (r_bad.outcome, r_bad.reason) == ("failed", "SlippageExceeded")
    assert r_good.outcome == "bought"
    assert await env.snapshot([bad]) == bad_before
    await assert_settled(env, good, 10 * USDC, supply)
    assert (
        ctx.metrics.value(
            "model_outcomes_total",
            {"job": "buyback", "outcome": "failed", "reason": "SlippageExceeded"},
        )
        == 1
    )


def faults(
    rate: float, seed: int = 7
) -> Callable[[str, httpx2.Request], Awaitable[httpx2.Response | None]]:
    """A ``rate`` of requests fail (seeded, so reproducible): HTTP 503, a refused connection,
    a "node is behind" JSON-RPC error, or a response lost after the node processed it; and
    the first ``sendTransaction`` always lands with its response lost."""
    modes = itertools.cycle(["503", "connect", "behind", "lost"])
    rng = random.Random(seed)
    real = httpx2.AsyncHTTPTransport()

    async def hook(method: str, request: httpx2.Request) -> httpx2.Response | None:
        first_send = method == "sendTransaction" and not any(
            m == "sendTransaction"
            for m, _ in hook.injected  # type: ignore[attr-defined]
        )
        if rng.random() >= rate and not first_send:
            return None
        mode = "lost" if first_send else next(modes)
        hook.injected.append((method, mode))  # type: ignore[attr-defined]
        if mode == "503":
            return httpx2.Response(503, content=b"overloaded")
        if mode == "connect":
            raise httpx2.ConnectError("injected: connection refused", request=request)
        if mode == "behind":
            body = json.loads(request.content)
            err = {"code": -32005, "message": "Node is behind by 42 slots"}
            return httpx2.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "error": err})
        processed = await real.handle_async_request(request)
        await processed.aread()
        await processed.aclose()
        raise httpx2.ReadError("injected: response lost", request=request)

    hook.injected = []  # type: ignore[attr-defined]
    return hook


async def test_rpc_errors_fail_over_to_the_next_url(env: CrankEnv) -> None:
    models = [
        await env.add_model(env.slug("rpc-fo")),
        await env.add_model(env.slug("rpc-fo"), t22=True),
    ]
    supply = {m.slug: await env.supply(m.mint) for m in models}
    for m in models:
        await env.fund(m, 11 * USDC)
    url = env.net.rpc_url
    hook = faults(0.3)

    async def only_primary(method: str, request: httpx2.Request) -> httpx2.Response | None:
        # The primary (a distinct spelling of the same node) is flaky; the backup is fine.
        return await hook(method, request) if "localhost" in str(request.url) else None

    primary = url.replace("127.0.0.1", "localhost")
    config = env.crank_config(models).replace(rpc_urls=(primary, url))
    config = config.replace(send=dataclasses.replace(config.send, endpoint_cooloff_secs=0.0))
    ctx = await build_context(config, keypair=env.crank, inner_transport=Inner(only_primary))
    (outcome,) = await run(env, ctx, "buyback")
    assert outcome.status == "ok"
    for m in models:
        await assert_settled(env, m, 11 * USDC, supply[m.slug])
    assert ctx.transport is not None and sum(ctx.transport.errors.values()) > 0
    assert ctx.metrics.value("rpc_failovers_total") > 0


async def test_rpc_errors_without_failover_never_double_spend(env: CrankEnv) -> None:
    models = [
        await env.add_model(env.slug("rpc-raw")),
        await env.add_model(env.slug("rpc-raw"), t22=True),
        await env.add_model(env.slug("rpc-raw")),
    ]
    funded = [13 * USDC, 17 * USDC, 19 * USDC]
    supply = {m.slug: await env.supply(m.mint) for m in models}
    for m, amount in zip(models, funded, strict=True):
        await env.fund(m, amount)
    config = env.crank_config(models)
    config = config.replace(send=dataclasses.replace(config.send, rpc_attempts=1))
    hook = faults(0.07)
    statuses = []
    # Cycles with one attempt per request and 7% of requests failing, until settled
    for _ in range(20):
        try:
            ctx = await build_context(config, keypair=env.crank, inner_transport=Inner(hook))
        except (SolanaRpcException, RPCException):  # the start-up read hit a fault
            statuses.append("setup")
            continue
        (outcome,) = await run(env, ctx, "buyback")
        statuses.append(outcome.status)
        done = [
            await env.balance(m.revenue_vault) == 0 and await env.balance(m.buyback_vault) == 0
            for m in models
        ]
        if all(done):
            break
    assert any(s != "ok" for s in statuses), statuses  # faults did hit
    assert ("sendTransaction", "lost") in hook.injected  # type: ignore[attr-defined]
    # When the faults stop and any journaled transaction's blockhash has expired (a send
    # that failed before reaching the node keeps its model waiting until then)
    await env.net.warp_time(65)
    (final,) = await run(env, await build_context(config, keypair=env.crank), "buyback")
    assert final.status == "ok"
    for m, amount in zip(models, funded, strict=True):
        await assert_settled(env, m, amount, supply[m.slug])


async def test_fee_budget_exhausted_sends_nothing(env: CrankEnv) -> None:
    m = await env.add_model(env.slug("budget"))
    await env.fund(m, 10 * USDC)
    before = await env.snapshot([m])
    config = env.crank_config([m])
    config = config.replace(
        send=dataclasses.replace(config.send, daily_fee_budget_sol=Decimal("0.000004"))
    )
    ctx = await build_context(config, keypair=env.crank)
    (outcome,) = await run(env, ctx, "buyback")
    assert isinstance(outcome.report, BuybackReport)
    (r,) = outcome.report.results
    assert (r.outcome, r.reason) == ("failed", FeeBudgetExhausted.__name__)
    assert await env.snapshot([m]) == before


# -- two daemons, signals --------------------------------------------------------------------


async def test_second_daemon_on_the_same_key_waits_its_turn(env: CrankEnv) -> None:
    m = await env.add_model(env.slug("two"))
    await env.fund(m, 21 * USDC)
    supply = await env.supply(m.mint)
    config = env.crank_config([m])
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold(name: str, subject: str) -> None:
        if name == "buyback:quoted":
            holding.set()
            await release.wait()

    a = await build_context(config, keypair=env.crank, checkpoint=hold)
    first = asyncio.create_task(run(env, a, "buyback"))
    await asyncio.wait_for(holding.wait(), 30)
    # A second daemon (same key, same host) started while the first is mid-job: skips
    b = await build_context(config, keypair=env.crank)
    (second,) = await run(env, b, "buyback")
    assert second.status == "locked" and exit_code([second]) == 75
    assert b.transport is not None and b.transport.calls["getProgramAccounts"] == 0
    # ... and so does another process
    config_file = _write_config(env, m, config.state_dir)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cranks",
        "run",
        "--once",
        "--job",
        "buyback",
        cwd=ROOT,
        env={
            **os.environ,
            "BOURSE_CRANK_CONFIG": str(config_file),
            "BOURSE_CRANK_LOG_FORMAT": "text",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 75, err.decode()
    release.set()
    (done,) = await first
    assert done.status == "ok"
    await assert_settled(env, m, 21 * USDC, supply)
    # Later, with new revenue, the other process runs and sends nothing (cooldown): exit 0
    await env.fund(m, 4 * USDC)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cranks",
        "run",
        "--once",
        "--job",
        "buyback",
        cwd=ROOT,
        env={**os.environ, "BOURSE_CRANK_CONFIG": str(config_file)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    assert any(x.get("event") == "model_result" and x.get("reason") == "cooldown" for x in lines)
    assert (await env.model(m)).usdc_spent == 21 * USDC
    assert await env.balance(m.revenue_vault) == 4 * USDC


def _write_config(env: CrankEnv, m: Listed, state_dir: str) -> Path:
    path = Path(state_dir).parent / f"{m.slug}.toml"
    path.write_text(
        f'rpc_urls = ["{env.net.rpc_url}"]\n'
        f'keypair = "{env.net.keypair_paths["crank"]}"\n'
        f'state_dir = "{state_dir}"\n'
        "[send]\npoll_interval_secs = 0.05\n"
        f'[buyback]\nthreshold_usdc = 1\nmodels = ["{m.slug}"]\n'
        # the process tests buy in their first cycle: no reference price warm-up
        "reference_min_observations = 0\n"
        "[metrics]\nenabled = false\n"
    )
    return path


async def test_sigterm_lets_the_transaction_in_flight_finish(env: CrankEnv) -> None:
    first, second = await env.add_model(env.slug("sig-a")), await env.add_model(env.slug("sig-b"))
    for m in (first, second):
        await env.fund(m, 12 * USDC)
    supply, untouched = await env.supply(first.mint), await env.snapshot([second])

    async def sigterm_mid_job(name: str, subject: str) -> None:
        if name == "buyback:bought" and subject == first.slug:
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(0.05)  # the handler runs; the burn is still to come

    ctx = await build_context(
        env.crank_config([first, second]), keypair=env.crank, checkpoint=sigterm_mid_job
    )
    daemon = Daemon(ctx, jobs=["buyback"])
    try:
        await asyncio.wait_for(daemon.serve(), 60)  # returns once stopped
    finally:
        await ctx.aclose()
    # The model in flight was finished (bought and burned); the next one was not started
    await assert_settled(env, first, 12 * USDC, supply)
    assert await env.snapshot([second]) == untouched
    assert daemon.health.jobs["buyback"].last_outcome == "ok"


async def test_the_daemon_process_serves_and_stops_on_sigterm(env: CrankEnv) -> None:
    m = await env.add_model(env.slug("proc"))
    await env.fund(m, 6 * USDC)
    supply = await env.supply(m.mint)
    state_dir = str(env.tmp / "proc-state")
    path = _write_config(env, m, state_dir)
    path.write_text(
        path.read_text().replace("[metrics]\nenabled = false\n", "[metrics]\nport = 0\n")
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cranks",
        "run",
        "--config",
        str(path),
        "--job",
        "buyback",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    events: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(60):
            while not any(e.get("event") == "job_finished" for e in events):
                line = await proc.stderr.readline()
                assert line, "the daemon exited early"
                events.append(json.loads(line))
        port = next(e["port"] for e in events if e.get("event") == "metrics_listening")
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/health") as resp,
        ):
            assert resp.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(proc.communicate(), 60)
    # It stopped cleanly, after its first cycle had bought and burned
    assert proc.returncode == 0
    assert any(json.loads(x).get("event") == "daemon_stopped" for x in rest.splitlines())
    await assert_settled(env, m, 6 * USDC, supply)
