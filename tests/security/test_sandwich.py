"""Issue 11, item 5: the buyback is not sandwichable. The real daemon (``Daemon.run_all_once``,
a fresh process per cycle, its state on disk) buys back through ``cp_pool`` on the localnet
while an attacker trades the same pool with its own transactions. Balances are exact: every
expected amount is the pool's integer math on reserves read from the chain.

* control: with the reference guard off (the old crank), buying 10,000 USDC of the token
  before the crank quotes and selling after makes the issue's 270.05 USDC on a 400 USDC
  buyback;
* with the guard (the crank's defaults): no buyback before the reference price exists; the
  same attack after warm-up is refused (nothing spent) and loses the attacker two pool fees;
  the next honest cycle buys a depth-sized amount within the tolerance of the fair price;
* a move between the quote and the transaction: the program refuses the buyback, because
  ``min_out`` is floored at the reference (the old crank sent the quote's ``min_out``);
* a venue answering ``outAmount = 1`` (a lying quote API): refused, nothing sent.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import AsyncIterator
from fractions import Fraction
from typing import Any

import pytest
import typer
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID

from bourse_chain import pools
from bourse_chain.generated.compute_market.accounts import Config
from bourse_chain.money import ceil_div
from bourse_cli import admin as admin_cli
from bourse_ops import admin as admin_ops
from bourse_ops.sandbox.crank_env import (
    POOL_FEE_BPS,
    USDC,
    CrankEnv,
    Listed,
    Trader,
    start_env,
)
from bourse_ops.sandbox.svm_chain import Market as SvmMarket
from bourse_ops.sandbox.svm_chain import new_chain
from cranks.buyback import BuybackReport, ModelResult
from cranks.config import CrankConfig
from cranks.daemon import Daemon, build_context
from cranks.reference import deviation_bps
from cranks.state import CrankState
from cranks.venues.base import Route
from cranks.venues.local_pool import LocalPoolVenue

CAP = 400 * USDC  # the program's per-call cap, as in the issue
ATTACK = 10_000 * USDC
COOLDOWN = 3_600
CYCLE = 300  # the daemon's default interval; more than the 240 s observation spacing
GUARDED: dict[str, Any] = {"reference_min_observations": 3}
TOLERANCE = 25  # the crank's default max_price_deviation_bps


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CrankEnv]:
    async with start_env(
        tmp_path_factory.mktemp("sandwich"), max_buyback_per_call=CAP, cooldown_secs=COOLDOWN
    ) as e:
        yield e


def cp_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """cp_pool's output for ``amount_in`` (fee on the input, rounded up; output down)."""
    fee = ceil_div(amount_in * POOL_FEE_BPS, 10_000)
    return reserve_out * (amount_in - fee) // (reserve_in + amount_in - fee)


async def attacker_buys(env: CrankEnv, m: Listed, a: Trader, amount: int) -> int:
    """Returns the tokens bought, checked against the pool's math."""
    r_usdc, r_tokens = await env.reserves(m)
    bought = await env.buy_tokens(a, m, amount)
    assert bought == cp_out(amount, r_usdc, r_tokens)
    return bought


async def attacker_sells(env: CrankEnv, m: Listed, a: Trader) -> None:
    amount = await env.balance(a.tokens)
    r_usdc, r_tokens = await env.reserves(m)
    assert await env.sell_tokens(a, m) == cp_out(amount, r_tokens, r_usdc)
    assert await env.balance(a.tokens) == 0


async def cycle(env: CrankEnv, config: CrankConfig, **kw: Any) -> ModelResult:
    """One buyback run of the real daemon, in a fresh context (a restarted process)."""
    ctx = await build_context(config, keypair=env.crank, **kw)
    try:
        (outcome,) = await Daemon(ctx, jobs=["buyback"]).run_all_once()
    finally:
        await ctx.aclose()
    assert isinstance(outcome.report, BuybackReport)
    (result,) = outcome.report.results
    return result


async def crank_buy_is_exact(env: CrankEnv, m: Listed, r: ModelResult, vault: int) -> None:
    """What the cycle reported bought is what the chain shows, burned."""
    assert r.outcome == "bought" and 0 < r.usdc_spent <= CAP
    assert await env.balance(m.revenue_vault) == vault - r.usdc_spent
    assert await env.balance(m.buyback_vault) == 0
    state = await env.model(m)
    assert state.tokens_bought == state.tokens_burned


