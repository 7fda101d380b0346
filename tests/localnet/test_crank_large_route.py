"""A buyback whose route needs 56 accounts, through the real crank daemon over JSON-RPC on the
embedded localnet: the Jupiter stand-in (:mod:`tests.fakes.jupiter_localnet`) answers with a
``cp_pool`` swap of 56 accounts and no lookup table; the crank creates its own table, extends
it with the route's keys, waits for them to activate and sends ``buyback`` (62 accounts, 56
forwarded by CPI) in a v0 transaction through it. USDC, tokens and supply are exact; a second
cycle reuses the table without extending it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature

from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_ops.sandbox.crank_env import USDC, CrankEnv, Listed, start_env
from cranks.buyback import BuybackReport, ModelResult
from cranks.config import JupiterSettings
from cranks.daemon import Daemon, build_context
from cranks.state import CrankState
from tests.fakes.jupiter_localnet import LocalnetJupiter

ROUTE = 56


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CrankEnv]:
    async with start_env(tmp_path_factory.mktemp("crank-large-route"), cooldown_secs=0) as e:
        yield e


@pytest.fixture
async def jupiter(env: CrankEnv) -> AsyncIterator[LocalnetJupiter]:
    async def fetch(address: Pubkey) -> bytes | None:
        account = await env.client.get_account(address)
        return None if account is None else bytes(account.data)

    async def slot() -> int:
        return (await env.rpc.get_slot()).value

    async with LocalnetJupiter(fetch, slot, route_accounts=ROUTE) as server:
        yield server


async def _cycle(
    env: CrankEnv, model: Listed, jupiter: LocalnetJupiter, api: str, state: str = ""
) -> ModelResult:
    config = env.crank_config([model], venue="jupiter", name=f"state-{state or api}").replace(
        jupiter=JupiterSettings(base_url=jupiter.base_url, api=api)
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


def _state(env: CrankEnv, name: str) -> CrankState:
    return CrankState(env.tmp / f"state-{name}" / f"{env.crank.pubkey()}.json")


async def _buyback_message(env: CrankEnv, result: ModelResult) -> MessageV0:
    tx = await env.client.landed_transaction(Signature.from_string(result.signatures[0]))
    assert tx is not None and isinstance(tx.message, MessageV0)
    return tx.message


@pytest.mark.parametrize("api", ["build", "v1"])
async def test_a_56_account_route_goes_through_the_crank_own_lookup_table(
    env: CrankEnv, jupiter: LocalnetJupiter, api: str
) -> None:
    # Given a model with 50 USDC of revenue and a Jupiter whose route needs 56 accounts
    model = await env.add_model(env.slug(f"big-{api}"))
    await env.fund(model, 50 * USDC)
    expected = await env.pool_quote(model, 50 * USDC)
    supply = await env.supply(model.mint)
    pool_usdc = await env.balance(model.pool_usdc)
    assert _state(env, api).lookup_table() is None

    # When the daemon runs one buyback cycle
    result = await _cycle(env, model, jupiter, api)

    # Then the whole vault bought exactly what the pool gives, and it was burned
    assert result.reason == "", result.detail
    assert (result.outcome, result.usdc_spent, result.tokens_bought, result.tokens_burned) == (
        "bought",
        50 * USDC,
        expected,
        expected,
    )
    assert await env.balance(model.revenue_vault) == 0
    assert await env.balance(model.buyback_vault) == 0
    assert await env.balance(model.pool_usdc) == pool_usdc + 50 * USDC
    assert await env.supply(model.mint) == supply - expected
    totals = await env.model(model)
    assert (totals.usdc_spent, totals.tokens_bought, totals.tokens_burned) == (
        50 * USDC,
        expected,
        expected,
    )
    assert "via jupiter" in result.detail

    # and the buyback carried the 56 route accounts through the crank's own lookup table
    recorded = _state(env, api).lookup_table()
    assert recorded is not None
    table = await env.client.fetch_lookup_table(Pubkey.from_string(recorded))
    assert table is not None
    msg = await _buyback_message(env, result)
    (lookup,) = msg.address_table_lookups
    assert lookup.account_key == table.key
    keys = list(msg.account_keys)
    buyback = next(
        ci for ci in msg.instructions if keys[ci.program_id_index] == env.market.program_id
    )
    assert len(bytes(buyback.accounts)) == 6 + ROUTE
    assert CP_POOL_ID not in keys  # only the top-level programs must stay static keys
    loaded = len(bytes(lookup.writable_indexes)) + len(bytes(lookup.readonly_indexes))
    assert len(keys) + loaded <= 64

    # When the vault is funded again, the next cycle reuses the table as it is
    size = len(table.addresses)
    await env.fund(model, 7 * USDC + 3)
    expected2 = await env.pool_quote(model, 7 * USDC + 3)
    assert env.net.chain is not None
    env.net.chain.expire_blockhash()  # the burn would repeat cycle 1's bytes otherwise
    again = await _cycle(env, model, jupiter, api)
    assert (again.outcome, again.usdc_spent, again.tokens_bought) == (
        "bought",
        7 * USDC + 3,
        expected2,
    )
    assert _state(env, api).lookup_table() == recorded
    table2 = await env.client.fetch_lookup_table(table.key)
    assert table2 is not None and len(table2.addresses) == size
    assert await env.supply(model.mint) == supply - expected - expected2


async def test_a_recorded_table_that_never_landed_is_replaced(
    env: CrankEnv, jupiter: LocalnetJupiter
) -> None:
    # Given a crank killed after recording its new table but before the table landed
    model = await env.add_model(env.slug("big-lost"))
    await env.fund(model, 9 * USDC)
    expected = await env.pool_quote(model, 9 * USDC)
    ghost = Keypair().pubkey()
    _state(env, "lost").set_lookup_table(str(ghost))
    assert await env.client.get_account(ghost) is None

    # When the next cycle buys back through a route that needs a table
    result = await _cycle(env, model, jupiter, "build", state="lost")

    # Then it created and recorded another table and bought exactly
    assert (result.outcome, result.usdc_spent, result.tokens_bought) == (
        "bought",
        9 * USDC,
        expected,
    )
    recorded = _state(env, "lost").lookup_table()
    assert recorded is not None and recorded != str(ghost)
    msg = await _buyback_message(env, result)
    assert [str(t.account_key) for t in msg.address_table_lookups] == [recorded]
