"""BourseClient reads over JSON-RPC: fetch / fetch_many (batches of 100, order kept, None for
missing), getProgramAccounts listings with dataSize + memcmp filters."""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.client import BourseClient
from bourse_chain.errors import AccountDecodeError
from bourse_chain.generated.compute_market import PROGRAM_ID
from bourse_chain.generated.compute_market.accounts import Model, Offer, Order, Provider
from bourse_chain.settlement import Settlement
from tests.support.localnet_market import (
    FAST,
    MarketEnv,
    add_model,
    add_offer,
    needs_program,
    start_market,
)

pytestmark = needs_program

RENT = 10**7  # lamports given to injected accounts (rent-exempt for their size)


@pytest.fixture(scope="module")
async def market(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MarketEnv]:
    async with start_market(tmp_path_factory.mktemp("client-fetch")) as env:
        yield env


class MethodCounter:
    """Counts JSON-RPC methods through an httpx2 request event hook."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    async def __call__(self, request: httpx2.Request) -> None:
        body: Any = json.loads(request.content)
        for call in body if isinstance(body, list) else [body]:
            self.calls[call["method"]] += 1


@pytest.fixture
async def counted(market: MarketEnv) -> AsyncIterator[tuple[BourseClient, MethodCounter]]:
    counter = MethodCounter()
    rpc = AsyncClient(market.net.rpc_url, timeout=30)  # type: ignore[attr-defined]
    # solana-py's provider owns an httpx2.AsyncClient; hook its requests.
    rpc._provider.session.event_hooks["request"].append(counter)
    try:
        yield BourseClient(rpc, options=FAST), counter
    finally:
        await rpc.close()


def fake_offer(model: Pubkey, provider: Pubkey, price: int) -> Offer:
    return Offer(
        model=model,
        provider=provider,
        price_input_per_mtok=price,
        price_output_per_mtok=2 * price,
        updated_at=1_700_000_000 + price,
        active=price % 2 == 0,
        bump=255,
        reserved=bytes(14),
    )


async def inject(market: MarketEnv, address: Pubkey, data: bytes, owner: Pubkey) -> None:
    account = {
        "lamports": RENT,
        "data": [base64.b64encode(data).decode(), "base64"],
        "owner": str(owner),
    }
    await market.net.rpc("bourse_setAccount", [str(address), account])  # type: ignore[attr-defined]


async def test_fetch_many_in_batches_of_100(
    market: MarketEnv, counted: tuple[BourseClient, MethodCounter]
) -> None:
    client, counter = counted
    # Given 260 Offer accounts owned by the program, with 10 missing addresses interleaved
    model_a, provider = Pubkey.new_unique(), Pubkey.new_unique()
    offers: dict[Pubkey, Offer] = {}
    for i in range(260):
        offer = fake_offer(model_a, provider, 1_000 + i)
        address = Pubkey.new_unique()
        await inject(market, address, offer.encode(), PROGRAM_ID)
        offers[address] = offer
    addresses = list(offers)
    for k in range(10):
        addresses.insert(k * 27, Pubkey.new_unique())
    assert len(addresses) == 270
    counter.calls.clear()

    # When they are fetched at once
    got = await client.fetch_many(addresses, Offer)

    # Then exactly 3 getMultipleAccounts calls were made, order kept, None where missing
    assert counter.calls["getMultipleAccounts"] == 3
    assert sum(counter.calls.values()) == 3
    assert len(got) == len(addresses)
    for address, value in zip(addresses, got, strict=True):
        assert value == offers.get(address)
    assert sum(v is None for v in got) == 10


async def test_fetch_single_and_decode_checks(market: MarketEnv) -> None:
    c = market.client
    model = await c.fetch(market.model, Model)
    assert model is not None and bytes(model.slug[: model.slug_len]) == market.slug.encode()
    assert await c.fetch(Pubkey.new_unique(), Model) is None
    # An account of another type is refused by its discriminator
    with pytest.raises(AccountDecodeError):
        await c.fetch(market.model, Offer)
    # An account with the right bytes but another owner is refused
    foreign = Pubkey.new_unique()
    offer = fake_offer(market.model, market.provider, 42)
    await inject(market, foreign, offer.encode(), Pubkey.new_unique())
    with pytest.raises(AccountDecodeError, match="owner"):
        await c.fetch(foreign, Offer)
    assert await c.fetch_many([], Offer) == []


async def test_list_with_filters(market: MarketEnv) -> None:
    c = market.client
    # Given a second model with two offers (the market's provider + a new one)
    model_b = await add_model(
        c,
        admin=market.admin,
        creator=market.creator,
        usdc_mint=market.usdc_mint,
        slug="listing-model-b",
    )
    other = await market.new_wallet()
    await _register_provider(market, other)
    offer_b1 = await add_offer(c, market.provider_authority, model_b, 1, 2)
    offer_b2 = await add_offer(c, other, model_b, 3, 4)

    # Models: dataSize + discriminator filters find both
    models = dict(await c.list_models())
    assert {market.model, model_b} <= set(models)
    assert all(isinstance(m, Model) for m in models.values())

    # Offers by model (memcmp at the model field)
    by_b = dict(await c.list_offers(model=model_b))
    assert set(by_b) == {offer_b1, offer_b2}
    assert all(o.model == model_b for o in by_b.values())
    # Offers by model and provider
    ours = await c.list_offers(model=model_b, provider=market.provider)
    assert [a for a, _ in ours] == [offer_b1]
    # Providers by authority
    (found,) = await c.list_providers(authority=other.pubkey())
    assert isinstance(found[1], Provider) and found[1].authority == other.pubkey()

    # Orders by payer: open two holds for a fresh payer, one for another payer
    s = await Settlement.load(c, market.settler)
    payer = await market.new_wallet(usdc=10_000_000)
    someone = await market.new_wallet(usdc=10_000_000)
    h1 = await s.open_hold(payer, market.slug, market.provider, 1_000, 1_000, 600, "list-1")
    h2 = await s.open_hold(payer, "listing-model-b", market.provider, 1_000, 1_000, 600, "list-2")
    await s.open_hold(someone, market.slug, market.provider, 1_000, 1_000, 600, "list-3")
    orders = dict(await c.list_orders(payer=payer.pubkey()))
    assert set(orders) == {h1.order, h2.order}
    assert all(isinstance(o, Order) and o.payer == payer.pubkey() for o in orders.values())
    only_b = await c.list_orders(payer=payer.pubkey(), model=model_b)
    assert [a for a, _ in only_b] == [h2.order]


async def _register_provider(market: MarketEnv, authority: Keypair) -> None:
    from bourse_chain.generated.compute_market import instructions as ix

    payout = market.usdc_account(authority.pubkey())
    await market.client.send(
        [
            ix.register_provider(
                ix.RegisterProviderArgs(name="other"),
                ix.RegisterProviderAccounts(authority=authority.pubkey(), payout=payout),
            )
        ],
        [authority],
    )


async def test_connect_by_url(market: MarketEnv) -> None:
    url: str = market.net.rpc_url  # type: ignore[attr-defined]
    async with BourseClient.connect(url, options=FAST) as client:
        assert client.rpc._provider.endpoint_uri == url
        model = await client.fetch(market.model, Model)
        assert model is not None and model.fee_bps > 0