async def test_control_without_the_guard_the_issue_s_sandwich_pays(env: CrankEnv) -> None:
    # Given a model with 400 USDC of revenue and the old crank (no reference price)
    m = await env.add_model(env.slug("sw-off"))
    await env.fund(m, CAP)
    a = await env.trader(m, ATTACK)
    r_usdc, r_tokens = await env.reserves(m)
    fair = cp_out(CAP, r_usdc, r_tokens)
    # When the attacker buys 10,000 USDC of the token before the cycle and sells after
    await attacker_buys(env, m, a, ATTACK)
    moved_usdc, moved_tokens = await env.reserves(m)
    r = await cycle(env, env.crank_config([m]))
    await attacker_sells(env, m, a)
    # Then the crank spent the whole cap at the moved price: 25.5% of the fair amount
    assert (r.outcome, r.usdc_spent) == ("bought", CAP)
    assert r.tokens_bought == cp_out(CAP, moved_usdc, moved_tokens)
    assert 0.255 < r.tokens_bought / fair < 0.256
    # and the attacker made the issue's 270.05 USDC
    profit = await env.balance(a.usdc) - ATTACK
    assert round(profit / USDC, 2) == 270.05


async def test_the_sandwich_is_refused_and_the_attacker_loses(env: CrankEnv) -> None:
    # Given a model with 400 USDC of revenue and the guarded crank
    m = await env.add_model(env.slug("sw-on"))
    await env.fund(m, CAP)
    config = env.crank_config([m], **GUARDED)
    a = await env.trader(m, ATTACK)
    r_usdc, r_tokens = await env.reserves(m)
    before = await env.snapshot([m])
    # When two cycles run: no buyback while the reference price is being observed
    for _ in range(2):
        r = await cycle(env, config)
        assert (r.outcome, r.reason) == ("skipped", "reference_warming_up")
        await env.net.warp_time(CYCLE)
    assert await env.snapshot([m]) == before
    # When the attacker buys 10,000 USDC before the third cycle and sells after it
    bought = await attacker_buys(env, m, a, ATTACK)
    r = await cycle(env, config)
    await attacker_sells(env, m, a)
    # Then the crank bought nothing (the price was ~75% off the reference) ...
    assert (r.outcome, r.reason, r.usdc_spent) == ("skipped", "price_deviation", 0)
    assert await env.balance(m.revenue_vault) == CAP
    assert (await env.model(m)).usdc_spent == 0
    # ... and the attacker lost two pool fees: exactly its round trip with nothing between
    after_buy_usdc, after_buy_tokens = r_usdc + ATTACK, r_tokens - bought
    back = cp_out(bought, after_buy_tokens, after_buy_usdc)
    assert await env.balance(a.usdc) == back < ATTACK
    # When the next cycle runs on the honest price (the pool kept the attacker's fees)
    await env.net.warp_time(CYCLE)
    r_usdc, r_tokens = await env.reserves(m)
    fair = Fraction(cp_out(USDC, r_usdc, r_tokens), USDC)  # tokens per micro-USDC
    r = await cycle(env, config)
    # Then it buys an amount sized to the pool's depth, within 25 bps of the fair price
    await crank_buy_is_exact(env, m, r, CAP)
    assert r.tokens_bought == cp_out(r.usdc_spent, r_usdc, r_tokens)
    assert await env.reserves(m) == (r_usdc + r.usdc_spent, r_tokens - r.tokens_bought)
    assert r.usdc_spent < CAP // 10
    assert deviation_bps(fair, r.usdc_spent, r.tokens_bought) <= TOLERANCE + 1


async def test_a_move_after_the_quote_is_refused_by_the_program(env: CrankEnv) -> None:
    # Given a warmed-up guarded crank and an attacker with a move inside the quote's 1%
    # slippage but beyond the 25 bps tolerance (about 0.6% on a 10,000 USDC pool)
    m = await env.add_model(env.slug("sw-post"))
    await env.fund(m, CAP)
    config = env.crank_config([m], **GUARDED)
    for _ in range(2):
        await cycle(env, config)
        await env.net.warp_time(CYCLE)
    a = await env.trader(m, 30 * USDC)
    vault, before = await env.balance(m.revenue_vault), await env.model(m)
    # When the attacker's buy lands between the crank's quote and its transaction
    moved: list[int] = []

    async def front_run(point: str, slug: str) -> None:
        if point == "buyback:quoted" and slug == m.slug:
            moved.append(await attacker_buys(env, m, a, 30 * USDC))

    r = await cycle(env, config, checkpoint=front_run)
    await attacker_sells(env, m, a)
    # Then the program refused the buyback: min_out was the reference less 25 bps
    assert moved and (r.outcome, r.reason) == ("failed", "SlippageExceeded"), r
    assert r.detail.startswith("compute_market: SlippageExceeded (6029")  # not cp_pool's
    assert await env.balance(m.revenue_vault) == vault
    assert (await env.model(m)).usdc_spent == before.usdc_spent
    assert await env.balance(a.usdc) < 30 * USDC  # the attacker paid two pool fees


