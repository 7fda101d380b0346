"""RPC calls and time of the market page and its API for 10, 100 and 1,000 listed models,
against the crank scan's on the same chain in the same run.

    python -m benchmarks.market_page          # prints the tables and rewrites market_page.md
    python -m benchmarks.market_page 10 100   # other sizes (does not rewrite the file)

Each size runs on a fresh embedded localnet (``bourse_ops.sandbox.crank_env``) with the
config initialised. Models are written straight into the chain (``bourse_setAccount``):
approved, tokenized Model accounts at their PDAs with a real mint, a USDC revenue vault and
a buyback vault each (one in five Token-2022). Calls are counted by JSON-RPC method at each
client's transport (:class:`cranks.sender.RpcTransport`, which both use). Times are medians
of 5 runs: a *refresh* is a request after the cache expired (a full chain read), a *cached*
request is served within the TTL; both through the app in-process (httpx ASGI transport).
The crank's scan is the buyback and the harvest job's ``run_once`` on the same models.
A last scenario adds real listings (program transactions) to show what new transactions add.
"""

from __future__ import annotations

import asyncio
import base64
import math
import statistics
import struct
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID

from benchmarks.sizes import run_sizes
from bourse_chain import pda
from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.generated.compute_market.program_id import PROGRAM_ID
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from bourse_ops.sandbox.crank_env import USDC, CrankEnv, start_env
from cranks import buyback, harvest
from cranks.daemon import CrankContext, build_context
from gateway.app import install_error_handlers
from gateway.market import market_router
from gateway.market.service import MarketService

OUT = Path(__file__).with_name("market_page.md")
SIZES = (10, 100, 1_000)
RUNS = 5
SUPPLY = 10**15


def token_account(mint: Pubkey, owner: Pubkey, amount: int) -> bytes:
    """An initialized token account (the base layout of SPL Token and Token-2022)."""
    data = bytearray(165)
    data[0:64] = bytes(mint) + bytes(owner)
    struct.pack_into("<Q", data, 64, amount)
    data[108] = 1
    return bytes(data)


def mint_account(supply: int, decimals: int = 6) -> bytes:
    data = bytearray(82)
    struct.pack_into("<QB?", data, 36, supply, decimals, True)
    return bytes(data)


