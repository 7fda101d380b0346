"""The Token-2022 fee-harvest job: one cycle is :func:`run_once`.

A Token-2022 transfer-fee mint withholds each transfer's fee in the *recipient's* token
account (``TransferFeeAmount.withheld_amount``). The program's ``harvest_fees`` moves the
withheld fees of up to 20 source accounts into the mint and withdraws everything the mint
holds to a token account of the treasury authority, signed by the config PDA.

Per cycle:

0. Settle the sent-transaction journal (mints whose harvest may still land wait).
1. List the Token-2022 models (one ``getProgramAccounts`` on our program) and read the config
   and every mint (batched ``getMultipleAccounts``), then the treasury's associated token
   accounts (batched).
2. Per model (the per-model isolation boundary): find the mint's token accounts with a
   withheld fee, ``getProgramAccounts`` on Token-2022 filtered by the mint at offset 0 and
   the account type byte at 165 (= token account); parse the ``TransferFeeAmount``
   extension; keep accounts withholding at least ``min_withheld``, largest first.
3. Harvest them in transactions of at most ``max_sources_per_tx`` (<= 20) sources, fewer if
   a transaction would not fit; the first transaction creates the treasury's token account
   when it is missing. A mint holding withheld fees but no source still gets one
   withdraw-only transaction.

Crash safety: each transaction moves fees that are read from the chain every cycle; a
killed cycle leaves some accounts harvested (they show 0 withheld next time) and others
not (harvested next time). Nothing can be withdrawn twice: the fees are *moved*.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.instruction import Instruction
from solders.pubkey import Pubkey
from spl.token.instructions import create_idempotent_associated_token_account

from bourse_chain.client import memcmp
from bourse_chain.generated.compute_market.accounts import Config
from bourse_chain.generated.compute_market.events import FeesHarvested
from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from bourse_chain.token_layout import (
    ACCOUNT_TYPE_ACCOUNT,
    ACCOUNT_TYPE_OFFSET,
    TOKEN_2022_PROGRAM_ID,
    account_withheld,
    associated_token_address,
    mint_withheld,
)
from bourse_chain.tx import fits
from cranks.buyback import ListedModel, list_tokenized

if TYPE_CHECKING:
    from cranks.daemon import CrankContext

log = logging.getLogger(__name__)

JOB = "harvest"
MAX_SOURCES = 20


@dataclass
class HarvestResult:
    model: str
    mint: str
    outcome: str = "skipped"  # harvested, simulated, skipped, failed
    reason: str = ""
    detail: str = ""
    accounts_scanned: int = 0
    sources: int = 0
    harvested: int = 0
    signatures: list[str] = field(default_factory=list)


@dataclass
class HarvestReport:
    job: str = JOB
    dry_run: bool = False
    listed: int = 0
    #: Token accounts read (with a withheld fee or not).
    scanned: int = 0
    results: list[HarvestResult] = field(default_factory=list)
    stopped_early: bool = False

    @property
    def harvested(self) -> int:
        return sum(r.harvested for r in self.results)

    @property
    def failed(self) -> list[HarvestResult]:
        return [r for r in self.results if r.outcome == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
        return {
            "job": self.job,
            "dry_run": self.dry_run,
            "listed": self.listed,
            "scanned": self.scanned,
            "harvested": self.harvested,
            "transactions": sum(len(r.signatures) for r in self.results),
            "outcomes": counts,
            "stopped_early": self.stopped_early,
        }


async def withheld_accounts(
    ctx: CrankContext, mint: Pubkey
) -> tuple[int, list[tuple[Pubkey, int]]]:
    """``(accounts read, [(token account, withheld)])`` for the mint's token accounts."""
    resp = await ctx.client.rpc.get_program_accounts(
        TOKEN_2022_PROGRAM_ID,
        commitment=ctx.client.commitment,
        encoding="base64",
        filters=[memcmp(0, mint), memcmp(ACCOUNT_TYPE_OFFSET, bytes([ACCOUNT_TYPE_ACCOUNT]))],
    )
    found = [(ka.pubkey, account_withheld(bytes(ka.account.data))) for ka in resp.value]
    return len(found), [(k, w) for k, w in found if w > 0]