class LyingVenue:
    """A quote API that says ``outAmount = 1`` with no price impact (``priceImpactPct``
    "0"), its swap asking ``min_out = 1``: the issue's hostile or broken Jupiter answer."""

    def __init__(self, env: CrankEnv, lie_after: int) -> None:
        async def fetch(address: Pubkey) -> bytes | None:
            account = (await env.rpc.get_account_info(address)).value
            return None if account is None else bytes(account.data)

        self.real = LocalPoolVenue(fetch)
        self.calls = 0
        self.lie_after = lie_after

    @property
    def name(self) -> str:
        return self.real.name

    async def quote(
        self,
        input_mint: Pubkey,
        output_mint: Pubkey,
        amount_in: int,
        slippage_bps: int,
        **accounts: Pubkey,
    ) -> Route:
        route = await self.real.quote(input_mint, output_mint, amount_in, slippage_bps, **accounts)
        self.calls += 1
        if self.calls <= self.lie_after:
            return route
        swap = pools.swap(
            accounts["authority"],
            pools.Side(input_mint, TOKEN_PROGRAM_ID, accounts["source"]),
            pools.Side(output_mint, TOKEN_PROGRAM_ID, accounts["destination"]),
            amount_in,
            1,
        )
        return dataclasses.replace(
            route, data=bytes(swap.data), expected_out=1, min_out=1, price_impact=0.0
        )


async def test_a_lying_quote_is_refused(env: CrankEnv) -> None:
    # Given a model and a venue that is honest for the three probes of the warm-up
    m = await env.add_model(env.slug("sw-lie"))
    await env.fund(m, CAP)
    config = env.crank_config([m], **GUARDED)
    liar = LyingVenue(env, lie_after=2)
    for _ in range(2):
        r = await cycle(env, config, venue=liar)
        await env.net.warp_time(CYCLE)
    before = await env.snapshot([m])
    # When the venue starts answering outAmount = 1 (probe and quote alike)
    r = await cycle(env, config, venue=liar, checkpoint=_fail_if_quoted)
    # Then the buyback is refused before anything is sent
    assert (r.outcome, r.reason) == ("skipped", "price_deviation")
    assert await env.snapshot([m]) == before


async def _fail_if_quoted(point: str, slug: str) -> None:
    raise AssertionError(f"a lying quote reached {point} for {slug}")


def test_a_new_config_limits_buybacks_by_default() -> None:
    """The program only requires min_out > 0, so its own limits bound what a rogue or
    unguarded crank key can spend: a config created with the defaults (the library,
    ``bourse admin init``, ``bourse_ops.admin.init_config``) has a cap and a cooldown."""
    c = new_chain()
    settler, crank, treasury = (c.new_wallet() for _ in range(3))
    m = SvmMarket(usdc_mint=c.usdc_mint, treasury_authority=treasury.pubkey())
    c.send([m.initialize_config(c.admin.pubkey(), settler.pubkey(), crank.pubkey())], [c.admin])
    data = c.data(m.config)
    assert data is not None
    config = Config.decode(data)
    assert (config.max_buyback_per_call, config.buyback_cooldown_secs) == (500 * USDC, 900)
    # The operator tools default to the same limits
    init = typer.main.get_command(admin_cli.app).commands["init"]  # type: ignore[attr-defined]
    defaults = {p.name: p.default for p in init.params}
    assert (defaults["max_buyback"], defaults["cooldown"]) == ("500", 900)
    params = inspect.signature(admin_ops.init_config).parameters
    assert params["max_buyback_per_call"].default == config.max_buyback_per_call
    assert params["buyback_cooldown_secs"].default == config.buyback_cooldown_secs


async def test_observations_persist_across_restarts_and_a_dry_run_records_none(
    env: CrankEnv,
) -> None:
    m = await env.add_model(env.slug("sw-state"))
    await env.fund(m, CAP)
    config = env.crank_config([m], **GUARDED)
    state = CrankState(config.state_path / f"{env.crank.pubkey()}.json")
    key = f"{m.address}:local_pool"
    # Two cycles (each a fresh process) record two observations, 300 s apart on chain
    for _ in range(2):
        await cycle(env, config)
        await env.net.warp_time(CYCLE)
    assert len(state.observations(key)) == 2
    # A dry run sees the third (and would buy) but records nothing
    ctx = await build_context(config, keypair=env.crank, dry_run=True)
    try:
        (outcome,) = await Daemon(ctx, jobs=["buyback"]).run_all_once()
    finally:
        await ctx.aclose()
    assert isinstance(outcome.report, BuybackReport)
    assert [(r.outcome, r.reason) for r in outcome.report.results] == [("simulated", "dry_run")]
    assert len(state.observations(key)) == 2
    # The live cycle records it and buys; one right after records nothing (spacing)
    r = await cycle(env, config)
    assert r.outcome == "bought" and len(state.observations(key)) == 3
    r = await cycle(env, config)
    assert r.reason == "cooldown" and len(state.observations(key)) == 3
