"""RPC calls and wall time of one crank scan cycle for 10, 100 and 1,000 listed models.

    python -m benchmarks.scan_cycle            # prints the tables and rewrites scan_cycle.md
    python -m benchmarks.scan_cycle 10 100     # other sizes (does not rewrite the file)

Each size runs on a fresh embedded localnet with the program config initialised. The models
are written straight into the chain (``bourse_setAccount``): approved, tokenized Model
accounts at their PDAs with a USDC revenue vault each, holding less than the threshold, so
the cycle is the pure scan every cycle pays (one in five models is Token-2022, for the
harvest scan). Calls are counted by JSON-RPC method at the daemon's own transport
(:class:`cranks.sender.RpcTransport`); wall time is the median of 5 runs of ``run_once``.

A last scenario lists 10 real models (mints, ``cp_pool`` pools) with funded vaults and runs
one buyback cycle, to show what each buyback-and-burn adds on top of the scan.
"""

from __future__ import annotations

import asyncio
import base64
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID

from benchmarks.sizes import run_sizes
from bourse_chain import pda
from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.generated.compute_market.program_id import PROGRAM_ID
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from bourse_chain.token_layout import encode_token_account
from bourse_ops.sandbox.crank_env import USDC, CrankEnv, start_env
from cranks import buyback, harvest
from cranks.daemon import CrankContext, build_context

OUT = Path(__file__).with_name("scan_cycle.md")
SIZES = (10, 100, 1_000)
RUNS = 5

Job = Callable[[CrankContext], Awaitable[Any]]


