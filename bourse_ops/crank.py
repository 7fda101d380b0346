"""One crank cycle for a model, run by the config's crank key: buy the model's token back
with the USDC in its revenue vault and burn what arrived; harvest withheld Token-2022
transfer fees to the treasury.

Both go through the operators' jobs (``cranks.buyback.run_once`` and
``cranks.harvest.run_once``, the same code the ``bourse-crank`` daemon schedules), restricted
to one model, on the local ``cp_pool`` venue. The sent-transaction journal and the fee
ledger live in ``state_dir`` (default: the daemon's, so a manual run and a running daemon
never double a buyback). ``python scripts/crank.py ...`` is ``bourse crank ...``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from solders.keypair import Keypair
from spl.token.constants import TOKEN_2022_PROGRAM_ID
from spl.token.instructions import get_associated_token_address

from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_ops.common import Session, base_units_json
from bourse_ops.errors import InvalidInput, ScriptError
from bourse_ops.market_view import fetch_model
from cranks import buyback, harvest
from cranks.config import (
    BuybackSettings,
    CrankConfig,
    HarvestSettings,
    LocalPoolSettings,
)
from cranks.daemon import CrankContext, build_context

log = logging.getLogger(__name__)

DEFAULT_SLIPPAGE_BPS = 100
#: Buy back from any non-empty vault (the daemon's default threshold is 10 USDC).
ANY_BALANCE = Decimal("0.000001")


class CrankFailed(ScriptError):
    """The crank job reported a failure for the model."""


@dataclass(frozen=True)
class CrankReport:
    """What one buyback-and-burn did to a model (raw units)."""

    slug: str
    outcome: str
    usdc_spent: int = 0
    tokens_bought: int = 0
    tokens_burned: int = 0
    supply_before: int = 0
    supply_after: int = 0
    token_decimals: int = 0
    detail: str = ""
    signatures: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return base_units_json(
            asdict(self), "tokens_bought", "tokens_burned", "supply_before", "supply_after"
        )


@dataclass(frozen=True)
class HarvestReport:
    slug: str
    outcome: str
    #: Model-token base units moved to the treasury's token account.
    harvested: int
    sources: int
    destination: str
    detail: str
    signatures: list[str] = field(default_factory=list)
    token_decimals: int = 0

    def to_json(self) -> dict[str, Any]:
        return base_units_json(asdict(self), "harvested")


def crank_config(
    session: Session,
    slug: str,
    *,
    state_dir: Path | None = None,
    max_usdc: int | None = None,
    slippage_bps: int = DEFAULT_SLIPPAGE_BPS,
) -> CrankConfig:
    """The operators' configuration for a one-model cycle on this session's cluster."""
    manifest = session.deployment.manifest
    pool_id = manifest.program_ids.get("cp_pool", CP_POOL_ID) if manifest else None
    config = CrankConfig(
        rpc_urls=(session.rpc_url,),
        program_id=session.client.program_id,
        buyback=BuybackSettings(
            threshold_usdc=ANY_BALANCE,
            max_per_call_usdc=Decimal(max_usdc or 0) / 1_000_000,
            slippage_bps=slippage_bps,
            venue="local_pool",
            models=(slug,),
            # A manual one-shot buyback has no price history to compare against: the
            # operator chooses the amount; the daemon keeps the reference price guard.
            reference_min_observations=0,
        ),
        harvest=HarvestSettings(models=(slug,)),
        local_pool=LocalPoolSettings(program_id=pool_id),
    )
    return config.replace(state_dir=str(state_dir)) if state_dir is not None else config


async def _run_job(config: CrankConfig, crank: Keypair, job: str) -> Any:
    ctx: CrankContext = await build_context(config, keypair=crank)
    try:
        return await (buyback.run_once(ctx) if job == "buyback" else harvest.run_once(ctx))
    finally:
        await ctx.aclose()


async def buyback_and_burn(
    session: Session,
    crank: Keypair,
    slug: str,
    *,
    amount_in: int | None = None,
    slippage_bps: int = DEFAULT_SLIPPAGE_BPS,
    state_dir: Path | None = None,
) -> CrankReport:
    """Buy back with the revenue vault's USDC (``amount_in``, default all of it, within the
    program's per-call cap) and burn the buyback vault: ``cranks.buyback.run_once``."""
    _, model = await fetch_model(session, slug)
    if model.token_kind == TokenKind.NONE:
        raise InvalidInput(f"model {slug!r} has no token: nothing to buy back")
    if amount_in is not None and amount_in <= 0:
        raise InvalidInput("the amount to spend must be positive")
    _, supply_before, decimals = await session.mint_info(model.mint)
    config = crank_config(
        session, slug, state_dir=state_dir, max_usdc=amount_in, slippage_bps=slippage_bps
    )
    report: buyback.BuybackReport = await _run_job(config, crank, "buyback")
    result = next((r for r in report.results if r.model == slug), None)
    if result is None:
        outcome, detail = "skipped", "not approved, or nothing to buy back or burn"
        spent = bought = burned = 0
        signatures: list[str] = []
    else:
        if result.outcome == "failed":
            raise CrankFailed(f"buyback of {slug} failed: {result.reason}: {result.detail}")
        outcome, detail = result.outcome, result.detail or result.reason
        spent, bought, burned = result.usdc_spent, result.tokens_bought, result.tokens_burned
        signatures = result.signatures
    return CrankReport(
        slug=slug,
        outcome=outcome,
        usdc_spent=spent,
        tokens_bought=bought,
        tokens_burned=burned,
        supply_before=supply_before,
        supply_after=(await session.mint_info(model.mint))[1],
        token_decimals=decimals,
        detail=detail,
        signatures=signatures,
    )


async def harvest_fees(
    session: Session, crank: Keypair, slug: str, *, state_dir: Path | None = None
) -> HarvestReport:
    """Collect the withheld transfer fees of a Token-2022 model token into the treasury's
    token account of that mint: ``cranks.harvest.run_once``."""
    _, model = await fetch_model(session, slug)
    if model.token_kind != TokenKind.TOKEN2022:
        raise InvalidInput(f"model {slug!r} is not a Token-2022 listing: no transfer fees")
    destination = get_associated_token_address(
        session.config.treasury_authority, model.mint, TOKEN_2022_PROGRAM_ID
    )
    config = crank_config(session, slug, state_dir=state_dir)
    report: harvest.HarvestReport = await _run_job(config, crank, "harvest")
    result = next((r for r in report.results if r.model == slug), None)
    decimals = (await session.mint_info(model.mint))[2]
    if result is None:
        return HarvestReport(slug, "skipped", 0, 0, str(destination), "not listed", [], decimals)
    if result.outcome == "failed":
        raise CrankFailed(f"harvest of {slug} failed: {result.reason}: {result.detail}")
    return HarvestReport(
        slug,
        result.outcome,
        result.harvested,
        result.sources,
        str(destination),
        result.detail or result.reason,
        result.signatures,
        decimals,
    )
