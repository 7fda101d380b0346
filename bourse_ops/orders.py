"""Paid calls: open an order (the payer's pre-flight hold), settle or release it (the settler),
list open orders, and settle a payment collected off-chain (the settler).

Everything goes through :class:`bourse_chain.settlement.Settlement` (holds, settlement,
batches), so every operation is idempotent by its key; charges use ``bourse_chain.money``.
``python scripts/orders.py ...`` is ``bourse order ...``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.accounts import Offer, Order
from bourse_chain.money import usage_charge
from bourse_chain.results import Split
from bourse_chain.settlement import PaidCall, Settlement
from bourse_ops.common import Session
from bourse_ops.errors import InsufficientUsdc, InvalidInput
from bourse_ops.market_view import fetch_model


def hold_for(offer: Offer, max_input_tokens: int, max_output_tokens: int) -> int:
    """The upper-bound charge the program escrows at ``offer``'s prices.

    >>> hold_for(Offer(Pubkey.default(), Pubkey.default(), 270_000, 1_100_000, 0, True, 0,
    ...                bytes(14)), 1_000, 1_000)
    1370
    """
    return usage_charge(
        offer.price_input_per_mtok, offer.price_output_per_mtok, max_input_tokens, max_output_tokens
    )


@dataclass(frozen=True)
class OrderView:
    order: str
    payer: str
    payer_token: str
    model: str
    provider: str
    nonce: int
    hold: int
    price_input_per_mtok: int
    price_output_per_mtok: int
    opened_at: int
    expires_at: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def order_view(address: Pubkey, o: Order) -> OrderView:
    return OrderView(
        order=str(address),
        payer=str(o.payer),
        payer_token=str(o.payer_token),
        model=str(o.model),
        provider=str(o.provider),
        nonce=o.nonce,
        hold=o.hold,
        price_input_per_mtok=o.price_input_per_mtok,
        price_output_per_mtok=o.price_output_per_mtok,
        opened_at=o.opened_at,
        expires_at=o.expires_at,
    )


def split_json(split: Split) -> dict[str, int]:
    return {
        "gross": split.gross,
        "provider": split.provider,
        "creator": split.creator,
        "protocol": split.protocol,
        "refund": split.refund,
    }


async def open_order(
    session: Session,
    payer: Keypair,
    slug: str,
    provider_authority: Pubkey,
    *,
    max_input_tokens: int,
    max_output_tokens: int,
    ttl_secs: int = 600,
    key: str,
) -> OrderView:
    """Escrow the upper-bound charge of a call at the provider's offer; ``key`` is the
    idempotency key (the same key reopens nothing)."""
    market = session.market
    await fetch_model(session, slug)
    offer = await session.client.fetch(market.offer(slug, provider_authority), Offer)
    if offer is None or not offer.active:
        raise InvalidInput(f"provider {provider_authority} has no active offer for {slug!r}")
    payer_key = payer.pubkey()
    settlement = await _settlement(session, None)
    address = settlement.order_address(payer_key, key)
    if await session.client.get_account(address) is None:
        hold = hold_for(offer, max_input_tokens, max_output_tokens)
        source = market.usdc_account(payer_key)
        balance = await session.token_balance(source)
        if balance is None or balance < hold:
            raise InsufficientUsdc(source, balance or 0, hold)
        await session.require_sol(payer_key)
    held = await settlement.open_hold(
        payer,
        slug,
        market.provider(provider_authority),
        max_input_tokens,
        max_output_tokens,
        ttl_secs,
        key,
        max_hold=hold_for(offer, max_input_tokens, max_output_tokens),
    )
    opened = await session.client.fetch(held.order, Order)
    if opened is None:
        raise InvalidInput(f"order {held.order} was closed right after opening")
    return order_view(held.order, opened)


async def _settlement(session: Session, settler: Keypair | None) -> Settlement:
    """The settlement API; a payer-side caller (``settler=None``) only opens holds."""
    return Settlement(session.client, settler, session.config)


async def settle_order(
    session: Session, settler: Keypair, order: Pubkey, input_tokens: int, output_tokens: int
) -> dict[str, int]:
    """Charge actual usage of an open order; returns its split (incl. the refund)."""
    await session.require_sol(settler.pubkey())
    split = await (await _settlement(session, settler)).settle(order, input_tokens, output_tokens)
    return split_json(split)


async def release_order(session: Session, settler: Keypair, order: Pubkey) -> dict[str, int]:
    """Cancel an order as settler: the whole hold goes back to the payer."""
    await session.require_sol(settler.pubkey())
    return split_json(await (await _settlement(session, settler)).release(order))


async def list_orders(session: Session, *, payer: Pubkey | None = None) -> list[OrderView]:
    orders = await session.client.list_orders(payer=payer)
    return sorted((order_view(a, o) for a, o in orders), key=lambda v: (v.opened_at, v.order))


async def settle_payment(
    session: Session,
    settler: Keypair,
    slug: str,
    provider_authority: Pubkey,
    amount: int,
    payment_id: str,
    *,
    source_authority: Keypair | None = None,
) -> dict[str, Any]:
    """Split ``amount`` micro-USDC collected in the source's USDC account (default: the
    settler's own) between provider, creator and protocol, once per ``payment_id``.

    A replay moves nothing: it answers the split recorded in the payment's receipt, with
    ``already_settled`` true."""
    if amount <= 0:
        raise InvalidInput("amount must be positive")
    await fetch_model(session, slug)
    market = session.market
    owner = source_authority or settler
    source = market.usdc_account(owner.pubkey())
    balance = await session.token_balance(source)
    if balance is None or balance < amount:
        raise InsufficientUsdc(source, balance or 0, amount)
    await session.require_sol(settler.pubkey())
    settlement = await _settlement(session, settler)
    call = PaidCall(payment_id, amount, slug, market.provider(provider_authority))
    batch = await settlement.settle_batch([call], source=source, source_authority=owner)
    return {**split_json(batch.split), "already_settled": batch.signature is None}
