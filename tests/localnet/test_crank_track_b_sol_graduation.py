"""A SOL-paired coin (ClawPump-like) through its graduation, with the real crank daemon over
JSON-RPC on the embedded localnet: cycle 1 buys the last tokens of its curve with
``buyback_sol`` (``pump_curve_sol``) and completes it; the coin migrates to a WSOL-quoted
PumpSwap pool; cycle 2, with nobody reconfiguring anything, buys on that pool
(``pump_swap_sol``: USDC -> WSOL into the buyer PDA's WSOL account, PumpSwap
``buy_exact_quote_in`` by the buyer spending it, its volume accumulator prepaid by the crank)
and burns what arrived. USDC, lamports and tokens exact to the unit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT

from bourse_chain import pools, pump_curve, pump_sol, pump_swap
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_chain.generated.pump import PROGRAM_ID as PUMP_ID
from bourse_chain.generated.pump_amm import PROGRAM_ID as AMM_ID
from bourse_ops import track_b
from bourse_ops.common import Session
from bourse_ops.sandbox import pump_venue
from bourse_ops.sandbox.crank_env import USDC, CrankEnv, Listed, start_env
from cranks.buyback import BuybackReport, ModelResult
from cranks.daemon import Daemon, build_context
from cranks.venues.base import min_out_after_slippage
from cranks.venues.local_pool import quote_exact_in

SOL = 1_000_000_000
SLIPPAGE = 100


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CrankEnv]:
    async with start_env(tmp_path_factory.mktemp("crank-track-b-sol-grad"), cooldown_secs=0) as e:
        yield e


async def _cycle(env: CrankEnv, model: Listed) -> ModelResult:
    config = env.crank_config(
        [model], venue="pump", sol_venue="local_pool", max_price_impact_bps=9_000
    )
    ctx = await build_context(config, keypair=env.crank)
    try:
        (outcome,) = await Daemon(ctx, jobs=["buyback"]).run_all_once()
    finally:
        await ctx.aclose()
    report = outcome.report
    assert outcome.status == "ok" and isinstance(report, BuybackReport)
    (result,) = report.results
    return result


async def test_crank_buys_a_sol_coin_on_its_curve_then_on_pumpswaps_wsol_pool(
    env: CrankEnv,
) -> None:
    keys, m = env.keys, env.market
    assert env.net.chain is not None
    chain = pump_venue.LocalnetChain(env.net.chain, keys["payer"], keys["admin"], env.net.usdc_mint)
    venue = pump_venue.install(chain)
    amm_config = pump_venue.install_amm(chain)
    real_tokens = 1_000_000_000_000
    coin = pump_venue.launch(
        chain,
        venue,
        keys["creator"].pubkey(),
        token2022=False,
        quote_mint=WRAPPED_SOL_MINT,
        virtual_quote=30 * SOL,
        real_tokens=real_tokens,
    )
    pool = pools.pool_addresses(WRAPPED_SOL_MINT, env.net.usdc_mint)
    lp = Keypair()
    chain.svm.set_account(lp.pubkey(), Account(1_100 * SOL, b"", Pubkey.default(), False, 0))
    pump_venue.seed_wsol_pool(chain, lp, 1_000 * SOL, 150_000 * USDC)
    admin, creator = keys["admin"], keys["creator"]
    await env.send(
        [m.update_config(admin.pubkey(), swap_programs=[CP_POOL_ID, PUMP_ID, AMM_ID])], admin
    )
    slug = env.slug("clawgrad")
    await env.send(
        [
            m.register_model(creator.pubkey(), slug, 500, ""),
            m.set_model_status(admin.pubkey(), slug, ModelStatus.APPROVED, coin.mint),
            m.tokenize_model(creator.pubkey(), slug, coin.mint, TOKEN_PROGRAM_ID),
        ],
        creator,
        admin,
    )
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

    async def lamports(address: Pubkey) -> int:
        return (await env.rpc.get_balance(address)).value

    async def sol_out(amount: int) -> int:
        return quote_exact_in(
            amount,
            await env.balance(pool.vault(env.net.usdc_mint)),
            await env.balance(pool.vault(WRAPPED_SOL_MINT)),
            30,
        )[1]

    # Cycle 1: the curve's last tokens (the route caps the buy at them), the curve completes.
    await env.fund(model, 40 * USDC)
    supply = await env.supply(coin.mint)
    r1 = await _cycle(env, model)
    assert r1.reason == "", r1.detail
    assert (r1.outcome, r1.usdc_spent, r1.tokens_bought, r1.tokens_burned) == (
        "bought",
        40 * USDC,
        real_tokens,
        real_tokens,
    )
    assert "pump_curve_sol" in r1.detail
    assert pump_venue.refresh(chain, coin).curve.complete

    # Migration to a WSOL-quoted pool; the listing check and the crank follow by themselves.
    amm = pump_venue.graduate(chain, coin, amm_config)
    assert amm.pool.quote_mint == WRAPPED_SOL_MINT
    async with await Session.open(env.net.rpc_url) as session:
        check = await track_b.check_coin(session, coin.mint)
    assert check.market.venue == "pump_swap_sol"
    await env.fund(model, 25 * USDC)
    held = await lamports(buyer)
    sol = await sol_out(25 * USDC)
    q = pump_swap.quote_buy(amm, min_out_after_slippage(sol, SLIPPAGE))
    assert (await env.rpc.get_account_info(pump_swap.user_volume_accumulator(buyer))).value is None
    env.net.chain.expire_blockhash()
    r2 = await _cycle(env, model)
    assert r2.reason == "", r2.detail
    assert (r2.outcome, r2.usdc_spent, r2.tokens_bought, r2.tokens_burned) == (
        "bought",
        25 * USDC,
        q.base_out,
        q.base_out,
    )
    assert "pump_swap_sol" in r2.detail
    assert await lamports(buyer) == held + sol - q.spent
    assert (
        await env.rpc.get_account_info(pump_swap.user_volume_accumulator(buyer))
    ).value is not None
    assert await env.balance(amm.pool.pool_base_token_account) == amm.base_reserve - q.base_out
    assert await env.balance(model.revenue_vault) == 0
    assert await env.supply(coin.mint) == supply - real_tokens - q.base_out
    totals = await env.model(model)
    assert (totals.usdc_spent, totals.tokens_bought, totals.tokens_burned) == (
        65 * USDC,
        real_tokens + q.base_out,
        real_tokens + q.base_out,
    )
