"""The buyback-and-burn job: one cycle is :func:`run_once`.

1. Settle the sent-transaction journal: models written by a transaction that may still
   land are left alone this cycle (a restarted daemon never doubles an in-flight buyback).
2. List the tokenized models (one ``getProgramAccounts``) and read the config, the clock and
   every approved model's USDC revenue vault in batched ``getMultipleAccounts`` calls of 100
   addresses: RPC calls grow with the number of batches, not of models.
3. Per model, in order, each inside the single per-model isolation boundary (a failure is
   logged with the model, counted, and the next model goes on):

   * tokens left in the buyback vault (``tokens_bought > tokens_burned``: a previous cycle
     was killed between buyback and burn) are burned first;
   * a vault at or above the threshold with the protocol not paused gets a price
     observation: the venue's quote of ``probe_usdc``, recorded in the crank's state
     (:mod:`cranks.reference`; the reference price is the median of these, over cycles);
   * not cooling down (``last_buyback_ts`` + the config's ``buyback_cooldown_secs``, read on
     chain, against the chain's clock: no transaction is sent for a model still cooling
     down) and with a reference price: buys back ``min(balance, program cap, our cap)``,
     shrunk until the quote's price is within ``max_price_deviation_bps`` of the reference
     (else skipped: ``price_deviation``); ``min_out`` is what must *arrive* in the buyback
     vault after any Token-2022 transfer fee, at least the reference less the tolerance;
     checks the swap program is allow-listed and the price impact acceptable, re-quotes if
     the quote went stale (and checks it again), sends ``buyback`` with the route (in a v0
     transaction through the route's lookup tables and, when its keys still do not fit, the
     crank's own table, created or extended first: :mod:`cranks.lookup`), then ``burn``.

Crash safety comes from the chain: every amount is re-read each cycle, the program checks
``amount_in`` against the vault, ``min_out`` against what arrived, the cap and the cooldown;
a killed cycle leaves either nothing sent (re-quoted next time), a buyback that may still
land (journal: the model waits), or bought tokens (burned next cycle).

``--dry-run`` simulates instead of sending and reports what would have happened (it records
no price observation). ``reference_min_observations = 0`` turns the reference guard off.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeVar

from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.sysvar import CLOCK as CLOCK_SYSVAR_ID

from bourse_chain.generated.compute_market.accounts import Config, Model
from bourse_chain.generated.compute_market.events import BuybackExecuted, TokensBurned
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from bourse_chain.token_layout import TokenDecodeError, decode_token_account
from cranks.lookup import LookupTables
from cranks.reference import (
    Observation,
    ReferencePolicy,
    admit,
    deviation_bps,
    floor_out,
    fresh,
    reference_price,
    within,
    within_reference,
)
from cranks.venues.base import Route, requote_if_stale

if TYPE_CHECKING:
    from cranks.daemon import CrankContext

log = logging.getLogger(__name__)

JOB = "buyback"
E = TypeVar("E")
_CLOCK_UNIX_TS = struct.Struct("<q")
_CLOCK_UNIX_TS_OFFSET = 32


@dataclass
class ModelResult:
    """What one cycle did with one model. ``outcome``: bought (and burned), burned (leftover
    only), simulated (dry run), skipped (``reason`` says why), failed (``reason`` = error)."""

    model: str
    address: str
    outcome: str = "skipped"
    reason: str = ""
    detail: str = ""
    usdc_spent: int = 0
    tokens_bought: int = 0
    tokens_burned: int = 0
    signatures: list[str] = field(default_factory=list)


@dataclass
class BuybackReport:
    job: str = JOB
    dry_run: bool = False
    #: Tokenized models listed (after the models / exclude_models selection).
    listed: int = 0
    #: Revenue vaults read.
    scanned: int = 0
    results: list[ModelResult] = field(default_factory=list)
    #: A stop was requested: the cycle ended after the model in flight.
    stopped_early: bool = False

    @property
    def usdc_spent(self) -> int:
        return sum(r.usdc_spent for r in self.results)

    @property
    def tokens_bought(self) -> int:
        return sum(r.tokens_bought for r in self.results)

    @property
    def tokens_burned(self) -> int:
        return sum(r.tokens_burned for r in self.results)

    @property
    def failed(self) -> list[ModelResult]:
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
            "usdc_spent": self.usdc_spent,
            "tokens_bought": self.tokens_bought,
            "tokens_burned": self.tokens_burned,
            "outcomes": counts,
            "stopped_early": self.stopped_early,
        }


@dataclass(frozen=True)
class ListedModel:
    address: Pubkey
    model: Model
    slug: str

    @property
    def leftover(self) -> int:
        """Tokens bought but not burned (what a cycle killed before burn left behind)."""
        return max(0, self.model.tokens_bought - self.model.tokens_burned)


def slug_of(model: Model) -> str:
    return bytes(model.slug[: model.slug_len]).decode("utf-8", errors="replace")


def selected(slug: str, only: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    return (not only or slug in only) and slug not in exclude


async def list_tokenized(
    ctx: CrankContext, only: tuple[str, ...], exclude: tuple[str, ...]
) -> list[ListedModel]:
    """Tokenized models (one ``getProgramAccounts``), in slug order."""
    out = []
    for address, model in await ctx.client.list_models():
        if model.token_kind == TokenKind.NONE:
            continue
        slug = slug_of(model)
        if selected(slug, only, exclude):
            out.append(ListedModel(address, model, slug))
    return sorted(out, key=lambda m: m.slug)


def _micro_usdc(amount: int) -> str:
    return f"{amount / 1_000_000:,.6f} USDC"


async def run_once(ctx: CrankContext) -> BuybackReport:
    settings = ctx.config.buyback
    report = BuybackReport(dry_run=ctx.dry_run)
    busy = set() if ctx.dry_run else await ctx.sender.busy_accounts()
    models = await list_tokenized(ctx, settings.models, settings.exclude_models)
    report.listed = len(models)
    approved = [m for m in models if m.model.status == ModelStatus.APPROVED]

    # One batched read: config, clock and every approved model's revenue vault.
    accounts = await ctx.client.get_accounts(
        [ctx.market.config, CLOCK_SYSVAR_ID, *(m.model.revenue_vault for m in approved)]
    )
    config_acc, clock_acc, vaults = accounts[0], accounts[1], accounts[2:]
    if config_acc is None or clock_acc is None:
        raise RuntimeError("the program config or the clock sysvar is missing")
    config = ctx.client.decode(config_acc, Config)
    now = _CLOCK_UNIX_TS.unpack_from(bytes(clock_acc.data), _CLOCK_UNIX_TS_OFFSET)[0]
    balances: dict[Pubkey, int | None] = {}
    for m, acc in zip(approved, vaults, strict=True):
        balances[m.address] = _amount(acc.data if acc is not None else None)
    report.scanned = len(approved)

    for m in models:
        if m.leftover == 0 and m.address not in balances:
            continue  # not approved and nothing to burn
        if ctx.stopping.is_set():
            report.stopped_early = True
            break
        result = ModelResult(model=m.slug, address=str(m.address))
        try:
            await _process(ctx, m, balances.get(m.address), config, now, busy, result)
        except Exception as exc:  # the per-model isolation boundary: log, count, go on
            result.outcome, result.reason = "failed", type(exc).__name__
            result.detail = str(exc)
            log.warning(
                "buyback of %s failed: %s: %s",
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
        _log_result(result, ctx.dry_run)
        report.results.append(result)
    return report


def _amount(data: bytes | None) -> int | None:
    if data is None:
        return None
    try:
        return decode_token_account(bytes(data)).amount
    except TokenDecodeError:
        return None


def _skip(result: ModelResult, reason: str, detail: str = "") -> None:
    if result.outcome not in ("burned", "simulated"):
        result.outcome = "skipped"
    result.reason, result.detail = reason, detail


async def _process(
    ctx: CrankContext,
    m: ListedModel,
    balance: int | None,
    config: Config,
    now: int,
    busy: set[Pubkey],
    result: ModelResult,
) -> None:
    settings = ctx.config.buyback
    if m.address in busy:
        _skip(result, "pending_tx", "a transaction for this model may still land")
        return
    if m.leftover > 0:
        await _burn(ctx, m, result)
    if balance is None:
        if m.model.status == ModelStatus.APPROVED:
            _skip(result, "no_vault", "revenue vault missing or not a token account")
        return
    threshold = settings.threshold_micro_usdc
    if balance < threshold:
        _skip(result, "below_threshold", f"{_micro_usdc(balance)} < {_micro_usdc(threshold)}")
        return
    if config.paused:
        _skip(result, "paused", "the protocol is paused")
        return
    policy = settings.reference_policy
    reference: Fraction | None = None
    history: list[Observation] = []
    if policy.enabled:
        history = await _observe(ctx, m, now, policy)
        reference = reference_price(history, now, policy)
    last, cooldown = m.model.last_buyback_ts, config.buyback_cooldown_secs
    if last != 0 and now < last + cooldown:
        _skip(result, "cooldown", f"{last + cooldown - now} s left")
        return
    if policy.enabled and reference is None:
        _skip(
            result,
            "reference_warming_up",
            f"{len(fresh(history, now, policy))} of {policy.min_observations} price "
            "observations; no buyback before the reference price exists",
        )
        return
    amount_in = balance
    for cap in (config.max_buyback_per_call, settings.max_per_call_micro_usdc):
        if cap > 0:
            amount_in = min(amount_in, cap)

    route = await _quote(ctx, m, amount_in)
    if reference is not None:
        guarded = await _within_reference(ctx, m, route, reference, min(threshold, amount_in))
        if isinstance(guarded, str):
            _skip(result, "price_deviation", guarded)
            return
        route = guarded
    allowed = list(config.swap_programs[: config.swap_program_count])
    programs = [route.swap_program] + ([route.buy_leg.program] if route.buy_leg else [])
    refused = [p for p in programs if p not in allowed]
    if refused:
        _skip(result, "swap_program_not_allowed", f"{route.venue} uses {refused[0]}")
        return
    impact_bps = None if route.price_impact is None else route.price_impact * 10_000
    if impact_bps is not None and impact_bps > settings.max_price_impact_bps:
        _skip(result, "price_impact", f"{impact_bps:.0f} bps > {settings.max_price_impact_bps}")
        return
    await ctx.checkpoint("buyback:quoted", m.slug)
    assert ctx.venue is not None  # _quote checked it
    fresh_route = await requote_if_stale(ctx.venue, route, max_age_s=settings.max_quote_age_secs)
    if fresh_route is not route and reference is not None:
        tolerance = policy.max_deviation_bps
        if not within(reference, fresh_route.in_amount, fresh_route.expected_out, tolerance):
            _skip(result, "price_deviation", "the price moved away while re-quoting")
            return
    route = fresh_route
    min_out = route.min_out
    if reference is not None:  # the program refuses less than the reference allows
        min_out = max(min_out, floor_out(reference, route.in_amount, policy.max_deviation_bps))
    ix = _buyback_instruction(ctx, m, route, min_out)
    # The route's own tables, and the crank's for the keys they lack when the transaction
    # does not fit without (a dry run uses the crank's table as it is, extending nothing).
    given = await ctx.sender.lookup_tables(route.address_lookup_tables)
    tables = await LookupTables(ctx.sender, job=JOB).for_instructions(
        [ix], given, extend=not ctx.dry_run
    )
    if ctx.dry_run:
        sim = await ctx.sender.simulate([ix], job=JOB, kind="buyback", lookup_tables=tables)
        ev = _event(sim.events, BuybackExecuted)
        result.outcome, result.reason = "simulated", "dry_run"
        result.detail = (
            f"would spend {_micro_usdc(ev.usdc_spent)} for {ev.tokens_bought} tokens "
            f"(min_out {min_out})"
        )
        return
    if route.prepare_instructions:
        await ctx.sender.send(list(route.prepare_instructions), job=JOB, kind="prepare")
    sent = await ctx.sender.send([ix], job=JOB, kind="buyback", lookup_tables=tables)
    ev = _event(sent.events, BuybackExecuted)
    result.usdc_spent += ev.usdc_spent
    result.tokens_bought += ev.tokens_bought
    result.signatures.append(str(sent.signature))
    result.outcome, result.reason = "bought", ""
    result.detail = f"{_micro_usdc(ev.usdc_spent)} -> {ev.tokens_bought} tokens via {route.venue}"
    await ctx.checkpoint("buyback:bought", m.slug)
    await _burn(ctx, m, result)
    result.outcome = "bought"


def _buyback_instruction(
    ctx: CrankContext, m: ListedModel, route: Route, min_out: int
) -> Instruction:
    """``buyback``, or ``buyback_sol`` when the route has a buy leg (a SOL-paired coin)."""
    if route.buy_leg is None:
        return ctx.market.buyback(
            ctx.crank.pubkey(),
            m.slug,
            swap_program=route.swap_program,
            swap_data=route.data,
            swap_accounts=route.remaining_accounts(),
            amount_in=route.in_amount,
            min_out=min_out,
        )
    return ctx.market.buyback_sol(
        ctx.crank.pubkey(),
        m.slug,
        swap_program=route.swap_program,
        swap_data=route.data,
        swap_accounts=route.remaining_accounts(),
        buy_program=route.buy_leg.program,
        buy_data=route.buy_leg.data,
        buy_accounts=list(route.buy_leg.accounts),
        amount_in=route.in_amount,
        min_out=min_out,
    )


async def _quote(ctx: CrankContext, m: ListedModel, amount_in: int) -> Route:
    venue = ctx.venue
    if venue is None:
        raise RuntimeError("no venue configured")
    return await venue.quote(
        ctx.market.usdc_mint,
        m.model.mint,
        amount_in,
        ctx.config.buyback.slippage_bps,
        authority=m.address,
        source=m.model.revenue_vault,
        destination=m.model.buyback_vault,
    )


async def _observe(
    ctx: CrankContext, m: ListedModel, now: int, policy: ReferencePolicy
) -> list[Observation]:
    """Quote the probe amount on the reference venue and record it (not in a dry run); the
    history the reference is taken from, this observation included when recorded."""
    venue = ctx.reference_venue or ctx.venue
    if venue is None:
        raise RuntimeError("no venue configured")
    probe = await venue.quote(
        ctx.market.usdc_mint,
        m.model.mint,
        ctx.config.buyback.probe_micro_usdc,
        ctx.config.buyback.slippage_bps,
        authority=m.address,
        source=m.model.revenue_vault,
        destination=m.model.buyback_vault,
    )
    seen = Observation(now, probe.in_amount, probe.expected_out)
    key = f"{m.address}:{venue.name}"
    if ctx.dry_run:
        return admit(ctx.state.observations(key), seen, policy)
    return ctx.state.record_observation(key, seen, policy)


async def _within_reference(
    ctx: CrankContext, m: ListedModel, route: Route, reference: Fraction, smallest: int
) -> Route | str:
    """``route``, or a re-quote of a smaller amount, whose price is within the tolerance of
    the reference; else why not (a string)."""
    tolerance = ctx.config.buyback.max_price_deviation_bps

    async def requote(amount: int) -> Route:
        return await _quote(ctx, m, amount)

    ok = await within_reference(route, requote, reference, tolerance, smallest=smallest)
    if ok is not None:
        return ok
    deviation = deviation_bps(reference, route.in_amount, route.expected_out)
    return (
        f"{_micro_usdc(route.in_amount)} would buy {float(deviation):.0f} bps below the "
        f"reference price, and no smaller amount down to {_micro_usdc(smallest)} is within "
        f"{tolerance} bps"
    )


async def _burn(ctx: CrankContext, m: ListedModel, result: ModelResult) -> None:
    ix = ctx.market.burn(ctx.crank.pubkey(), m.slug, m.model.mint, m.model.token_program)
    if ctx.dry_run:
        sim = await ctx.sender.simulate([ix], job=JOB, kind="burn")
        ev = _event(sim.events, TokensBurned)
        result.outcome, result.reason = "simulated", "dry_run"
        result.detail = f"would burn {ev.amount} tokens left in the buyback vault"
        return
    sent = await ctx.sender.send([ix], job=JOB, kind="burn")
    ev = _event(sent.events, TokensBurned)
    result.tokens_burned += ev.amount
    result.signatures.append(str(sent.signature))
    result.outcome = "burned"


def _event(events: tuple[object, ...], kind: type[E]) -> E:
    for e in events:
        if isinstance(e, kind):
            return e
    raise RuntimeError(f"the transaction emitted no {kind.__name__} event")


def _log_result(r: ModelResult, dry_run: bool) -> None:
    extra = {
        "event": "model_result",
        "job": JOB,
        "model": r.model,
        "outcome": r.outcome,
        "reason": r.reason,
        "usdc_spent": r.usdc_spent,
        "tokens_bought": r.tokens_bought,
        "tokens_burned": r.tokens_burned,
        "signatures": r.signatures,
        "dry_run": dry_run,
    }
    level = logging.WARNING if r.outcome == "failed" else logging.INFO
    if r.outcome == "skipped" and r.reason == "below_threshold":
        level = logging.DEBUG
    log.log(level, "%s: %s %s %s", r.model, r.outcome, r.reason, r.detail, extra=extra)