def listed_model(slug: str, usdc: Pubkey, t22: bool) -> list[tuple[Pubkey, bytes, Pubkey]]:
    """``(address, data, owner)`` of a listed model's four accounts."""
    model, bump = pda.model_pda(slug)
    vault, vault_bump = pda.revenue_vault_pda(model)
    bought, bought_bump = pda.buyback_vault_pda(model)
    mint = Pubkey.new_unique()
    tp = TOKEN_2022_PROGRAM_ID if t22 else TOKEN_PROGRAM_ID
    raw = slug.encode()
    data = Model(
        creator=Pubkey.new_unique(),
        mint=mint,
        revenue_vault=vault,
        buyback_vault=bought,
        token_program=tp,
        slug=raw.ljust(32, b"\0"),
        metadata_uri=bytes(128),
        total_volume=1_000 * USDC,
        total_creator_fees=50 * USDC,
        total_protocol_fees=10 * USDC,
        total_provider_payouts=940 * USDC,
        usdc_spent=0,
        tokens_bought=0,
        tokens_burned=0,
        settlement_count=100,
        last_buyback_ts=0,
        created_at=0,
        approved_mint=mint,
        usdc_swept=0,
        fee_bps=500,
        slug_len=len(raw),
        uri_len=0,
        status=ModelStatus.APPROVED,
        token_kind=TokenKind.TOKEN2022 if t22 else TokenKind.SPL,
        bump=bump,
        revenue_vault_bump=vault_bump,
        buyback_vault_bump=bought_bump,
        reserved=bytes(7),
    ).encode()
    return [
        (model, data, PROGRAM_ID),
        (vault, token_account(usdc, model, USDC // 2), TOKEN_PROGRAM_ID),
        (bought, token_account(mint, model, 0), tp),
        (mint, mint_account(SUPPLY), tp),
    ]


async def inject(env: CrankEnv, n: int) -> None:
    for i in range(n):
        for key, body, owner in listed_model(f"bench/m-{i:04d}", env.net.usdc_mint, i % 5 == 0):
            account = {
                "lamports": 10**7,
                "data": [base64.b64encode(body).decode(), "base64"],
                "owner": str(owner),
            }
            await env.net.rpc("bourse_setAccount", [str(key), account])


async def median_of(
    job: Callable[[], Awaitable[Any]], calls: Counter[str]
) -> tuple[Counter[str], float]:
    """Calls of the last run and the median time of ``RUNS`` runs of ``job``."""
    times: list[float] = []
    spent: Counter[str] = Counter()
    for _ in range(RUNS):
        before = calls.copy()
        started = time.perf_counter()
        await job()
        times.append(time.perf_counter() - started)
        spent = calls - before
    return spent, statistics.median(times)


@dataclass
class Row:
    n: int
    buyback: tuple[Counter[str], float]
    harvest: tuple[Counter[str], float]
    cold: tuple[Counter[str], float]
    refresh: dict[str, tuple[Counter[str], float]]
    cached: dict[str, tuple[Counter[str], float]]
    page_bytes: int
    api_bytes: int


async def crank_scan(env: CrankEnv, tmp: Path) -> tuple[tuple[Counter[str], float], ...]:
    config = env.crank_config([]).replace(state_dir=str(tmp / "state"))
    ctx: CrankContext = await build_context(config, keypair=env.crank)
    try:
        assert ctx.transport is not None
        calls = ctx.transport.calls
        out = []
        for job in (buyback.run_once, harvest.run_once):

            async def run(job: Callable[[CrankContext], Awaitable[Any]] = job) -> None:
                await job(ctx)

            out.append(await median_of(run, calls))
        return tuple(out)
    finally:
        await ctx.aclose()


async def market(env: CrankEnv, n: int) -> tuple[Any, ...]:
    service = MarketService([env.net.rpc_url], ttl_secs=0)
    app = FastAPI()  # the router as the gateway mounts it
    app.include_router(market_router("unused", service=service))
    install_error_handlers(app)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

            async def get(path: str) -> httpx.Response:
                got = await http.get(path)
                got.raise_for_status()
                return got

            started = time.perf_counter()
            body = (await get("/api/market")).json()
            cold = (service.calls.copy(), time.perf_counter() - started)
            assert len(body["models"]) == n, len(body["models"])
            refresh, cached = {}, {}
            for path in ("/api/market", "/market"):
                service.ttl_secs = 0

                async def fresh(path: str = path) -> None:
                    await get(path)

                refresh[path] = await median_of(fresh, service.calls)
                service.ttl_secs = 3600
                await get(path)

                async def again(path: str = path) -> None:
                    await get(path)

                cached[path] = await median_of(again, service.calls)
            page = len((await get("/market")).content)
            api = len((await get("/api/market")).content)
            pages = math.ceil(n / 100)  # the page shows 100 models at a time
            last = (await get(f"/market?page={pages}")).text
            assert last.count('class="card model"') == n - 100 * (pages - 1)
            assert (await http.get(f"/market?page={pages + 1}")).status_code == 404
    finally:
        await service.aclose()
    return cold, refresh, cached, page, api


async def size(n: int) -> Row:
    with tempfile.TemporaryDirectory(prefix="market-page-") as tmp:
        async with start_env(Path(tmp)) as env:
            await inject(env, n)
            buy, hv = await crank_scan(env, Path(tmp))
            cold, refresh, cached, page, api = await market(env, n)
    return Row(n, buy, hv, cold, refresh, cached, page, api)


async def traffic(listings: int) -> tuple[Counter[str], Counter[str], int]:
    """A refresh with nothing new, then one after ``listings`` real listings landed."""
    with tempfile.TemporaryDirectory(prefix="market-traffic-") as tmp:
        async with start_env(Path(tmp)) as env:
            service = MarketService([env.net.rpc_url], ttl_secs=0)
            try:
                await service.read()
                before = service.calls.copy()
                await service.read()
                idle = service.calls - before
                landed_before = len(
                    (await env.rpc.get_signatures_for_address(PROGRAM_ID, limit=1000)).value
                )
                for i in range(listings):
                    await env.add_model(env.slug("traffic"), t22=i % 2 == 1)
                landed = (
                    len((await env.rpc.get_signatures_for_address(PROGRAM_ID, limit=1000)).value)
                    - landed_before
                )
                before = service.calls.copy()
                read = await service.read()
                busy = service.calls - before
                assert len(read.snapshot.models) == listings
            finally:
                await service.aclose()
    return idle, busy, landed


def total(c: Counter[str]) -> int:
    return sum(c.values())


def methods(c: Counter[str]) -> str:
    if not c:
        return "none"
    return ", ".join(f"{m} {k}" for m, k in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


def budget(n: int) -> int:
    """One refresh: getProgramAccounts + ceil((1 + 3N) / 100) getMultipleAccounts (the clock,
    then 3 per model) + getSignaturesForAddress (nothing new landed)."""
    return 1 + math.ceil((1 + 3 * n) / 100) + 1


def render(rows: Sequence[Row], traffic_row: tuple[Counter[str], Counter[str], int]) -> str:
    lines = [
        "# The market page and API: RPC calls and time",
        "",
        "Measured by `python -m benchmarks.market_page` (rewrites this file) on the embedded",
        "localnet (LiteSVM behind JSON-RPC on 127.0.0.1). Listed models are approved and",
        "tokenized, each with a mint, a revenue vault and a buyback vault (one in five",
        "Token-2022). Calls counted by method at each client's transport; times are medians of",
        f"{RUNS} runs, through the app in-process. The crank's scan is measured on the same",
        "chain in the same run.",
        "",
        "## One chain read (the cache expired) vs the crank's scan",
        "",
        "| listed models | market refresh: calls | by method | `/api/market` | `/market` "
        "| buyback scan | harvest scan | crank scan cycle: calls |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        api_calls, api_t = r.refresh["/api/market"]
        _, page_t = r.refresh["/market"]
        crank = total(r.buyback[0]) + total(r.harvest[0])
        lines.append(
            f"| {r.n:,} | {total(api_calls)} | {methods(api_calls)} | {api_t * 1000:.0f} ms "
            f"| {page_t * 1000:.0f} ms | {total(r.buyback[0])} calls, {r.buyback[1] * 1000:.0f} ms "
            f"| {total(r.harvest[0])} calls, {r.harvest[1] * 1000:.0f} ms | {crank} |"
        )
    lines += [
        "",
        "A refresh is `bourse market list`'s read (one `getProgramAccounts` for the models,",
        "then the clock sysvar and each model's revenue vault, buyback vault and mint in",
        "`getMultipleAccounts` batches of 100: `ceil((1 + 3N) / 100)`) and the event tail (one",
        "`getSignaturesForAddress` on the program). So it grows by batches of 100 accounts,",
        "never by a call per model: "
        + " → ".join(str(total(r.refresh["/api/market"][0])) for r in rows)
        + " calls for "
        + " → ".join(f"{r.n:,}" for r in rows)
        + " models (`2 + ceil((1 + 3N) / 100)`). The buyback scan reads one account per model",
        "(the revenue vault) where the page reads three (the page shows the buyback vault and",
        "the supply too), so a refresh costs about three of its batches; the crank's full scan",
        "cycle (buyback + harvest) costs more at every size, since the harvest scan makes one",
        "`getProgramAccounts` per Token-2022 mint. And the refresh happens at most once per",
        "TTL (default 5 s) however many pages and API clients ask:",
        "",
        "## Requests served from the cache (within the TTL)",
        "",
        "| listed models | calls | `/api/market` | `/market` | page size | API size | first read |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        calls = total(r.cached["/api/market"][0]) + total(r.cached["/market"][0])
        cold_calls, cold_t = r.cold
        lines.append(
            f"| {r.n:,} | {calls} | {r.cached['/api/market'][1] * 1000:.1f} ms "
            f"| {r.cached['/market'][1] * 1000:.1f} ms | {r.page_bytes / 1024:.0f} KiB "
            f"| {r.api_bytes / 1024:.0f} KiB | {total(cold_calls)} calls, {cold_t * 1000:.0f} ms |"
        )
    idle, busy, landed = traffic_row
    lines += [
        "",
        "The first read adds the config (`getAccountInfo`, once) and reads back the window's",
        "program transactions (here only the market's set-up). `/market` shows 100 models a",
        "page (`?page=2`...), rendered once per read and page; `/api/market` has them all.",
        "",
        "## What new transactions add",
        "",
        "| refresh | calls | by method |",
        "|---|---:|---|",
        f"| nothing new landed | {total(idle)} | {methods(idle)} |",
        f"| after {landed} program transactions | {total(busy)} | {methods(busy)} |",
        "",
        "Each new program transaction costs one `getTransaction` (its events feed the charts",
        "and the history), once: the tail asks only for signatures newer than the last seen.",
        "This grows with the transactions that land, like the crank's buybacks, never with",
        "the models listed.",
    ]
    return "\n".join(lines) + "\n"


async def run(sizes: Sequence[int]) -> tuple[list[Row], tuple[Counter[str], Counter[str], int]]:
    rows = []
    for n in sizes:
        row = await size(n)
        refresh = total(row.refresh["/api/market"][0])
        crank = total(row.buyback[0]) + total(row.harvest[0])
        assert refresh == budget(n), (refresh, budget(n))
        assert refresh <= crank, (refresh, crank)
        assert total(row.cached["/api/market"][0]) == total(row.cached["/market"][0]) == 0
        rows.append(row)
        sys.stderr.write(
            f"{n:>5} models: refresh {refresh} calls "
            f"{row.refresh['/api/market'][1] * 1000:.0f} ms (page "
            f"{row.refresh['/market'][1] * 1000:.0f} ms), crank scan {crank} calls\n"
        )
    return rows, await traffic(3)


def report(sizes: tuple[int, ...]) -> str:
    return render(*asyncio.run(run(sizes)))


def main(argv: Sequence[str] | None = None) -> int:
    return run_sizes(argv, SIZES, report, OUT)


if __name__ == "__main__":
    sys.exit(main())
