"""One crank cycle for a model, run by the config's crank key: buy the model's token back
with the USDC in its revenue vault and burn what arrived; harvest withheld Token-2022
transfer fees to the treasury.

:func:`buyback_and_burn` is the single switch point for the buyback: it quotes the local
``cp_pool`` venue (``cranks.venues.local_pool``) and sends ``buyback`` + ``burn`` itself.
When the operators' job ``cranks.buyback.run_once`` is committed, this function delegates
to it instead (same report). ``python -m scripts.crank ...`` is ``bourse crank ...``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from solana.rpc.models import MemcmpOpts
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_2022_PROGRAM_ID
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
)

from bourse_chain.client import memcmp
from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.generated.compute_market.events import (
    BuybackExecuted,
    FeesHarvested,
    TokensBurned,
)
from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from cranks.venues.local_pool import LocalPoolVenue
from scripts.common import Session
from scripts.errors import InvalidInput
from scripts.market_view import fetch_model

DEFAULT_SLIPPAGE_BPS = 100
MAX_HARVEST_SOURCES = 20
_TOKEN_ACCOUNT_LEN = 165
_EXT_TRANSFER_FEE_AMOUNT = 2
_TLV = struct.Struct("<HH")


@dataclass(frozen=True)
class CrankReport:
    """What one buyback-and-burn did to a model (raw units)."""

    slug: str
    usdc_spent: int = 0
    tokens_bought: int = 0
    tokens_burned: int = 0
    supply_before: int = 0
    supply_after: int = 0
    skipped: str | None = None
    signatures: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def buyback_and_burn(
    session: Session,
    crank: Keypair,
    slug: str,
    *,
    amount_in: int | None = None,
    slippage_bps: int = DEFAULT_SLIPPAGE_BPS,
) -> CrankReport:
    """Buy back with the revenue vault's USDC (``amount_in``, default all of it, within the
    per-call cap) and burn the buyback vault, in one transaction."""
    _, model = await fetch_model(session, slug)
    if model.token_kind == TokenKind.NONE:
        raise InvalidInput(f"model {slug!r} has no token: nothing to buy back")
    market, config = session.market, session.config
    supply_before = (await session.mint_info(model.mint))[1]
    vault = await session.token_balance(model.revenue_vault) or 0
    amount = vault if amount_in is None else min(amount_in, vault)
    if config.max_buyback_per_call:
        amount = min(amount, config.max_buyback_per_call)
    ixs = []
    if amount > 0:
        ixs.append(await _buyback_ix(session, crank.pubkey(), slug, model, amount, slippage_bps))
    if ixs or (await session.token_balance(model.buyback_vault) or 0) > 0:
        ixs.append(market.burn(crank.pubkey(), slug, model.mint, model.token_program))
    if not ixs:
        return CrankReport(
            slug, supply_before=supply_before, supply_after=supply_before, skipped="empty vault"
        )
    result = await session.send(ixs, [crank])
    bought = sum(e.tokens_bought for e in result.events if isinstance(e, BuybackExecuted))
    spent = sum(e.usdc_spent for e in result.events if isinstance(e, BuybackExecuted))
    burned = sum(e.amount for e in result.events if isinstance(e, TokensBurned))
    supply_after = (await session.mint_info(model.mint))[1]
    return CrankReport(
        slug=slug,
        usdc_spent=spent,
        tokens_bought=bought,
        tokens_burned=burned,
        supply_before=supply_before,
        supply_after=supply_after,
        signatures=[str(result.signature)],
    )


async def _buyback_ix(
    session: Session, crank: Pubkey, slug: str, model: Model, amount: int, slippage_bps: int
) -> Any:
    market = session.market

    async def fetch(address: Pubkey) -> bytes | None:
        account = await session.client.get_account(address)
        return None if account is None else bytes(account.data)

    route = await LocalPoolVenue(fetch).quote(
        market.usdc_mint,
        model.mint,
        amount,
        slippage_bps,
        authority=market.model(slug),
        source=model.revenue_vault,
        destination=model.buyback_vault,
    )
    return market.buyback(
        crank,
        slug,
        swap_program=route.swap_program,
        swap_data=route.data,
        swap_accounts=route.remaining_accounts(),
        amount_in=amount,
        min_out=route.min_out,
    )


# ------------------------------------------------------------------------------ harvest


def withheld_amount(data: bytes) -> int:
    """The withheld transfer fee of a Token-2022 account (0 without the extension)."""
    off = _TOKEN_ACCOUNT_LEN + 1
    while off + _TLV.size <= len(data):
        ext_type, length = _TLV.unpack_from(data, off)
        if ext_type == 0:
            break
        if ext_type == _EXT_TRANSFER_FEE_AMOUNT and length >= 8:
            return int(struct.unpack_from("<Q", data, off + _TLV.size)[0])
        off += _TLV.size + length
    return 0


async def fee_sources(session: Session, mint: Pubkey) -> list[Pubkey]:
    """Token accounts of ``mint`` holding withheld fees, largest first (at most 20)."""
    resp = await session.client.rpc.get_program_accounts(
        TOKEN_2022_PROGRAM_ID,
        commitment=session.client.commitment,
        encoding="base64",
        filters=[_mint_filter(mint)],
    )
    found = [
        (withheld_amount(bytes(ka.account.data)), ka.pubkey)
        for ka in resp.value
        if len(ka.account.data) > _TOKEN_ACCOUNT_LEN and ka.account.data[_TOKEN_ACCOUNT_LEN] == 2
    ]
    found.sort(key=lambda x: (-x[0], str(x[1])))
    return [k for w, k in found if w > 0][:MAX_HARVEST_SOURCES]


def _mint_filter(mint: Pubkey) -> MemcmpOpts:
    return memcmp(0, mint)


@dataclass(frozen=True)
class HarvestReport:
    slug: str
    harvested: int
    sources: int
    destination: str
    signature: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def harvest_fees(
    session: Session, crank: Keypair, slug: str, sources: Sequence[Pubkey] | None = None
) -> HarvestReport:
    """Collect the withheld transfer fees of a Token-2022 model token into the treasury's
    token account of that mint (created when missing)."""
    _, model = await fetch_model(session, slug)
    if model.token_kind != TokenKind.TOKEN2022:
        raise InvalidInput(f"model {slug!r} is not a Token-2022 listing: no transfer fees")
    market, config = session.market, session.config
    destination = get_associated_token_address(
        config.treasury_authority, model.mint, TOKEN_2022_PROGRAM_ID
    )
    chosen = list(sources) if sources is not None else await fee_sources(session, model.mint)
    if not chosen:
        return HarvestReport(slug, 0, 0, str(destination), None)
    key = crank.pubkey()
    ixs = [
        create_idempotent_associated_token_account(
            key, config.treasury_authority, model.mint, TOKEN_2022_PROGRAM_ID
        ),
        market.harvest_fees(key, slug, model.mint, destination, chosen[:MAX_HARVEST_SOURCES]),
    ]
    result = await session.send(ixs, [crank])
    amount = sum(e.amount for e in result.events if isinstance(e, FeesHarvested))
    return HarvestReport(slug, amount, len(chosen), str(destination), str(result.signature))


if __name__ == "__main__":
    from bourse_cli.app import run_group

    run_group("crank")
