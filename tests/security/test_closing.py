"""Class 9 — closing: an order is closed when settled or cancelled (length 0, owner back to
the System program, lamports to the payer; the runtime keeps none of the old bytes). A closed
order cannot be revived within the same transaction, re-settled, or refunded twice."""

from __future__ import annotations

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from spl.token.constants import ASSOCIATED_TOKEN_PROGRAM_ID
from spl.token.instructions import get_associated_token_address

from bourse_chain.generated.compute_market.accounts import Order
from bourse_chain.money import usage_charge
from tests.security.kit import (
    PRICE_IN,
    PRICE_OUT,
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    USDC,
    OpenOrder,
    World,
    assert_rejected,
    patch,
    tk_close,
    tk_transfer_checked,
    token_account,
)


@pytest.fixture(scope="module")
def w() -> World:
    return World()


def fund(w: World, o: OpenOrder) -> Instruction:
    """A System transfer topping the (closed) order address up to rent-exemption."""
    rent = w.c.svm.minimum_balance_for_rent_exemption(Order.LEN)
    return transfer(
        TransferParams(from_pubkey=w.attacker.pubkey(), to_pubkey=o.address, lamports=rent)
    )


def escrow_and_order(w: World, o: OpenOrder) -> list[Pubkey]:
    return [o.address, w.m.escrow_vault, w.usdc(o.payer), o.payer.pubkey()]


def test_close_leaves_nothing_behind(w: World) -> None:
    o = w.open()
    rent = w.c.lamports(o.address)
    payer_sol = w.c.lamports(o.payer.pubkey())
    w.c.send([w.settle_ix(o)], [w.settler])
    assert w.c.data(o.address) is None and w.c.lamports(o.address) == 0
    assert w.c.lamports(o.payer.pubkey()) == payer_sol + rent  # the rent went back to the payer


def test_revival_in_the_same_transaction(w: World) -> None:
    """settle, re-fund the address, settle again: the second settle finds a System-owned,
    empty account, not an order."""
    o = w.open()
    ixs = [w.settle_ix(o), fund(w, o), w.settle_ix(o, 1, 1)]
    assert_rejected(
        w.c, ixs, [w.settler, w.attacker], "InvalidAccountOwner", watch=escrow_and_order(w, o)
    )
    assert Order.decode(w.c.data(o.address)).hold == o.hold  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["settle", "cancel"])
def test_a_revived_address_keeps_no_byte_of_the_order(w: World, kind: str) -> None:
    """close_into sets the length to 0 without zeroing the bytes: re-funded in the same
    transaction, the address is an empty System account, nothing of the order readable."""
    o = w.open()
    close = w.settle_ix(o) if kind == "settle" else w.cancel_ix(o, w.settler.pubkey())
    w.c.send([close, fund(w, o)], [w.settler, w.attacker])
    revived = w.c.svm.get_account(o.address)
    assert revived is not None
    assert revived.owner == SYSTEM_PROGRAM_ID and bytes(revived.data) == b""
    assert revived.lamports == w.c.svm.minimum_balance_for_rent_exemption(Order.LEN)


@pytest.mark.parametrize(
    ("first", "second"),
    [("settle", "settle"), ("settle", "cancel"), ("cancel", "cancel"), ("cancel", "settle")],
)
def test_second_use_in_the_same_transaction(w: World, first: str, second: str) -> None:
    o = w.open()

    def ix(kind: str) -> Instruction:
        return w.settle_ix(o) if kind == "settle" else w.cancel_ix(o, w.settler.pubkey())

    assert_rejected(
        w.c,
        [ix(first), ix(second)],
        [w.settler],
        "InvalidAccountOwner",
        watch=escrow_and_order(w, o),
    )


@pytest.mark.parametrize("first", ["settle", "cancel"])
@pytest.mark.parametrize("second", ["settle", "cancel"])
def test_use_after_close(w: World, first: str, second: str) -> None:
    o = w.open()
    w.c.send(
        [w.settle_ix(o) if first == "settle" else w.cancel_ix(o, w.settler.pubkey())], [w.settler]
    )
    again = w.settle_ix(o) if second == "settle" else w.cancel_ix(o, w.settler.pubkey())
    assert_rejected(w.c, [again], [w.settler], "InvalidAccountOwner", watch=escrow_and_order(w, o))


def test_use_after_close_of_a_refunded_address(w: World) -> None:
    """Someone funds the closed address afterwards: still not an order."""
    o = w.open()
    w.c.send([w.cancel_ix(o, w.settler.pubkey())], [w.settler])
    w.c.send([fund(w, o)], [w.attacker])
    assert_rejected(
        w.c, [w.settle_ix(o)], [w.settler], "InvalidAccountOwner", watch=escrow_and_order(w, o)
    )


def test_payer_double_refund_after_expiry(w: World) -> None:
    o = w.open(ttl=60)
    w.warp(61)
    w.c.send([w.cancel_ix(o, o.payer.pubkey())], [o.payer])
    assert_rejected(
        w.c,
        [w.cancel_ix(o, o.payer.pubkey())],
        [o.payer],
        "InvalidAccountOwner",
        watch=escrow_and_order(w, o),
    )


