"""Track B for a SOL-paired coin (ClawPump-like: legacy SPL mint, curve quoted in SOL) through
the real crank daemon over JSON-RPC on the embedded localnet. The coin is listed with its mint
pinned (``bourse_ops.track_b``: checked, attached), its revenue vault funded; one cycle
(``venue = "pump"``, ``sol_venue = "local_pool"``) prepays the buyer PDA and its volume
accumulator, sends ``buyback_sol`` (USDC -> WSOL on the cp_pool WSOL/USDC pool, unwrapped
into the buyer PDA, ``buy_exact_sol_in`` on the curve) and burns what arrived. USDC, lamports
and tokens are exact to the unit; a second cycle spends what the first left in the buyer PDA."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT

from bourse_chain import pools, pump_curve, pump_sol
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_chain.generated.pump import PROGRAM_ID as PUMP_ID
from bourse_ops import track_b
from bourse_ops.common import Session
from bourse_ops.sandbox import pump_venue
from bourse_ops.sandbox.crank_env import USDC, CrankEnv, Listed, start_env
from cranks.buyback import BuybackReport, ModelResult
from cranks.config import JupiterSettings
from cranks.daemon import Daemon, build_context
from cranks.venues.base import min_out_after_slippage
from cranks.venues.local_pool import quote_exact_in
from tests.fakes.jupiter_localnet import LocalnetJupiter

SOL = 1_000_000_000
SLIPPAGE = 100


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CrankEnv]:
    async with start_env(tmp_path_factory.mktemp("crank-track-b-sol"), cooldown_secs=0) as e:
        yield e


async def _cycle(env: CrankEnv, model: Listed, jupiter: LocalnetJupiter | None) -> ModelResult:
    sol_venue = "local_pool" if jupiter is None else "jupiter"
    config = env.crank_config(
        [model],
        name=f"state-{sol_venue}",
        venue="pump",
        sol_venue=sol_venue,
        max_price_impact_bps=9_000,
    )
    if jupiter is not None:
        config = config.replace(jupiter=JupiterSettings(base_url=jupiter.base_url, api="build"))
    ctx = await build_context(config, keypair=env.crank)
    try:
        (outcome,) = await Daemon(ctx, jobs=["buyback"]).run_all_once()
    finally:
        await ctx.aclose()
    report = outcome.report
    assert outcome.status == "ok" and isinstance(report, BuybackReport)
    (result,) = report.results
    return result


@pytest.mark.parametrize("sol_venue", ["local_pool", "jupiter"])
async def test_crank_buys_a_sol_paired_coin_on_the_curve(env: CrankEnv, sol_venue: str) -> None:
    """The USDC -> SOL leg on the cp_pool venue, or on the Jupiter stand-in (its Swap API over
    the same pool, the route's source rewritten to the revenue vault)."""
    if sol_venue == "local_pool":
        await _flow(env, None)
        return

    async def fetch(address: Pubkey) -> bytes | None:
        account = await env.client.get_account(address)
        return None if account is None else bytes(account.data)

    async def slot() -> int:
        return (await env.rpc.get_slot()).value

    async with LocalnetJupiter(fetch, slot, route_accounts=12) as jupiter:
        await _flow(env, jupiter)


async def _flow(env: CrankEnv, jupiter: LocalnetJupiter | None) -> None:
    keys, m = env.keys, env.market
    assert env.net.chain is not None
    chain = pump_venue.LocalnetChain(env.net.chain, keys["payer"], keys["admin"], env.net.usdc_mint)
    venue = pump_venue.install(chain)
    coin = pump_venue.launch(
        chain,
        venue,
        keys["creator"].pubkey(),
        token2022=False,
        quote_mint=WRAPPED_SOL_MINT,
        virtual_quote=30 * SOL,
    )
    pool = pools.pool_addresses(WRAPPED_SOL_MINT, env.net.usdc_mint)
    if chain.data(pool.pool) is None:
        lp = Keypair()
        chain.svm.set_account(lp.pubkey(), Account(1_100 * SOL, b"", Pubkey.default(), False, 0))
        pump_venue.seed_wsol_pool(chain, lp, 1_000 * SOL, 150_000 * USDC)
    await env.send(
        [m.update_config(keys["admin"].pubkey(), swap_programs=[CP_POOL_ID, PUMP_ID])],
        keys["admin"],
    )
    slug = env.slug("claw-jup" if jupiter else "claw")
    creator, admin = keys["creator"], keys["admin"]
    await env.send(
        [
            m.register_model(creator.pubkey(), slug, 500, ""),
            m.set_model_status(admin.pubkey(), slug, ModelStatus.APPROVED, coin.mint),
        ],
        creator,
        admin,
    )
    # the Track B listing path: the coin checks out (SPL, no authorities, SOL-paired curve)
    async with await Session.open(env.net.rpc_url) as session:
        check = await track_b.check_coin(session, coin.mint)
        assert (check.kind, check.market.venue) == ("spl", "pump_curve_sol")
        view = await track_b.attach(session, creator, slug, coin.mint)
    assert view.mint == str(coin.mint)
    model = Listed(
        slug=slug,
        address=m.model(slug),
        mint=coin.mint,
        token_program=TOKEN_PROGRAM_ID,
        t22=False,
        pool=pump_curve.curve_address(coin.mint),
        pool_usdc=Pubkey.default(),
        pool_tokens=Pubkey.default(),
        revenue_vault=m.revenue_vault(slug),
        buyback_vault=m.buyback_vault(slug),
    )
    buyer = pump_sol.buyer_address(model.address)
    rpc = env.rpc

    async def lamports(address: Pubkey) -> int:
        return (await rpc.get_balance(address)).value

    async def expected(amount: int, held: int) -> tuple[int, pump_sol.SolQuote]:
        """What the daemon's route does: (SOL the swap brings, the buy's quote)."""
        sol = quote_exact_in(
            amount,
            await env.balance(pool.vault(env.net.usdc_mint)),
            await env.balance(pool.vault(WRAPPED_SOL_MINT)),
            30,
        )[1]
        spendable = min_out_after_slippage(sol, SLIPPAGE) + max(0, held - pump_sol.BUYER_FLOOR)
        vault = await lamports(pump_curve.creator_vault(coin.curve.creator))
        return sol, pump_sol.quote_buy_sol(pump_venue.refresh(chain, coin), spendable, vault)

    # Cycle 1: prepay (buyer floor, accumulator), buyback_sol, burn.
    await env.fund(model, 40 * USDC)
    supply = await env.supply(coin.mint)
    assert await lamports(buyer) == 0
    sol1, q1 = await expected(40 * USDC, 0)
    r1 = await _cycle(env, model, jupiter)
    assert r1.reason == "", r1.detail
    assert (r1.outcome, r1.usdc_spent, r1.tokens_bought, r1.tokens_burned) == (
        "bought",
        40 * USDC,
        q1.tokens,
        q1.tokens,
    )
    assert "pump_curve_sol" in r1.detail
    assert await env.balance(model.revenue_vault) == 0
    held = await lamports(buyer)
    assert held == pump_sol.BUYER_FLOOR + sol1 - q1.spent  # the slippage margin stays there
    assert held > pump_sol.BUYER_FLOOR
    assert await env.supply(coin.mint) == supply - q1.tokens
    assert await env.balance(model.buyback_vault) == 0

    # Cycle 2: no prepayment, the leftover SOL is spent with the new swap's.
    await env.fund(model, 25 * USDC)
    sol2, q2 = await expected(25 * USDC, held)
    env.net.chain.expire_blockhash()
    r2 = await _cycle(env, model, jupiter)
    assert r2.reason == "", r2.detail
    assert (r2.usdc_spent, r2.tokens_bought, r2.tokens_burned) == (25 * USDC, q2.tokens, q2.tokens)
    assert await lamports(buyer) == held + sol2 - q2.spent
    assert await env.supply(coin.mint) == supply - q1.tokens - q2.tokens
    totals = await env.model(model)
    assert (totals.usdc_spent, totals.tokens_bought, totals.tokens_burned) == (
        65 * USDC,
        q1.tokens + q2.tokens,
        q1.tokens + q2.tokens,
    )
