"""Class 3 — account data matching: a real account of the right type, but belonging to
another model, provider, payer or mint (settle an order into another model's vault, burn
another model's buyback vault, ...)."""

from __future__ import annotations

import pytest

from tests.security.kit import (
    TOKEN_2022_PROGRAM_ID,
    USDC,
    OpenOrder,
    World,
    assert_rejected,
    create_spl_mint,
    patch,
)


@pytest.fixture(scope="module")
def w() -> World:
    return World()


@pytest.fixture
def order(w: World) -> OpenOrder:
    return w.open(slug="alpha")


# -- settle_order / cancel_order: everything is matched against the order ---------------------


@pytest.mark.parametrize(
    ("account", "other"),
    [
        ("revenue_vault", "beta revenue vault"),
        ("model", "beta model"),
        ("provider", "second provider"),
        ("provider_payout", "second provider's payout"),
        ("payer_token", "another payer's USDC"),
        ("payer", "another payer"),
        ("escrow_vault", "another USDC account"),
    ],
)
def test_settle_order_into_someone_elses_account(
    w: World, order: OpenOrder, account: str, other: str
) -> None:
    m = w.m
    replacement = {
        "beta revenue vault": m.revenue_vault("beta"),
        "beta model": m.model("beta"),
        "second provider": m.provider(w.provider2.pubkey()),
        "second provider's payout": w.payout(w.provider2),
        "another payer's USDC": w.usdc(w.attacker),
        "another payer": w.attacker.pubkey(),
        "another USDC account": w.usdc(w.attacker),
    }[other]
    ix = patch(w.settle_ix(order), account, replacement)
    assert_rejected(w.c, [ix], [w.settler], "AccountMismatch", watch=[m.escrow_vault])


def test_settle_order_with_a_treasury_of_another_owner(w: World, order: OpenOrder) -> None:
    ix = patch(w.settle_ix(order), "treasury", w.usdc(w.attacker))
    assert_rejected(w.c, [ix], [w.settler], "InvalidTreasury")


def test_settle_order_with_another_usdc_mint(w: World, order: OpenOrder) -> None:
    other = create_spl_mint(w.c)
    ix = patch(w.settle_ix(order), "usdc_mint", other)
    assert_rejected(w.c, [ix], [w.settler], "InvalidMint")


@pytest.mark.parametrize("account", ["payer", "payer_token"])
def test_cancel_order_refunding_someone_else(w: World, order: OpenOrder, account: str) -> None:
    other = w.attacker.pubkey() if account == "payer" else w.usdc(w.attacker)
    ix = patch(w.cancel_ix(order, w.settler.pubkey()), account, other)
    assert_rejected(w.c, [ix], [w.settler], "AccountMismatch", watch=[w.m.escrow_vault])


def test_cancel_order_by_another_payer(w: World, order: OpenOrder) -> None:
    """A payer may cancel only its own expired order."""
    w.warp(3_600)
    ix = w.m.cancel_order(
        w.attacker.pubkey(),
        order=order.address,
        payer=order.payer.pubkey(),
        payer_token=w.usdc(order.payer),
    )
    assert_rejected(w.c, [ix], [w.attacker], "Unauthorized", watch=[w.m.escrow_vault])


# -- open_order: the offer must be the model's -----------------------------------------------


def test_open_order_with_an_offer_of_another_model(w: World) -> None:
    ix, _ = w.open_ix(slug="alpha")
    ix = patch(ix, "offer", w.m.offer("beta", w.provider.pubkey()))
    assert_rejected(w.c, [ix], [w.payer], "OfferInactive")


# -- settle_payment ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account", "error"),
    [
        ("revenue_vault", "AccountMismatch"),
        ("provider_payout", "AccountMismatch"),
        ("treasury", "InvalidTreasury"),
    ],
)
def test_settle_payment_into_someone_elses_account(w: World, account: str, error: str) -> None:
    other = {
        "revenue_vault": w.m.revenue_vault("beta"),
        "provider_payout": w.payout(w.provider2),
        "treasury": w.usdc(w.attacker),
    }[account]
    w.c.fund_usdc(w.settler.pubkey(), 5 * USDC)
    ix = patch(w.payment_ix("alpha", 5 * USDC), account, other)
    assert_rejected(w.c, [ix], [w.settler], error)


# -- upsert_offer: an offer belongs to one (model, provider) -----------------------------------


def test_update_another_providers_offer(w: World) -> None:
    """provider2 signs for its own provider account but passes provider1's offer."""
    ix = w.m.upsert_offer(w.provider2.pubkey(), "alpha", 1, 1)
    ix = patch(ix, "offer", w.m.offer("alpha", w.provider.pubkey()))
    assert_rejected(w.c, [ix], [w.provider2], "AccountMismatch")


def test_update_an_offer_through_another_model(w: World) -> None:
    """The alpha offer passed with the beta model: it would reprice the wrong listing."""
    ix = w.m.upsert_offer(w.provider.pubkey(), "beta", 1, 1)
    ix = patch(ix, "offer", w.m.offer("alpha", w.provider.pubkey()))
    assert_rejected(w.c, [ix], [w.provider], "AccountMismatch")


def test_upsert_offer_with_another_providers_account(w: World) -> None:
    ix = patch(
        w.m.upsert_offer(w.provider2.pubkey(), "alpha", 1, 1),
        "provider",
        w.m.provider(w.provider.pubkey()),
    )
    assert_rejected(w.c, [ix], [w.provider2], "Unauthorized")


# -- buyback / burn / harvest: the model's own vaults and mint --------------------------------


@pytest.mark.parametrize("account", ["revenue_vault", "buyback_vault"])
def test_buyback_with_another_models_vault(w: World, account: str) -> None:
    other = w.m.revenue_vault("beta") if account == "revenue_vault" else w.m.buyback_vault("beta")
    ix = patch(w.buyback_ix("alpha", 1 * USDC, 1), account, other)
    assert_rejected(w.c, [ix], [w.crank], "AccountMismatch")


def test_burn_another_models_buyback_vault(w: World) -> None:
    ix = patch(w.burn_ix("alpha"), "buyback_vault", w.m.buyback_vault("beta"))
    assert_rejected(w.c, [ix], [w.crank], "AccountMismatch")


def test_burn_with_another_models_mint(w: World) -> None:
    ix = patch(w.burn_ix("alpha"), "mint", w.mints["beta"])
    assert_rejected(w.c, [ix], [w.crank], "InvalidMint")


def test_burn_with_the_other_token_program(w: World) -> None:
    ix = patch(w.burn_ix("alpha"), "token_program", TOKEN_2022_PROGRAM_ID)
    assert_rejected(w.c, [ix], [w.crank], "InvalidTokenProgram")


def test_harvest_another_models_mint(w: World) -> None:
    """gamma's model with another Token-2022 mint (alpha is SPL: use a second fee mint)."""
    w.list_model("delta", 0, w.creator, TOKEN_2022_PROGRAM_ID)
    ix = patch(w.harvest_ix("gamma", []), "mint", w.mints["delta"])
    assert_rejected(w.c, [ix], [w.crank], "InvalidMint")


def test_tokenize_someone_elses_model(w: World) -> None:
    w.register("victim", 0, w.creator2, approve=False)
    mint = w.c.create_model_mint(w.attacker.pubkey(), 1_000)
    w.approve("victim", mint)  # even the pinned mint: only the creator may attach it
    ix = w.m.tokenize_model(w.attacker.pubkey(), "victim", mint, w.token_programs["alpha"])
    assert_rejected(w.c, [ix], [w.attacker], "Unauthorized", watch=[mint])