async def run_once(ctx: CrankContext) -> HarvestReport:
    s = ctx.config.harvest
    report = HarvestReport(dry_run=ctx.dry_run)
    busy = set() if ctx.dry_run else await ctx.sender.busy_accounts()
    models = [
        m
        for m in await list_tokenized(ctx, s.models, s.exclude_models)
        if m.model.token_kind == TokenKind.TOKEN2022
    ]
    report.listed = len(models)
    first = await ctx.client.get_accounts([ctx.market.config, *(m.model.mint for m in models)])
    if first[0] is None:
        raise RuntimeError("the program config is missing")
    config = ctx.client.decode(first[0], Config)
    mints = {m.address: first[i + 1] for i, m in enumerate(models)}
    dests = {
        m.address: associated_token_address(
            config.treasury_authority, m.model.mint, TOKEN_2022_PROGRAM_ID
        )
        for m in models
    }
    existing = await ctx.client.get_accounts(list(dests.values()))
    dest_exists = {addr: acc is not None for addr, acc in zip(dests, existing, strict=True)}

    for m in models:
        if ctx.stopping.is_set():
            report.stopped_early = True
            break
        mint_acc = mints[m.address]
        result = HarvestResult(model=m.slug, mint=str(m.model.mint))
        if m.model.mint in busy:
            result.reason, result.detail = "pending_tx", "a harvest of this mint may still land"
            _log_result(result, ctx.dry_run)
            report.results.append(result)
            continue
        try:
            await _harvest_model(
                ctx,
                m,
                config,
                mint_withheld(bytes(mint_acc.data)) if mint_acc else 0,
                dests[m.address],
                dest_exists[m.address],
                result,
                report,
            )
        except Exception as exc:  # the per-model isolation boundary: log, count, go on
            result.outcome, result.reason, result.detail = "failed", type(exc).__name__, str(exc)
            log.warning(
                "harvest of %s failed: %s: %s",
                m.slug,
                type(exc).__name__,
                exc,
                extra={
                    "event": "model_failed",
                    "job": JOB,
                    "model": m.slug,
                    "error": type(exc).__name__,
                },
            )
        report.scanned += result.accounts_scanned
        _log_result(result, ctx.dry_run)
        report.results.append(result)
    return report


def chunks(ctx: CrankContext, sources: list[Pubkey], build: Any, limit: int) -> list[list[Pubkey]]:
    """``sources`` split into transactions of at most ``limit`` that fit (size, locks)."""
    out: list[list[Pubkey]] = []
    rest = list(sources)
    payer = ctx.crank.pubkey()
    budget = [set_compute_unit_limit(1), set_compute_unit_price(1)]
    while rest:
        n = min(limit, len(rest))
        while n > 1 and not fits(payer, [*budget, *build(rest[:n], not out)]):
            n -= 1
        out.append(rest[:n])
        rest = rest[n:]
    return out


async def _harvest_model(
    ctx: CrankContext,
    m: ListedModel,
    config: Config,
    in_mint: int,
    dest: Pubkey,
    dest_exists: bool,
    result: HarvestResult,
    report: HarvestReport,
) -> None:
    s = ctx.config.harvest
    scanned, holders = await withheld_accounts(ctx, m.model.mint)
    result.accounts_scanned = scanned
    holders = sorted(
        (h for h in holders if h[1] >= s.min_withheld), key=lambda h: (-h[1], str(h[0]))
    )
    expected = in_mint + sum(w for _, w in holders)
    if not holders and in_mint == 0:
        result.reason = "nothing_withheld"
        return
    if not dest_exists and not s.create_destination:
        result.reason, result.detail = "no_destination", f"treasury account {dest} missing"
        return
    crank = ctx.crank.pubkey()

    def build(sources: list[Pubkey], first: bool) -> list[Instruction]:
        ixs: list[Instruction] = []
        if first and not dest_exists:
            ixs.append(
                create_idempotent_associated_token_account(
                    crank, config.treasury_authority, m.model.mint, TOKEN_2022_PROGRAM_ID
                )
            )
        ixs.append(ctx.market.harvest_fees(crank, m.slug, m.model.mint, dest, sources))
        return ixs

    keys = [k for k, _ in holders]
    groups = chunks(ctx, keys, build, min(s.max_sources_per_tx, MAX_SOURCES)) or [[]]
    if ctx.dry_run:
        for i, group in enumerate(groups):
            await ctx.sender.simulate(build(group, i == 0), job=JOB, kind="harvest")
        result.outcome, result.reason = "simulated", "dry_run"
        result.sources = len(keys)
        result.detail = f"would harvest {expected} from {len(keys)} accounts in {len(groups)} txs"
        return
    for i, group in enumerate(groups):
        if i > 0 and ctx.stopping.is_set():
            report.stopped_early = True
            break
        sent = await ctx.sender.send(build(group, i == 0), job=JOB, kind="harvest")
        amount = sum(e.amount for e in sent.events if isinstance(e, FeesHarvested))
        result.harvested += amount
        result.sources += len(group)
        result.signatures.append(str(sent.signature))
        result.outcome, result.reason = "harvested", ""
        await ctx.checkpoint("harvest:chunk", m.slug)
    txs = len(result.signatures)
    result.detail = f"{result.harvested} from {result.sources} accounts in {txs} txs"


def _log_result(r: HarvestResult, dry_run: bool) -> None:
    extra = {
        "event": "model_result",
        "job": JOB,
        "model": r.model,
        "outcome": r.outcome,
        "reason": r.reason,
        "harvested": r.harvested,
        "sources": r.sources,
        "signatures": r.signatures,
        "dry_run": dry_run,
    }
    level = logging.WARNING if r.outcome == "failed" else logging.INFO
    if r.reason == "nothing_withheld":
        level = logging.DEBUG
    log.log(level, "%s: %s %s %s", r.model, r.outcome, r.reason, r.detail, extra=extra)
