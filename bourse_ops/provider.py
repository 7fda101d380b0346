"""Provider scripts: register an inference provider, publish (upsert) its price for a model,
show it with its offers. Prices are micro-USDC per million tokens.
``python scripts/provider.py ...`` is ``bourse provider ...``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import create_idempotent_associated_token_account

from bourse_chain.generated.compute_market.accounts import Model, Offer, Provider
from bourse_ops.common import Session
from bourse_ops.errors import AlreadyExists, InvalidInput, UnknownProvider
from bourse_ops.market_view import fetch_model, slug_of

MAX_NAME_BYTES = 32


@dataclass(frozen=True)
class OfferView:
    model: str
    slug: str
    offer: str
    price_input_per_mtok: int
    price_output_per_mtok: int
    active: bool
    updated_at: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ProviderView:
    address: str
    authority: str
    name: str
    payout: str
    payout_balance: int | None
    total_earned: int
    active: bool
    offers: list[OfferView] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def provider_status(session: Session, authority: Pubkey) -> ProviderView:
    """The provider of ``authority`` with its offers; ``UnknownProvider`` if none."""
    address = session.market.provider(authority)
    provider = await session.client.fetch(address, Provider)
    if provider is None:
        raise UnknownProvider(authority)
    offers = await session.client.list_offers(provider=address)
    models = await session.client.fetch_many([o.model for _, o in offers], Model)
    views = [
        _offer_view(addr, offer, model) for (addr, offer), model in zip(offers, models, strict=True)
    ]
    return ProviderView(
        address=str(address),
        authority=str(provider.authority),
        name=bytes(provider.name[: provider.name_len]).decode("utf-8", "replace"),
        payout=str(provider.payout),
        payout_balance=await session.token_balance(provider.payout),
        total_earned=provider.total_earned,
        active=provider.active,
        offers=sorted(views, key=lambda v: v.slug),
    )


def _offer_view(address: Pubkey, offer: Offer, model: Model | None) -> OfferView:
    return OfferView(
        model=str(offer.model),
        slug=slug_of(model) if model is not None else "?",
        offer=str(address),
        price_input_per_mtok=offer.price_input_per_mtok,
        price_output_per_mtok=offer.price_output_per_mtok,
        active=offer.active,
        updated_at=offer.updated_at,
    )


async def register_provider(
    session: Session, authority: Keypair, name: str, payout: Pubkey | None = None
) -> ProviderView:
    """Register ``authority`` as a provider; payouts go to ``payout`` (default: its USDC
    associated token account, created here when missing)."""
    if not name or len(name.encode()) > MAX_NAME_BYTES:
        raise InvalidInput(f"provider name must be 1-{MAX_NAME_BYTES} bytes")
    market = session.market
    key = authority.pubkey()
    if await session.client.get_account(market.provider(key)) is not None:
        raise AlreadyExists(f"{key} is already registered as a provider")
    await session.require_sol(key)
    ixs = []
    if payout is None:
        payout = market.usdc_account(key)
        ixs.append(
            create_idempotent_associated_token_account(
                key, key, market.usdc_mint, market.usdc_token_program
            )
        )
    ixs.append(market.register_provider(key, name, payout))
    await session.send(ixs, [authority])
    return await provider_status(session, key)


async def upsert_offer(
    session: Session,
    authority: Keypair,
    slug: str,
    price_input_per_mtok: int,
    price_output_per_mtok: int,
    *,
    active: bool = True,
) -> OfferView:
    """Create or update the provider's price for a model (micro-USDC per million tokens)."""
    model_address, model = await fetch_model(session, slug)
    market = session.market
    key = authority.pubkey()
    if await session.client.get_account(market.provider(key)) is None:
        raise UnknownProvider(key)
    await session.require_sol(key)
    ix = market.upsert_offer(key, slug, price_input_per_mtok, price_output_per_mtok, active)
    await session.send([ix], [authority])
    address = market.offer(slug, key)
    offer = await session.client.fetch(address, Offer)
    assert offer is not None and offer.model == model_address
    return _offer_view(address, offer, model)
