"""The sandbox market of the crank tests and benchmarks (`bourse_ops.sandbox.crank_env`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_ops.sandbox.crank_env import POOL_TOKENS, USDC, CrankEnv, start_env, t22_fee


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CrankEnv]:
    async with start_env(tmp_path_factory.mktemp("crank-env")) as e:
        yield e


async def test_env_lists_models_with_pools_and_funded_vaults(env: CrankEnv) -> None:
    spl_model = await env.add_model(env.slug("env-spl"))
    t22_model = await env.add_model(env.slug("env-t22"), t22=True)
    await env.fund(spl_model, 7 * USDC)
    assert await env.balance(spl_model.revenue_vault) == 7 * USDC
    assert await env.balance(spl_model.pool_tokens) == POOL_TOKENS
    # The Token-2022 deposit into the pool paid the transfer fee.
    assert await env.balance(t22_model.pool_tokens) == POOL_TOKENS - t22_fee(POOL_TOKENS)
    cfg = await env.program_config()
    assert cfg.crank == env.crank.pubkey() and cfg.swap_programs[0] == CP_POOL_ID
    assert (await env.model(t22_model)).status == ModelStatus.APPROVED
