"""Track B listings: pump.fun coins (USDC-paired ``create_v2`` coins, or any existing pump.fun
/ ClawPump mint) attached to a model.

Before a creator asks for the admin's approval (which pins the mint) the coin is checked the
way ``tokenize_model`` will check it, and its market is read: which venue the buyback crank
will use (the USDC-paired bonding curve, PumpSwap after graduation, or, for SOL-paired coins
such as ClawPump launches, ``buyback_sol``: on the curve, then on PumpSwap's WSOL pool once
they graduate).

A listable mint is a classic SPL mint or a Token-2022 mint carrying only the two metadata
extensions ``create_v2`` sets (MetadataPointer, TokenMetadata), with no mint authority (fixed
supply) and no freeze authority.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import WRAPPED_SOL_MINT

from bourse_chain import pump_curve, pump_swap
from bourse_chain.generated.pump.accounts import BondingCurve
from bourse_chain.token_layout import (
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAMS,
    TokenDecodeError,
    decode_mint,
)
from bourse_ops import list_model
from bourse_ops.common import Session
from bourse_ops.errors import InvalidInput
from bourse_ops.market_view import ModelView

#: Token-2022 extension types a pump.fun ``create_v2`` mint carries (MetadataPointer,
#: TokenMetadata); any other extension is refused.
CREATE_V2_EXTENSIONS = frozenset({18, 19})


class MintNotListable(InvalidInput):
    """The mint cannot back a model's buybacks (authorities, extensions, program)."""


@dataclass(frozen=True)
class PumpMarket:
    """What the crank will find for this coin."""

    curve: str | None  # the bonding curve address, when there is one
    quote_mint: str | None
    complete: bool
    venue: str  # "pump_curve" | "pump_curve_sol" | "pump_swap" | "pump_swap_sol" | "none"
    reason: str


@dataclass(frozen=True)
class CoinCheck:
    mint: str
    token_program: str
    kind: str  # "spl" | "token2022"
    extensions: tuple[int, ...]
    supply: int
    decimals: int
    market: PumpMarket

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_mint_data(data: bytes, owner: Pubkey) -> tuple[str, tuple[int, ...], int, int]:
    """``(kind, extensions, supply, decimals)`` of a listable mint; raises
    :class:`MintNotListable` with the reason otherwise."""
    if owner not in TOKEN_PROGRAMS:
        raise MintNotListable(f"the account is owned by {owner}, not a token program")
    try:
        info = decode_mint(data)
    except TokenDecodeError as exc:
        raise MintNotListable(f"not a mint: {exc}") from exc
    if info.mint_authority is not None:
        raise MintNotListable("the mint authority is still set: the supply is not fixed")
    if info.freeze_authority is not None:
        raise MintNotListable("a freeze authority is set: it could freeze the buyback vault")
    if owner == TOKEN_2022_PROGRAM_ID:
        extra = sorted(set(info.extension_types) - CREATE_V2_EXTENSIONS)
        if extra:
            raise MintNotListable(
                f"Token-2022 extensions {extra} beyond pump.fun's metadata pointer/metadata"
            )
        return "token2022", info.extension_types, info.supply, info.decimals
    if info.extension_types:
        raise MintNotListable("an SPL Token mint with extension data")
    return "spl", (), info.supply, info.decimals


async def pump_market(session: Session, mint: Pubkey) -> PumpMarket:
    usdc = session.market.usdc_mint
    address = pump_curve.curve_address(mint)
    found = await session.client.get_account(address)
    if found is None:
        pool = await session.client.get_account(pump_swap.canonical_pool(mint, usdc)[0])
        if pool is not None:
            return PumpMarket(None, str(usdc), True, "pump_swap", "graduated to PumpSwap")
        return PumpMarket(None, None, False, "none", "no pump.fun curve or PumpSwap pool")
    curve = BondingCurve.decode(bytes(found.data))
    quote = str(curve.quote_mint)
    if curve.quote_mint in (Pubkey.default(), WRAPPED_SOL_MINT):
        sol_venue, sol_reason = (
            ("pump_swap_sol", "SOL-paired and graduated: buyback_sol on PumpSwap's WSOL pool")
            if curve.complete
            else ("pump_curve_sol", "SOL-paired bonding curve: buyback_sol (crank sol_venue)")
        )
        return PumpMarket(str(address), quote, curve.complete, sol_venue, sol_reason)
    if curve.quote_mint != usdc:
        return PumpMarket(
            str(address),
            quote,
            curve.complete,
            "none",
            "paired with another quote mint: buyback needs USDC or SOL",
        )
    venue, reason = (
        ("pump_swap", "the curve is complete: PumpSwap")
        if curve.complete
        else ("pump_curve", "USDC-paired bonding curve")
    )
    return PumpMarket(str(address), quote, curve.complete, venue, reason)


async def check_coin(session: Session, mint: Pubkey) -> CoinCheck:
    """Verify ``mint`` for a Track B listing and read its market."""
    found = await session.client.get_account(mint)
    if found is None:
        raise MintNotListable(f"mint {mint} does not exist")
    kind, extensions, supply, decimals = check_mint_data(bytes(found.data), found.owner)
    market = await pump_market(session, mint)
    return CoinCheck(str(mint), str(found.owner), kind, extensions, supply, decimals, market)


async def attach(session: Session, creator: Keypair, slug: str, mint: Pubkey) -> ModelView:
    """Verify the coin, then tokenize the (approved, mint-pinned) model with it."""
    check = await check_coin(session, mint)
    if check.market.venue == "none":
        raise MintNotListable(f"{mint}: {check.market.reason}")
    return await list_model.tokenize_model(session, creator, slug, mint)
