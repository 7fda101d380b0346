"""The shared localnet market (tests/support/localnet_market.py) is what it says it is."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bourse_chain.generated.compute_market.accounts import Config, Model, Offer, Provider
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from bourse_chain.pda import config_pda
from tests.support.localnet_market import (
    MODEL_FEE_BPS,
    PRICE_IN,
    PRICE_OUT,
    PROTOCOL_FEE_BPS,
    MarketEnv,
    needs_program,
    start_market,
)

pytestmark = needs_program


@pytest.fixture(scope="module")
async def market(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MarketEnv]:
    async with start_market(tmp_path_factory.mktemp("market")) as env:
        yield env


async def test_market_setup(market: MarketEnv) -> None:
    c = market.client
    config = await c.fetch(config_pda()[0], Config)
    assert config is not None
    assert config.admin == market.admin.pubkey()
    assert config.settler == market.settler.pubkey()
    assert config.protocol_fee_bps == PROTOCOL_FEE_BPS
    assert config.escrow_vault == market.escrow
    model = await c.fetch(market.model, Model)
    assert model is not None
    assert model.status == ModelStatus.APPROVED and model.token_kind == TokenKind.SPL
    assert model.fee_bps == MODEL_FEE_BPS and model.revenue_vault == market.revenue_vault
    provider = await c.fetch(market.provider, Provider)
    assert provider is not None and provider.payout == market.provider_payout
    offer = await c.fetch(market.offer, Offer)
    assert offer is not None and offer.active
    assert (offer.price_input_per_mtok, offer.price_output_per_mtok) == (PRICE_IN, PRICE_OUT)
    assert await market.balance(market.escrow) == 0
    assert await market.balance(market.treasury) == 0
