"""Creator scripts: create a model token, register a model, tokenize it, show its status.

A model token has a fixed supply minted to the creator (mint authority revoked, no freeze
authority): classic SPL, or Token-2022 optionally with a transfer fee of at most
``MAX_MODEL_TOKEN_TRANSFER_FEE_BPS`` whose withdraw-withheld authority is the compute
market's config PDA (so the protocol can harvest the withheld fees) and whose config
authority is none (so nobody can ever raise it and freeze the buybacks). The admin approves
a listing together with its mint (``bourse admin approve SLUG --mint M``); only that mint can
be attached. ``python scripts/list_model.py ...`` is ``bourse model ...``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain import mints
from bourse_chain.generated.compute_market.constants import MAX_MODEL_TOKEN_TRANSFER_FEE_BPS
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.pda import model_pda
from bourse_ops.common import Session, base_units_json
from bourse_ops.errors import AlreadyExists, FeeAboveCap, InvalidInput
from bourse_ops.market_view import ModelView, fetch_model, model_status

SLUG_RE = re.compile(r"^[A-Za-z0-9._/:-]{1,32}$")
MAX_URI_BYTES = 128
U64_MAX = 2**64 - 1


@dataclass(frozen=True)
class TokenCreated:
    mint: str
    token_program: str
    token_kind: str
    supply: int
    decimals: int
    creator_token_account: str
    transfer_fee_bps: int | None
    transfer_fee_maximum: int | None
    withdraw_withheld_authority: str | None
    signature: str

    def to_json(self) -> dict[str, Any]:
        return base_units_json(asdict(self), "supply", "transfer_fee_maximum")


async def create_model_token(
    session: Session,
    creator: Keypair,
    *,
    supply: int,
    decimals: int = 6,
    token_2022: bool = False,
    transfer_fee_bps: int | None = None,
    maximum_fee: int | None = None,
    mint: Keypair | None = None,
) -> TokenCreated:
    """Create a fixed-supply model token: ``supply`` base units to the creator.

    ``transfer_fee_bps`` (Token-2022 only, at most ``MAX_MODEL_TOKEN_TRANSFER_FEE_BPS``) adds
    the transfer-fee extension, capped at ``maximum_fee`` base units per transfer (default: no
    practical cap), withdrawable by the config PDA, with no config authority (fixed for good).
    """
    if supply <= 0 or supply > U64_MAX:
        raise InvalidInput("supply must be between 1 and 2^64-1 base units")
    if not 0 <= decimals <= 9:
        raise InvalidInput("decimals must be 0-9")
    if transfer_fee_bps is not None and not token_2022:
        raise InvalidInput("a transfer fee needs a Token-2022 mint (--token-2022)")
    if (
        transfer_fee_bps is not None
        and not 0 <= transfer_fee_bps <= MAX_MODEL_TOKEN_TRANSFER_FEE_BPS
    ):
        raise InvalidInput(
            f"transfer fee must be 0-{MAX_MODEL_TOKEN_TRANSFER_FEE_BPS} bps (the listing cap)"
        )
    mint = mint or Keypair()
    payer = creator.pubkey()
    await session.require_sol(payer)
    fee: mints.TransferFeeSetup | None = None
    if transfer_fee_bps is not None:
        fee = mints.TransferFeeSetup(
            bps=transfer_fee_bps,
            maximum_fee=U64_MAX if maximum_fee is None else maximum_fee,
            withdraw_withheld_authority=session.deployment.config_address,
            config_authority=None,
        )
    if token_2022:
        made = mints.token2022_model_mint(payer, mint.pubkey(), payer, supply, decimals, fee)
    else:
        made = mints.spl_model_mint(payer, mint.pubkey(), payer, supply, decimals)
    result = await session.send(made.instructions, [creator, mint])
    return TokenCreated(
        mint=str(made.mint),
        token_program=str(made.token_program),
        token_kind="token2022" if token_2022 else "spl",
        supply=supply,
        decimals=decimals,
        creator_token_account=str(made.creator_token_account),
        transfer_fee_bps=fee.bps if fee else None,
        transfer_fee_maximum=fee.maximum_fee if fee else None,
        withdraw_withheld_authority=str(fee.withdraw_withheld_authority) if fee else None,
        signature=str(result.signature),
    )


def check_slug(slug: str) -> None:
    if not SLUG_RE.match(slug):
        raise InvalidInput(f"slug {slug!r} must be 1-32 characters of [A-Za-z0-9._/:-]")


async def register_model(
    session: Session, creator: Keypair, slug: str, fee_bps: int, metadata_uri: str = ""
) -> ModelView:
    """List a model (status pending until the admin approves it) with its revenue vault."""
    check_slug(slug)
    if len(metadata_uri.encode()) > MAX_URI_BYTES:
        raise InvalidInput(f"metadata URI is longer than {MAX_URI_BYTES} bytes")
    config = session.config
    if fee_bps > config.max_model_fee_bps:
        raise FeeAboveCap("the creator fee", fee_bps, config.max_model_fee_bps)
    address = model_pda(slug, session.client.program_id)[0]
    if await session.client.get_account(address) is not None:
        raise AlreadyExists(f"model {slug!r} is already registered ({address})")
    await session.require_sol(creator.pubkey())
    ix = session.market.register_model(creator.pubkey(), slug, fee_bps, metadata_uri)
    await session.send([ix], [creator])
    return await model_status(session, slug)


async def tokenize_model(session: Session, creator: Keypair, slug: str, mint: Pubkey) -> ModelView:
    """Attach the model's token (the model must be approved with this mint) and create its
    buyback vault."""
    _, model = await fetch_model(session, slug)
    if model.creator != creator.pubkey():
        raise InvalidInput(f"only the model's creator {model.creator} may tokenize {slug!r}")
    if model.status != ModelStatus.APPROVED:
        raise InvalidInput(
            f"model {slug!r} is {model.status.name.lower()}: the admin must approve it first"
        )
    token_program, _, _ = await session.mint_info(mint)
    if model.approved_mint != mint:
        approved = (
            "no mint"
            if model.approved_mint == Pubkey.default()
            else f"the mint {model.approved_mint}"
        )
        raise InvalidInput(
            f"the admin approved {slug!r} with {approved}, not {mint}: "
            f"ask for `bourse admin approve {slug} --mint {mint}`"
        )
    await session.require_sol(creator.pubkey())
    ix = session.market.tokenize_model(creator.pubkey(), slug, mint, token_program)
    await session.send([ix], [creator])
    return await model_status(session, slug)