def fake_model(slug: str, usdc_mint: Pubkey, t22: bool) -> tuple[Pubkey, bytes, Pubkey, bytes]:
    """(model PDA, Model data, revenue vault PDA, token-account data) of a listed model."""
    model, bump = pda.model_pda(slug)
    vault, vault_bump = pda.revenue_vault_pda(model)
    raw = slug.encode()
    data = Model(
        creator=Pubkey.new_unique(),
        mint=Pubkey.new_unique(),
        revenue_vault=vault,
        buyback_vault=pda.buyback_vault_pda(model)[0],
        token_program=TOKEN_2022_PROGRAM_ID if t22 else TOKEN_PROGRAM_ID,
        slug=raw.ljust(32, b"\0"),
        metadata_uri=bytes(128),
        total_volume=0,
        total_creator_fees=0,
        total_protocol_fees=0,
        total_provider_payouts=0,
        usdc_spent=0,
        tokens_bought=0,
        tokens_burned=0,
        settlement_count=0,
        last_buyback_ts=0,
        created_at=0,
        approved_mint=Pubkey.new_unique(),
        usdc_swept=0,
        fee_bps=500,
        slug_len=len(raw),
        uri_len=0,
        status=ModelStatus.APPROVED,
        token_kind=TokenKind.TOKEN2022 if t22 else TokenKind.SPL,
        bump=bump,
        revenue_vault_bump=vault_bump,
        buyback_vault_bump=0,
        reserved=bytes(7),
    ).encode()
    return model, data, vault, encode_token_account(usdc_mint, model, USDC // 2)


async def inject(env: CrankEnv, n: int) -> list[str]:
    slugs = [f"bench/model-{i:04d}" for i in range(n)]
    for i, slug in enumerate(slugs):
        model, data, vault, vault_data = fake_model(slug, env.net.usdc_mint, t22=i % 5 == 0)
        for key, body, owner in ((model, data, PROGRAM_ID), (vault, vault_data, TOKEN_PROGRAM_ID)):
            await env.net.rpc(
                "bourse_setAccount",
                [
                    str(key),
                    {
                        "lamports": 10**7,
                        "data": [base64.b64encode(body).decode(), "base64"],
                        "owner": str(owner),
                    },
                ],
            )
    return slugs


async def measure(ctx: CrankContext, job: Job) -> tuple[Counter[str], float, Any]:
    assert ctx.transport is not None
    times: list[float] = []
    calls: Counter[str] = Counter()
    report: Any = None
    for _ in range(RUNS):
        ctx.transport.calls.clear()
        started = time.perf_counter()
        report = await job(ctx)
        times.append(time.perf_counter() - started)
        calls = Counter(ctx.transport.calls)
    return calls, statistics.median(times), report


async def scan(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="scan-cycle-") as tmp:
        async with start_env(Path(tmp)) as env:
            await inject(env, n)
            config = env.crank_config([]).replace(state_dir=str(Path(tmp) / "state"))
            ctx = await build_context(config, keypair=env.crank)
            try:
                buy_calls, buy_time, buy_report = await measure(ctx, buyback.run_once)
                hv_calls, hv_time, hv_report = await measure(ctx, harvest.run_once)
            finally:
                await ctx.aclose()
    assert buy_report.scanned == n and all(
        r.reason == "below_threshold" for r in buy_report.results
    )
    assert hv_report.listed == n // 5 + (1 if n % 5 else 0)
    return {
        "n": n,
        "buyback": (buy_calls, buy_time),
        "harvest": (hv_calls, hv_time),
        "t22": hv_report.listed,
    }


async def act(n_funded: int) -> tuple[Counter[str], float, int]:
    with tempfile.TemporaryDirectory(prefix="scan-act-") as tmp:
        async with start_env(Path(tmp)) as env:
            models = [await env.add_model(env.slug("act"), t22=i % 2 == 1) for i in range(n_funded)]
            for m in models:
                await env.fund(m, 20 * USDC)
            ctx = await build_context(env.crank_config(models), keypair=env.crank)
            try:
                assert ctx.transport is not None
                ctx.transport.calls.clear()
                started = time.perf_counter()
                report = await buyback.run_once(ctx)
                elapsed = time.perf_counter() - started
                calls = Counter(ctx.transport.calls)
            finally:
                await ctx.aclose()
    assert all(r.outcome == "bought" for r in report.results), report.results
    return calls, elapsed, len(report.results)


def _methods(calls: Counter[str]) -> str:
    return ", ".join(f"{m} {c}" for m, c in sorted(calls.items(), key=lambda kv: (-kv[1], kv[0])))


def render(rows: Sequence[dict[str, Any]], acted: tuple[Counter[str], float, int] | None) -> str:
    lines = [
        "# One crank scan cycle: RPC calls and wall time",
        "",
        "Measured by `python -m benchmarks.scan_cycle` (rewrites this file) on the embedded",
        "localnet (LiteSVM behind JSON-RPC on 127.0.0.1, so wall time is mostly our own",
        "Python plus local HTTP). Models are approved and tokenized, every revenue vault below",
        "the threshold (the scan every cycle pays); one in five is Token-2022. Calls counted by",
        "method at the daemon's transport; wall time = median of 5 cycles.",
        "",
        "## Buyback scan",
        "",
        "| listed models | RPC calls | by method | wall time |",
        "|---:|---:|---|---:|",
    ]
    for r in rows:
        calls, t = r["buyback"]
        lines.append(
            f"| {r['n']:,} | {sum(calls.values())} | {_methods(calls)} | {t * 1000:.0f} ms |"
        )
    lines += [
        "",
        "One `getProgramAccounts` lists the models; one `getMultipleAccounts` per 100",
        "addresses reads the config, the clock sysvar and every revenue vault together",
        "(`ceil((N + 2) / 100)`), and unburned tokens are found from the model accounts",
        "themselves (`tokens_bought > tokens_burned`), without reading the buyback vaults. So",
        "the calls grow by batches of 100 models: "
        + " → ".join(str(sum(r["buyback"][0].values())) for r in rows)
        + " calls for "
        + " → ".join(f"{r['n']:,}" for r in rows)
        + " models.",
        "",
        "## Harvest scan",
        "",
        "| listed models | Token-2022 models | RPC calls | by method | wall time |",
        "|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        calls, t = r["harvest"]
        lines.append(
            f"| {r['n']:,} | {r['t22']} | {sum(calls.values())} | {_methods(calls)} "
            f"| {t * 1000:.0f} ms |"
        )
    lines += [
        "",
        "Config, mints and the treasury's token accounts are read in batches of 100; finding",
        "the token accounts that withhold fees takes one `getProgramAccounts` on Token-2022",
        "*per Token-2022 mint* (filtered by the mint at offset 0 and the account type at 165):",
        "no RPC method lists the holders of several mints at once, and an unfiltered scan of",
        "Token-2022 would return every account of every mint on the cluster. Run the harvest",
        "job on a longer interval than buyback (default 1 h vs 5 min).",
    ]
    if acted is not None:
        calls, t, n = acted
        scan_calls = 3  # getProgramAccounts + getMultipleAccounts (+ nothing pending)
        per = (sum(calls.values()) - scan_calls) / n
        lines += [
            "",
            "## A cycle that acts",
            "",
            f"{n} real models (half Token-2022, each with a `cp_pool` pool) with 20 USDC in",
            "their vaults, one buyback cycle: quote, buyback, burn for each.",
            "",
            "| models bought and burned | RPC calls | by method | wall time |",
            "|---:|---:|---|---:|",
            f"| {n} | {sum(calls.values())} | {_methods(calls)} | {t * 1000:.0f} ms |",
            "",
            f"About {per:.0f} calls per model bought back: the quote reads the pool, its two",
            "vaults, both mints and the clock (`getAccountInfo` x 6); each of the two",
            "transactions costs a priority-fee query, a blockhash, a simulation (compute-unit",
            "limit), the send, status polls and `getTransaction` for the events. These grow",
            "with the models *acted on*, never with the models listed.",
        ]
    return "\n".join(lines) + "\n"


async def run(sizes: Sequence[int]) -> tuple[list[dict[str, Any]], Any]:
    rows = []
    for n in sizes:
        row = await scan(n)
        rows.append(row)
        sys.stderr.write(
            f"{n:>5} models: buyback {sum(row['buyback'][0].values())} calls "
            f"{row['buyback'][1] * 1000:.0f} ms, harvest {sum(row['harvest'][0].values())} calls "
            f"{row['harvest'][1] * 1000:.0f} ms\n"
        )
    acted = await act(10)
    return rows, acted


def report(sizes: tuple[int, ...]) -> str:
    return render(*asyncio.run(run(sizes)))


def main(argv: Sequence[str] | None = None) -> int:
    return run_sizes(argv, SIZES, report, OUT)


if __name__ == "__main__":
    sys.exit(main())