def test_reopening_a_closed_nonce_is_a_new_hold(w: World) -> None:
    """The payer may reuse a nonce once its order is closed: that is a new order with a new
    escrowed hold, settled once; the escrow always equals the open holds."""
    o = w.open()
    escrow = w.balance(w.m.escrow_vault)
    w.c.send([w.settle_ix(o)], [w.settler])
    ix, _ = w.open_ix(nonce=o.nonce)
    w.c.send([ix], [o.payer])
    assert w.balance(w.m.escrow_vault) == escrow
    w.c.send([w.cancel_ix(o, w.settler.pubkey())], [w.settler])
    assert w.balance(w.m.escrow_vault) == escrow - o.hold
    assert_rejected(w.c, [w.settle_ix(o)], [w.settler], "InvalidAccountOwner")


# -- the payer closing its own refund account ------------------------------------------------------
#
# Found by this suite (fixed): a payer could open an order from any USDC account, empty and
# close that account, and have the call served. Every settlement then failed on the refund
# leg (its destination was gone); after expiry the payer re-created the account and cancelled,
# getting the whole hold back for a call already served — the provider was never paid.
# open_order now requires the payer's associated USDC account (open_order.rs), which anyone
# may re-create: the settler prepends an idempotent create and the settlement goes through.


def close_usdc_account(w: World, who: Keypair) -> None:
    ata = w.usdc(who)
    rest = w.balance(ata)
    w.c.send(
        [
            tk_transfer_checked(
                TOKEN_PROGRAM_ID, ata, w.c.usdc_mint, w.usdc(w.attacker), who.pubkey(), rest
            ),
            tk_close(TOKEN_PROGRAM_ID, ata, who.pubkey(), who.pubkey()),
        ],
        [who],
    )
    assert w.c.data(ata) is None


def create_ata_idempotent(funder: Pubkey, owner: Pubkey, mint: Pubkey) -> Instruction:
    """Associated Token Account program, CreateIdempotent (instruction 1)."""
    ata = get_associated_token_address(owner, mint, TOKEN_PROGRAM_ID)
    return Instruction(
        ASSOCIATED_TOKEN_PROGRAM_ID,
        bytes([1]),
        [
            AccountMeta(funder, is_signer=True, is_writable=True),
            AccountMeta(ata, is_signer=False, is_writable=True),
            AccountMeta(owner, is_signer=False, is_writable=False),
            AccountMeta(mint, is_signer=False, is_writable=False),
            AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
            AccountMeta(TOKEN_PROGRAM_ID, is_signer=False, is_writable=False),
        ],
    )


def test_hold_only_from_the_payers_associated_account(w: World) -> None:
    """A keypair USDC account of the payer (closable, never re-creatable by anyone else)."""
    own = token_account(w.c, w.payer.pubkey(), w.c.usdc_mint)
    w.c.send(
        [
            tk_transfer_checked(
                TOKEN_PROGRAM_ID, w.usdc(w.payer), w.c.usdc_mint, own, w.payer.pubkey(), 1 * USDC
            )
        ],
        [w.payer],
    )
    ix, _ = w.open_ix()
    assert_rejected(
        w.c,
        [patch(ix, "payer_token", own)],
        [w.payer],
        "PayerTokenNotAssociated",
        watch=[w.usdc(w.payer), w.m.escrow_vault],
    )


def test_closing_the_refund_account_does_not_block_settlement(w: World) -> None:
    payer = w.c.new_wallet(usdc=10 * USDC)
    o = w.open(payer=payer)
    refund_to = w.usdc(payer)
    close_usdc_account(w, payer)
    # A bare settle charges the usage; the refund stays in the order for the payer
    payout = w.payout(o.provider)
    before = w.balance(payout)
    escrow = w.balance(w.m.escrow_vault)
    w.c.send([w.settle_ix(o)], [w.settler])
    gross = usage_charge(PRICE_IN, PRICE_OUT, 40_000, 10_000)
    assert w.balance(payout) > before  # the provider is paid
    assert w.balance(w.m.escrow_vault) == escrow - gross
    pending = Order.decode(w.c.data(o.address))  # type: ignore[arg-type]
    assert pending.refund_pending and pending.hold == o.hold - gross
    # A second settle is refused: the order was settled
    assert_rejected(w.c, [w.settle_ix(o)], [w.settler], "OrderAlreadySettled")
    # The payer re-creates its account (its own rent) and claims the refund at once
    w.c.send([create_ata_idempotent(payer.pubkey(), payer.pubkey(), w.c.usdc_mint)], [payer])
    w.c.send([w.cancel_ix(o, payer.pubkey())], [payer])
    assert w.balance(refund_to) == o.hold - gross
    assert w.balance(w.m.escrow_vault) == escrow - o.hold
    assert w.c.data(o.address) is None
