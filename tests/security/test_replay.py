"""Class 13 — replay: settling, cancelling or refunding the same order twice, and settling
the same batch of paid calls twice. The settlement API's idempotency keys hold on-chain:
an order is one PDA per (payer, nonce) that closes when used, and batches of paid calls go
through one stream PDA per (model, provider) that takes each sequence once, in order."""

from __future__ import annotations

import pytest
from solders.message import Message
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from bourse_chain.generated.compute_market.accounts import SettlementStream
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


def test_same_batch_twice(w: World) -> None:
    """A batch settles once, whatever else changes: its sequence is spent."""
    pid = payment_id_bytes("x402:replayed-call")
    w.c.fund_usdc(w.settler.pubkey(), 40 * USDC)
    seq = w.next_sequence("alpha")
    w.c.send([w.payment_ix("alpha", 10 * USDC, payment_id=pid)], [w.settler])
    stream = SettlementStream.decode(w.c.data(w.stream("alpha")))  # type: ignore[arg-type]
    assert stream.next_sequence == seq + 1 and stream.last_total == 10 * USDC
    for ix in (
        w.payment_ix("alpha", 10 * USDC, payment_id=pid, sequence=seq),  # identical
        w.payment_ix("alpha", 7 * USDC, payment_id=pid, sequence=seq),  # another amount
        w.payment_ix("alpha", 10 * USDC, sequence=seq),  # another root
        w.payment_ix("alpha", 10 * USDC, sequence=seq + 2),  # out of order
    ):
        assert_rejected(
            w.c,
            [ix],
            [w.settler],
            "WrongSequence",
            watch=[w.stream("alpha"), w.usdc(w.settler), w.m.treasury],
        )


def test_same_batch_twice_in_one_transaction(w: World) -> None:
    pid = payment_id_bytes("credits:batch-17")
    w.c.fund_usdc(w.settler.pubkey(), 20 * USDC)
    ix = w.payment_ix("alpha", 10 * USDC, payment_id=pid)
    before = w.c.data(w.stream("alpha"))
    assert_rejected(w.c, [ix, ix], [w.settler], "WrongSequence")
    assert w.c.data(w.stream("alpha")) == before  # the first one rolled back too


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
    """The runtime's own replay protection: the same signed settle_batch, re-sent."""
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
