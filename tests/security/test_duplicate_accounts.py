"""Class 7 — duplicate mutable accounts: the same account passed where two distinct ones
are expected, so that a transfer leg becomes a self-transfer (volume booked, nothing moved,
or a share stranded where no one is owed it)."""

from __future__ import annotations

import pytest

from tests.security.kit import USDC, World, assert_rejected, patch


@pytest.fixture(scope="module")
def w() -> World:
    return World()


def test_open_order_paying_the_escrow_from_the_escrow(w: World) -> None:
    ix, _ = w.open_ix()
    ix = patch(ix, "payer_token", w.m.escrow_vault)
    assert_rejected(w.c, [ix], [w.payer], "DuplicateAccount")


@pytest.mark.parametrize("target", ["provider_payout", "revenue_vault", "treasury"])
def test_settle_payment_from_a_destination(w: World, target: str) -> None:
    """source = one of the three destinations: that leg would move nothing while the split
    books the whole amount as settled volume."""
    m = w.m
    destination = {
        "provider_payout": w.payout(w.provider),
        "revenue_vault": m.revenue_vault("alpha"),
        "treasury": m.treasury,
    }[target]
    ix = patch(w.payment_ix("alpha", 10 * USDC), "source", destination)
    # the source authority must sign for that account: use its real owner where it is a wallet
    signers = [w.settler]
    if target == "provider_payout":
        ix = patch(ix, "source_authority", w.provider.pubkey())
        signers.append(w.provider)
    elif target == "treasury":
        ix = patch(ix, "source_authority", w.treasury_owner.pubkey())
        signers.append(w.treasury_owner)
    w.c.fund_usdc(w.treasury_owner.pubkey(), 10 * USDC)
    assert_rejected(w.c, [ix], signers, "DuplicateAccount")


def test_provider_cannot_register_the_escrow_as_payout(w: World) -> None:
    """Found by this suite (fixed): with payout = escrow, each settlement's provider leg was
    an escrow→escrow self-transfer; the share stayed in the escrow, owed to no order, and
    the escrow no longer equalled the open holds. register_provider now refuses it."""
    p = w.c.new_wallet()
    ix = w.m.register_provider(p.pubkey(), "self-dealer", payout=w.m.escrow_vault)
    assert_rejected(w.c, [ix], [p], "DuplicateAccount", watch=[w.m.provider(p.pubkey())])
    assert w.c.data(w.m.provider(p.pubkey())) is None


def test_settle_order_with_the_escrow_as_treasury() -> None:
    """Found by this suite (fixed): a treasury authority equal to the config PDA (a
    misconfiguration) made the escrow pass as the treasury; protocol fees then stranded
    in the escrow. The treasury check now refuses the escrow itself."""
    w = World()
    o = w.open()
    w.c.send([w.m.update_config(w.admin.pubkey(), treasury_authority=w.m.config)], [w.admin])
    ix = patch(w.settle_ix(o), "treasury", w.m.escrow_vault)
    assert_rejected(w.c, [ix], [w.settler], "DuplicateAccount")
    ix = patch(w.payment_ix("alpha", 1 * USDC), "treasury", w.m.escrow_vault)
    w.c.fund_usdc(w.settler.pubkey(), 1 * USDC)
    assert_rejected(w.c, [ix], [w.settler], "DuplicateAccount")


@pytest.mark.parametrize("slot", ["payer_token", "provider_payout", "revenue_vault"])
def test_settle_order_with_the_escrow_in_another_slot(w: World, slot: str) -> None:
    """The escrow passed as any destination of a settlement: each is matched against the
    account recorded on-chain first."""
    o = w.open()
    ix = patch(w.settle_ix(o), slot, w.m.escrow_vault)
    assert_rejected(w.c, [ix], [w.settler], "AccountMismatch")


def test_buyback_with_the_revenue_vault_as_buyback_vault(w: World) -> None:
    ix = patch(w.buyback_ix("alpha", 1 * USDC, 1), "buyback_vault", w.m.revenue_vault("alpha"))
    assert_rejected(w.c, [ix], [w.crank], "AccountMismatch")


def test_payer_equal_to_provider_is_just_a_payer(w: World) -> None:
    """Control: a payer who is also the provider (same wallet, same USDC account) is fine:
    every leg still moves real tokens and the split sums to the gross."""
    c, m = w.c, w.m
    o = w.open(payer=w.provider)
    escrow = w.balance(m.escrow_vault)
    before = (
        w.balance(w.usdc(w.provider)) + w.balance(m.revenue_vault("alpha")) + w.balance(m.treasury)
    )
    c.send([w.settle_ix(o)], [w.settler])
    after = (
        w.balance(w.usdc(w.provider)) + w.balance(m.revenue_vault("alpha")) + w.balance(m.treasury)
    )
    assert after - before == o.hold
    assert escrow - w.balance(m.escrow_vault) == o.hold
