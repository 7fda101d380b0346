"""Admin scripts: initialize the config, approve models (pinning the mint each may be tokenized
with) or delist them (sweeping revenue a frozen token left stuck), update fees and the other
config fields, show the config. ``python scripts/admin.py ...`` is ``bourse admin ...``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import create_idempotent_associated_token_account

from bourse_chain.generated.compute_market.accounts import Config
from bourse_chain.generated.compute_market.constants import (  # generated from the IDL spec
    HARD_MAX_MODEL_FEE_BPS,
    HARD_MAX_PROTOCOL_FEE_BPS,
    MAX_SWAP_PROGRAMS,
)
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from bourse_chain.market import DEFAULT_BUYBACK_COOLDOWN_SECS, DEFAULT_MAX_BUYBACK_PER_CALL
from bourse_ops.common import Session
from bourse_ops.errors import AlreadyExists, FeeAboveCap, InvalidInput
from bourse_ops.market_view import ModelView, fetch_model, model_status

DEFAULT_PUBKEY = Pubkey.default()


@dataclass(frozen=True)
class ConfigView:
    address: str
    admin: str
    pending_admin: str | None
    settler: str
    crank: str
    treasury_authority: str
    treasury: str
    usdc_mint: str
    usdc_token_program: str
    escrow_vault: str
    swap_programs: list[str]
    max_buyback_per_call: int
    buyback_cooldown_secs: int
    protocol_fee_bps: int
    max_protocol_fee_bps: int
    max_model_fee_bps: int
    paused: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def config_view(session: Session) -> ConfigView:
    c: Config = session.config
    return ConfigView(
        address=str(session.deployment.config_address),
        admin=str(c.admin),
        pending_admin=None if c.pending_admin == DEFAULT_PUBKEY else str(c.pending_admin),
        settler=str(c.settler),
        crank=str(c.crank),
        treasury_authority=str(c.treasury_authority),
        treasury=str(session.market.treasury),
        usdc_mint=str(c.usdc_mint),
        usdc_token_program=str(c.usdc_token_program),
        escrow_vault=str(c.escrow_vault),
        swap_programs=[str(p) for p in c.swap_programs[: c.swap_program_count]],
        max_buyback_per_call=c.max_buyback_per_call,
        buyback_cooldown_secs=c.buyback_cooldown_secs,
        protocol_fee_bps=c.protocol_fee_bps,
        max_protocol_fee_bps=c.max_protocol_fee_bps,
        max_model_fee_bps=c.max_model_fee_bps,
        paused=c.paused,
    )


async def init_config(
    session: Session,
    admin: Keypair,
    *,
    settler: Pubkey,
    crank: Pubkey,
    treasury_authority: Pubkey,
    protocol_fee_bps: int = 100,
    max_protocol_fee_bps: int = 500,
    max_model_fee_bps: int = 3_000,
    max_buyback_per_call: int = DEFAULT_MAX_BUYBACK_PER_CALL,
    buyback_cooldown_secs: int = DEFAULT_BUYBACK_COOLDOWN_SECS,
    swap_programs: Sequence[Pubkey] = (),
) -> ConfigView:
    """Create the config and the shared escrow (the program's upgrade authority only), the
    treasury's USDC account if missing, and set the swap allow-list when given."""
    if session.deployment.config is not None:
        raise AlreadyExists(f"the compute market is already initialized on {session.rpc_url}")
    if max_protocol_fee_bps > HARD_MAX_PROTOCOL_FEE_BPS:
        raise FeeAboveCap("the protocol fee cap", max_protocol_fee_bps, HARD_MAX_PROTOCOL_FEE_BPS)
    if max_model_fee_bps > HARD_MAX_MODEL_FEE_BPS:
        raise FeeAboveCap("the creator fee cap", max_model_fee_bps, HARD_MAX_MODEL_FEE_BPS)
    if protocol_fee_bps > max_protocol_fee_bps:
        raise FeeAboveCap("the protocol fee", protocol_fee_bps, max_protocol_fee_bps)
    if len(swap_programs) > MAX_SWAP_PROGRAMS:
        raise InvalidInput(f"at most {MAX_SWAP_PROGRAMS} swap programs")
    market = session.deployment.market(treasury_authority)
    key = admin.pubkey()
    await session.require_sol(key)
    ixs = [
        market.initialize_config(
            key,
            settler,
            crank,
            protocol_fee_bps=protocol_fee_bps,
            max_protocol_fee_bps=max_protocol_fee_bps,
            max_model_fee_bps=max_model_fee_bps,
            max_buyback_per_call=max_buyback_per_call,
            buyback_cooldown_secs=buyback_cooldown_secs,
        ),
        create_idempotent_associated_token_account(
            key, treasury_authority, market.usdc_mint, market.usdc_token_program
        ),
    ]
    if swap_programs:
        ixs.append(market.update_config(key, swap_programs=list(swap_programs)))
    await session.send(ixs, [admin])
    await session.reload()
    return config_view(session)


async def set_model_status(
    session: Session,
    admin: Keypair,
    slug: str,
    status: ModelStatus,
    mint: Pubkey | None = None,
) -> ModelView:
    """Approve or delist a model. Approving with ``mint`` pins the only mint the creator may
    tokenize it with (without one the model can trade but not be tokenized); a tokenized
    model can only be re-approved with its own mint."""
    _, model = await fetch_model(session, slug)
    if mint is not None:
        if status != ModelStatus.APPROVED:
            raise InvalidInput("a mint goes with an approval only")
        if model.token_kind != TokenKind.NONE and mint != model.mint:
            raise InvalidInput(f"{slug!r} is already tokenized with {model.mint}, not {mint}")
        await session.mint_info(mint)
    await session.require_sol(admin.pubkey())
    ix = session.market.set_model_status(admin.pubkey(), slug, status, mint)
    await session.send([ix], [admin])
    return await model_status(session, slug)


async def delist_and_sweep(session: Session, admin: Keypair, slug: str) -> ModelView:
    """Delist a tokenized model whose token's transfer fee can rise (its config authority is
    held by someone: a listing from before that rule) or is above the cap, and move the USDC
    stuck in its revenue vault to the treasury. The program refuses it for any other model
    (``RevenueNotStuck``)."""
    _, model = await fetch_model(session, slug)
    if model.token_kind == TokenKind.NONE:
        raise InvalidInput(f"{slug!r} has no token: nothing can be stuck behind it")
    await session.require_sol(admin.pubkey())
    ix = session.market.delist_and_sweep(admin.pubkey(), slug, model.mint)
    await session.send([ix], [admin])
    return await model_status(session, slug)


async def update_config(
    session: Session,
    admin: Keypair,
    *,
    protocol_fee_bps: int | None = None,
    settler: Pubkey | None = None,
    crank: Pubkey | None = None,
    treasury_authority: Pubkey | None = None,
    swap_programs: Sequence[Pubkey] | None = None,
    max_buyback_per_call: int | None = None,
    buyback_cooldown_secs: int | None = None,
    paused: bool | None = None,
    pending_admin: Pubkey | None = None,
) -> ConfigView:
    """Change the named config fields (the others stay); fees within the caps fixed at init."""
    config = session.config
    if protocol_fee_bps is not None and protocol_fee_bps > config.max_protocol_fee_bps:
        raise FeeAboveCap("the protocol fee", protocol_fee_bps, config.max_protocol_fee_bps)
    if swap_programs is not None and len(swap_programs) > MAX_SWAP_PROGRAMS:
        raise InvalidInput(f"at most {MAX_SWAP_PROGRAMS} swap programs")
    changes: dict[str, Any] = {
        "protocol_fee_bps": protocol_fee_bps,
        "settler": settler,
        "crank": crank,
        "treasury_authority": treasury_authority,
        "swap_programs": list(swap_programs) if swap_programs is not None else None,
        "max_buyback_per_call": max_buyback_per_call,
        "buyback_cooldown_secs": buyback_cooldown_secs,
        "paused": paused,
        "pending_admin": pending_admin,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise InvalidInput("nothing to change: name at least one field")
    market = session.market
    key = admin.pubkey()
    await session.require_sol(key)
    ixs = []
    if treasury_authority is not None:
        ixs.append(
            create_idempotent_associated_token_account(
                key, treasury_authority, market.usdc_mint, market.usdc_token_program
            )
        )
    ixs.append(market.update_config(key, **changes))
    await session.send(ixs, [admin])
    await session.reload()
    return config_view(session)
