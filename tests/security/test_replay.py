"""Class 13 — replay: settling, cancelling or refunding the same order twice, and settling
the same collected payment twice. The settlement API's idempotency keys hold on-chain:
an order is one PDA per (payer, nonce) that closes when used, and a collected payment is
one receipt PDA per payment id (bourse_chain.market.payment_id_bytes), created once."""

from __future__ import annotations

import pytest
from solders.message import Message
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from bourse_chain.generated.compute_market.accounts import PaymentReceipt
from bourse_chain.market import order_nonce, payment_id_bytes
from tests.security.kit import USDC, World, assert_rejected


@pytest.fixture(scope="module")
def w() -> World:
    return World()


@pytest.mark.parametrize("action", ["settle", "cancel"])
def test_same_order_twice(w: World, action: str) -> None:
    o = w.open()
    ix = w.settle_ix(o) if action == "settle" else w.cancel_ix(o, w.settler.pubkey())
    w.c.send([ix], [w.settler])
    assert_rejected(
        w.c,
        [ix],
        [w.settler],
        "InvalidAccountOwner",
        watch=[w.m.escrow_vault, w.usdc(o.payer), w.payout(o.provider)],
    )


def test_same_payment_id_twice(w: World) -> None:
    """The settlement API's key (here an x402 id) settles once, whatever else changes."""
    pid = payment_id_bytes("x402:replayed-call")
    w.c.fund_usdc(w.settler.pubkey(), 20 * USDC)
    w.c.send([w.payment_ix("alpha", 10 * USDC, payment_id=pid)], [w.settler])
    receipt = PaymentReceipt.decode(w.c.data(w.m.receipt(pid)))  # type: ignore[arg-type]
    assert receipt.amount == 10 * USDC
    for ix in (
        w.payment_ix("alpha", 10 * USDC, payment_id=pid),  # identical
        w.payment_ix("alpha", 7 * USDC, payment_id=pid),  # another amount
        w.payment_ix("beta", 10 * USDC, payment_id=pid, provider=w.provider2),  # another listing
    ):
        assert_rejected(w.c, [ix], [w.settler], "AlreadyInitialized", watch=[w.m.receipt(pid)])


def test_same_payment_id_twice_in_one_transaction(w: World) -> None:
    pid = payment_id_bytes("credits:batch-17")
    w.c.fund_usdc(w.settler.pubkey(), 20 * USDC)
    ixs = [
        w.payment_ix("alpha", 10 * USDC, payment_id=pid),
        w.payment_ix("alpha", 10 * USDC, payment_id=pid),
    ]
    assert_rejected(w.c, ixs, [w.settler], "AlreadyInitialized")
    assert w.c.data(w.m.receipt(pid)) is None  # the first one rolled back too


def test_order_idempotency_key_opens_once(w: World) -> None:
    """open_order with the nonce the settlement API derives from its idempotency key."""
    nonce = order_nonce("req-42")
    ix, _ = w.open_ix(nonce=nonce)
    w.c.send([ix], [w.payer])
    assert_rejected(
        w.c,
        [w.open_ix(nonce=nonce)[0]],
        [w.payer],
        "AlreadyInitialized",
        watch=[w.m.order(w.payer.pubkey(), nonce)],
    )


def test_identical_signed_transaction_is_not_processed_twice(w: World) -> None:
    """The runtime's own replay protection: the same signed settle_payment, re-sent."""
    w.c.fund_usdc(w.settler.pubkey(), 2 * USDC)
    ix = w.payment_ix("alpha", 1 * USDC)
    msg = Message.new_with_blockhash([ix], w.c.payer.pubkey(), w.c.svm.latest_blockhash())
    tx = VersionedTransaction(msg, [w.c.payer, w.settler])
    first = w.c.svm.send_transaction(tx)
    assert not isinstance(first, FailedTransactionMetadata)
    before = w.c.snapshot([w.usdc(w.settler), w.m.treasury])
    second = w.c.svm.send_transaction(tx)
    assert isinstance(second, FailedTransactionMetadata)
    assert "AlreadyProcessed" in str(second.err())
    assert w.c.snapshot([w.usdc(w.settler), w.m.treasury]) == before
    w.c.svm.expire_blockhash()
