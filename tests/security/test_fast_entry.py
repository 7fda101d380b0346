"""cancel_order's fast entry: the program reads the instruction data through r2 (SIMD-0321)
before parsing any account, and for cancel_order walks its 7 accounts once with no table
(`first_accounts`). Whatever that walk does not take — a duplicate account entry, fewer
than 7 accounts, data besides the discriminator — goes through the full parse and the
same processor. These tests hold both entries to the same outcome: the same refund, the
same closed order, the same event, and the same typed error with nothing moved."""

from __future__ import annotations

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.transaction_metadata import TransactionMetadata

from bourse_chain.generated.compute_market.events import OrderCancelled
from tests.security.kit import (
    USDC,
    OpenOrder,
    World,
    append_accounts,
    assert_rejected,
    clone_account,
    patch,
    with_data,
)


@pytest.fixture(scope="module")
def w() -> World:
    w = World()
    # The settler opens orders of its own: cancelling one names the same account as
    # authority and payer, a duplicate entry the fast walk does not take.
    w.c.fund_usdc(w.settler.pubkey(), 100 * USDC)
    return w


def cancel(w: World, o: OpenOrder, authority: Keypair) -> tuple[TransactionMetadata, int]:
    """Cancel `o` as `authority`; the refund the payer's account received."""
    refund_to = w.usdc(o.payer)
    balance, escrow = w.balance(refund_to), w.balance(w.m.escrow_vault)
    rent, lamports = w.c.lamports(o.address), w.c.lamports(o.payer.pubkey())
    meta = w.c.send([w.cancel_ix(o, authority.pubkey())], [authority])
    refund = w.balance(refund_to) - balance
    assert w.balance(w.m.escrow_vault) == escrow - refund
    assert w.c.data(o.address) is None, "the order is closed"
    # The chain's own wallet pays the fees: the payer gets the order's rent back, exactly.
    assert w.c.lamports(o.payer.pubkey()) == lamports + rent
    (event,) = [e for e in w.c.events(meta) if isinstance(e, OrderCancelled)]
    assert event == OrderCancelled(order=o.address, refund=refund, by_settler=True)
    return meta, refund


def test_both_entries_refund_the_same_and_the_fast_one_is_cheaper(w: World) -> None:
    fast_meta, fast_refund = cancel(w, w.open(), w.settler)
    own = w.open(payer=w.settler)
    full_meta, full_refund = cancel(w, own, w.settler)
    assert fast_refund == full_refund > 0
    # Same processor, same checks, same CPI and event: only the entry differs.
    assert fast_meta.compute_units_consumed() < full_meta.compute_units_consumed()


def test_trailing_accounts_do_not_matter(w: World) -> None:
    """Accounts after the seventh are ignored by both entries."""
    o = w.open()
    ix = w.cancel_ix(o, w.settler.pubkey())
    extra = append_accounts(ix, [AccountMeta(w.payer.pubkey(), False, False)])
    before = w.balance(w.usdc(o.payer))
    w.c.send([extra], [w.settler])
    assert w.balance(w.usdc(o.payer)) == before + o.hold
    assert w.c.data(o.address) is None


def _forged(w: World, o: OpenOrder, how: str) -> Instruction:
    ix = w.cancel_ix(o, w.settler.pubkey())
    if how == "data after the discriminator":
        return with_data(ix, bytes(ix.data) + b"\x00")
    if how == "six accounts":
        return Instruction(ix.program_id, bytes(ix.data), list(ix.accounts)[:6])
    if how == "payer_token repeats the escrow":
        return patch(ix, "payer_token", w.m.escrow_vault)
    if how == "another escrow":
        return patch(ix, "escrow_vault", w.usdc(w.attacker))
    if how == "order of a foreign owner":
        return patch(ix, "order", clone_account(w.c, o.address, owner=w.payer.pubkey()))
    if how == "payer read-only":
        return patch(ix, "payer", writable=False)
    if how == "order read-only":
        return patch(ix, "order", writable=False)
    raise AssertionError(how)


FORGED = [
    ("data after the discriminator", "InvalidInstructionData"),
    ("six accounts", "NotEnoughAccounts"),
    ("payer_token repeats the escrow", "AccountMismatch"),
    ("another escrow", "AccountMismatch"),
    ("order of a foreign owner", "InvalidAccountOwner"),
    ("payer read-only", "NotWritable"),
    ("order read-only", "NotWritable"),
]


@pytest.mark.parametrize(("how", "error"), FORGED, ids=[h for h, _ in FORGED])
def test_either_entry_refuses_with_the_typed_error_and_moves_nothing(
    w: World, how: str, error: str
) -> None:
    o = w.open()
    assert_rejected(
        w.c, [_forged(w, o, how)], [w.settler], error, watch=(w.m.escrow_vault, o.address)
    )
