"""Track B through the real crank daemon over JSON-RPC on the embedded localnet: a USDC-paired
pump.fun coin (stand-ins at pump.fun's and PumpSwap's ids) is listed with its mint pinned,
its revenue vault is funded, one cycle buys it back on the bonding curve (the buy that
graduates the curve) and burns it; after migration the next cycle buys on PumpSwap, with no
configuration change. USDC and tokens are exact to the unit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_2022_PROGRAM_ID

from bourse_chain import pump_curve, pump_swap
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_chain.generated.pump import PROGRAM_ID as PUMP_ID
from bourse_chain.generated.pump_amm import PROGRAM_ID as AMM_ID
from bourse_ops.sandbox import pump_venue
from bourse_ops.sandbox.crank_env import USDC, CrankEnv, Listed, start_env
from cranks.buyback import BuybackReport, ModelResult
from cranks.daemon import Daemon, build_context


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CrankEnv]:
    async with start_env(tmp_path_factory.mktemp("crank-track-b"), cooldown_secs=0) as e:
        yield e


async def _cycle(env: CrankEnv, model: Listed) -> ModelResult:
    config = env.crank_config([model], venue="pump", max_price_impact_bps=9_000)
    ctx = await build_context(config, keypair=env.crank)
    try:
        (outcome,) = await Daemon(ctx, jobs=["buyback"]).run_all_once()
    finally:
        await ctx.aclose()
    report = outcome.report
    assert outcome.status == "ok" and isinstance(report, BuybackReport)
    (result,) = report.results
    return result


async def test_crank_buys_on_the_curve_then_on_pumpswap(env: CrankEnv) -> None:
    keys, m = env.keys, env.market
    assert env.net.chain is not None
    chain = pump_venue.LocalnetChain(env.net.chain, keys["payer"], keys["admin"], env.net.usdc_mint)
    venue = pump_venue.install(chain)
    amm_config = pump_venue.install_amm(chain)
    coin = pump_venue.launch(chain, venue, keys["creator"].pubkey(), real_tokens=10_000_000_000_000)
    await env.send(
        [m.update_config(keys["admin"].pubkey(), swap_programs=[CP_POOL_ID, PUMP_ID, AMM_ID])],
        keys["admin"],
    )
    slug = env.slug("pumpb")
    creator, admin = keys["creator"], keys["admin"]
    await env.send(
        [
            m.register_model(creator.pubkey(), slug, 500, ""),
            m.set_model_status(admin.pubkey(), slug, ModelStatus.APPROVED, coin.mint),
            m.tokenize_model(creator.pubkey(), slug, coin.mint, TOKEN_2022_PROGRAM_ID),
        ],
        creator,
        admin,
    )
    model = Listed(
        slug=slug,
        address=m.model(slug),
        mint=coin.mint,
        token_program=TOKEN_2022_PROGRAM_ID,
        t22=False,
        pool=pump_curve.curve_address(coin.mint),
        pool_usdc=Pubkey.default(),
        pool_tokens=Pubkey.default(),
        revenue_vault=m.revenue_vault(slug),
        buyback_vault=m.buyback_vault(slug),
    )

    # Cycle 1: the curve. 60 USDC is more than the last tokens cost: the buy takes them all,
    # completes the curve and the staged leftover returns to the vault.
    await env.fund(model, 60 * USDC)
    q = pump_curve.quote_buy(coin, 60 * USDC)
    assert q.completes
    supply = await env.supply(coin.mint)
    r1 = await _cycle(env, model)
    assert (r1.outcome, r1.usdc_spent, r1.tokens_bought, r1.tokens_burned) == (
        "bought",
        q.spent,
        q.tokens,
        q.tokens,
    )
    assert await env.balance(model.revenue_vault) == 60 * USDC - q.spent
    assert await env.balance(m.usdc_account(model.address)) == 0  # staging swept back
    assert await env.supply(coin.mint) == supply - q.tokens
    assert pump_venue.refresh(chain, coin).curve.complete

    # Migration, then cycle 2 buys on PumpSwap straight from the vault; nobody reconfigured.
    amm = pump_venue.graduate(chain, coin, amm_config)
    await env.fund(model, 5 * USDC)
    vault = await env.balance(model.revenue_vault)
    q2 = pump_swap.quote_buy(amm, vault)
    # A fresh blockhash: cycle 2's burn is byte-identical to cycle 1's (same instruction, same
    # signer), so under the same blockhash it would carry the same signature (see the report).
    env.net.chain.expire_blockhash()
    r2 = await _cycle(env, model)
    assert r2.reason == "", r2.detail
    assert (r2.outcome, r2.usdc_spent, r2.tokens_bought, r2.tokens_burned) == (
        "bought",
        q2.spent,
        q2.base_out,
        q2.base_out,
    )
    assert "pump_swap" in r2.detail
    assert await env.balance(model.revenue_vault) == vault - q2.spent
    assert await env.supply(coin.mint) == supply - q.tokens - q2.base_out
    totals = await env.model(model)
    assert (totals.usdc_spent, totals.tokens_bought, totals.tokens_burned) == (
        q.spent + q2.spent,
        q.tokens + q2.base_out,
        q.tokens + q2.base_out,
    )
