"""One daemon cycle on the localnet: SPL and Token-2022 models with funded revenue vaults are
bought back through the ``cp_pool`` pool and burned; balances, supply and the model totals
are exact. Then: the cooldown skips without sending, the per-call caps, harvest of withheld
Token-2022 fees, a dry run that moves nothing, and the /metrics + /health endpoint."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
from spl.token.constants import TOKEN_2022_PROGRAM_ID

from bourse_chain.client import memcmp
from bourse_chain.token_layout import decode_mint, decode_token_account
from bourse_ops.sandbox.crank_env import (
    USDC,
    CrankEnv,
    Listed,
    sent_for_arrived,
    start_env,
    t22_fee,
)
from cranks.buyback import BuybackReport
from cranks.config import MetricsSettings
from cranks.daemon import Daemon, build_context, exit_code
from cranks.harvest import HarvestReport

CAP = 400 * USDC


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CrankEnv]:
    async with start_env(
        tmp_path_factory.mktemp("crank-cycle"), max_buyback_per_call=CAP, cooldown_secs=3600
    ) as e:
        yield e


async def test_one_cycle_buys_back_and_burns_spl_and_token2022_models(env: CrankEnv) -> None:
    # Given two SPL and two Token-2022 models with funded vaults, and one below the threshold
    models = [
        await env.add_model(env.slug("cyc-spl")),
        await env.add_model(env.slug("cyc-spl")),
        await env.add_model(env.slug("cyc-t22"), t22=True),
        await env.add_model(env.slug("cyc-t22"), t22=True),
    ]
    low = await env.add_model(env.slug("cyc-low"))
    funding = [12 * USDC, 250 * USDC + 17, 33 * USDC + 1, 90 * USDC]
    for m, amount in zip(models, funding, strict=True):
        await env.fund(m, amount)
    await env.fund(low, USDC // 2)
    expected = {m.slug: await env.pool_quote(m, a) for m, a in zip(models, funding, strict=True)}
    supply = {m.slug: await env.supply(m.mint) for m in models}
    pool_usdc = {m.slug: await env.balance(m.pool_usdc) for m in models}
    low_before = await env.snapshot([low])

    # When one daemon cycle runs
    ctx = await build_context(env.crank_config([*models, low]), keypair=env.crank)
    try:
        daemon = Daemon(ctx, jobs=["buyback"])
        (outcome,) = await daemon.run_all_once()
    finally:
        await ctx.aclose()

    # Then every funded model was bought back with its whole vault and everything burned
    assert outcome.status == "ok" and exit_code([outcome]) == 0
    report = outcome.report
    assert isinstance(report, BuybackReport)
    assert report.listed == 5 and report.scanned == 5
    by_slug = {r.model: r for r in report.results}
    for m, amount in zip(models, funding, strict=True):
        r = by_slug[m.slug]
        arrived = expected[m.slug]
        assert (r.outcome, r.usdc_spent, r.tokens_bought, r.tokens_burned) == (
            "bought",
            amount,
            arrived,
            arrived,
        ), r
        assert await env.balance(m.revenue_vault) == 0
        assert await env.balance(m.buyback_vault) == 0
        assert await env.balance(m.pool_usdc) == pool_usdc[m.slug] + amount
        assert await env.supply(m.mint) == supply[m.slug] - arrived
        state = await env.model(m)
        assert (state.usdc_spent, state.tokens_bought, state.tokens_burned) == (
            amount,
            arrived,
            arrived,
        )
        assert state.last_buyback_ts > 0
    # The Token-2022 transfer fee reduced what arrived
    t22 = models[2]
    assert expected[t22.slug] < await _nominal_out(env, t22, funding[2])
    # Below the threshold: skipped, nothing moved
    assert by_slug[low.slug].outcome == "skipped"
    assert by_slug[low.slug].reason == "below_threshold"
    assert await env.snapshot([low]) == low_before
    assert ctx.metrics.value("usdc_spent_total", {"model": models[1].slug}) == funding[1]
    assert ctx.metrics.value("tx_sent_total", {"job": "buyback", "kind": "burn"}) == 4


async def _nominal_out(env: CrankEnv, m: Listed, amount_in: int) -> int:
    """What the pool would send before the Token-2022 fee (undo the fee of pool_quote)."""
    return sent_for_arrived(await env.pool_quote(m, amount_in))


async def test_cooldown_skips_without_sending_and_caps_split_the_vault(env: CrankEnv) -> None:
    # Given a model holding more than the program's per-call cap
    m = await env.add_model(env.slug("cap"))
    await env.fund(m, CAP + 123 * USDC)
    config = env.crank_config([m])
    ctx = await build_context(config, keypair=env.crank)
    try:
        daemon = Daemon(ctx, jobs=["buyback"])
        # When the first cycle runs: exactly the cap is spent
        (first,) = await daemon.run_all_once()
        assert first.status == "ok"
        assert (await env.model(m)).usdc_spent == CAP
        assert await env.balance(m.revenue_vault) == 123 * USDC
        sent = ctx.metrics.value("tx_sent_total", {"job": "buyback", "kind": "buyback"})
        # When a second cycle runs within the cooldown: skipped, no transaction at all
        (second,) = await daemon.run_all_once()
        assert isinstance(second.report, BuybackReport)
        (r,) = second.report.results
        assert (r.outcome, r.reason) == ("skipped", "cooldown")
        assert ctx.metrics.value("tx_sent_total", {"job": "buyback", "kind": "buyback"}) == sent
        assert ctx.transport is not None and ctx.transport.calls["sendTransaction"] == 2
    finally:
        await ctx.aclose()
    # When the cooldown has passed, our own smaller cap applies
    await env.net.warp_time(3601)
    ctx = await build_context(
        env.crank_config([m], max_per_call_usdc=Decimal(100)), keypair=env.crank
    )
    try:
        (third,) = await Daemon(ctx, jobs=["buyback"]).run_all_once()
    finally:
        await ctx.aclose()
    assert third.status == "ok"
    assert (await env.model(m)).usdc_spent == CAP + 100 * USDC
    assert await env.balance(m.revenue_vault) == 23 * USDC


async def test_harvest_withdraws_every_withheld_fee_to_the_treasury(env: CrankEnv) -> None:
    # Given a Token-2022 model whose token moved: fees withheld in the pool vault (deposit),
    # in 25 holders' accounts, and in the buyback vault after a buyback
    m = await env.add_model(env.slug("hv"), t22=True)
    withheld = t22_fee(1_000_000 * USDC)  # the pool deposit
    for i in range(25):
        _, fee = await env.holder(m, (i + 1) * 10 * USDC)
        withheld += fee
    await env.fund(m, 50 * USDC)
    ctx = await build_context(env.crank_config([m]), keypair=env.crank)
    try:
        daemon = Daemon(ctx, jobs=["buyback", "harvest"])
        outcomes = await daemon.run_all_once()
    finally:
        await ctx.aclose()
    assert [o.status for o in outcomes] == ["ok", "ok"]
    bought = (await env.model(m)).tokens_bought
    withheld += t22_fee(
        sent_for_arrived(bought)
    )  # withheld in the buyback vault by the buyback's transfer
    report = outcomes[1].report
    assert isinstance(report, HarvestReport)
    (r,) = report.results
    # Then: 27 sources (pool vault, 25 holders, buyback vault) in two transactions (20 + 7),
    # the treasury's account created and credited with every fee, nothing left withheld
    assert (r.outcome, r.sources, len(r.signatures)) == ("harvested", 27, 2)
    dest = await env.treasury_account(m.mint)
    assert await env.balance(dest) == withheld == r.harvested
    mint = bytes((await env.rpc.get_account_info(m.mint)).value.data)  # type: ignore[union-attr]
    assert decode_mint(mint).withheld == 0
    accounts = await env.rpc.get_program_accounts(
        TOKEN_2022_PROGRAM_ID, encoding="base64", filters=[memcmp(0, m.mint)]
    )
    # creator, 25 holders, pool vault, buyback vault, treasury
    assert len(accounts.value) == 29
    assert all(decode_token_account(bytes(a.account.data)).withheld == 0 for a in accounts.value)
    # And a second harvest finds nothing
    ctx = await build_context(env.crank_config([m]), keypair=env.crank)
    try:
        (again,) = await Daemon(ctx, jobs=["harvest"]).run_all_once()
    finally:
        await ctx.aclose()
    assert isinstance(again.report, HarvestReport)
    assert again.report.results[0].reason == "nothing_withheld"
    assert await env.balance(dest) == withheld


async def test_dry_run_simulates_and_moves_nothing(env: CrankEnv) -> None:
    # Given funded SPL and Token-2022 models, and bought tokens left unburned in one
    models = [await env.add_model(env.slug("dry")), await env.add_model(env.slug("dry"), t22=True)]
    for m in models:
        await env.fund(m, 20 * USDC)
    await env.holder(models[1], 5 * USDC)
    before = await env.snapshot(models)
    # When the daemon runs --once --dry-run
    ctx = await build_context(env.crank_config(models), keypair=env.crank, dry_run=True)
    try:
        outcomes = await Daemon(ctx, jobs=["buyback", "harvest"]).run_all_once()
    finally:
        await ctx.aclose()
    # Then it simulated everything, sent nothing, and nothing moved
    assert [o.status for o in outcomes] == ["ok", "ok"]
    buy = outcomes[0].report
    assert isinstance(buy, BuybackReport)
    assert [r.outcome for r in buy.results] == ["simulated", "simulated"]
    assert all("would spend 20.000000 USDC" in r.detail for r in buy.results)
    hv = outcomes[1].report
    assert isinstance(hv, HarvestReport) and hv.results[0].outcome == "simulated"
    assert ctx.transport is not None and ctx.transport.calls["sendTransaction"] == 0
    assert await env.snapshot(models) == before


async def test_metrics_and_health_endpoint(env: CrankEnv) -> None:
    m = await env.add_model(env.slug("metrics"))
    await env.fund(m, 3 * USDC)
    ctx = await build_context(env.crank_config([m]), keypair=env.crank)
    daemon = Daemon(ctx, jobs=["buyback"])
    serving = asyncio.create_task(daemon.serve(install_signals=False))
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                await asyncio.sleep(0.05)
                if daemon.server is not None and daemon.health.jobs["buyback"].last_success:
                    break
            assert daemon.server is not None
            async with http.get(daemon.server.url + "/health") as resp:
                body = await resp.json()
                assert resp.status == 200 and body["status"] == "ok"
                assert body["jobs"]["buyback"]["last_outcome"] == "ok"
            async with http.get(daemon.server.url + "/metrics") as resp:
                text = await resp.text()
        assert f'bourse_crank_usdc_spent_total{{model="{m.slug}"}} 3e+06' in text
        assert 'bourse_crank_last_success_timestamp_seconds{job="buyback"}' in text
        assert 'bourse_crank_rpc_requests_total{method="getMultipleAccounts"}' in text
    finally:
        daemon.request_stop()
        await serving
        await ctx.aclose()
    assert (await env.model(m)).usdc_spent == 3 * USDC


async def test_scheduler_repeats_each_job_on_its_interval(env: CrankEnv) -> None:
    # Jobs on short intervals, over no model at all (an allow-list naming none)
    config = env.crank_config([]).replace(metrics=MetricsSettings(enabled=False))
    config = config.replace(
        buyback=dataclasses.replace(config.buyback, interval_secs=0.2, models=("none",)),
        harvest=dataclasses.replace(config.harvest, interval_secs=0.3, models=("none",)),
    )
    ctx = await build_context(config, keypair=env.crank)
    daemon = Daemon(ctx)  # the enabled jobs
    assert list(daemon.jobs) == ["buyback", "harvest"]
    serving = asyncio.create_task(daemon.serve(install_signals=False))
    try:
        await asyncio.sleep(1.3)
    finally:
        daemon.request_stop()
        await serving
        await ctx.aclose()
    runs = ctx.metrics.value("job_runs_total", {"job": "buyback", "outcome": "ok"})
    assert 3 <= runs <= 8, runs
    assert ctx.metrics.value("job_runs_total", {"job": "harvest", "outcome": "ok"}) >= 3
