"""Issue 10 item 5: the hot path without bump searches stays as strict as with them.

open_order takes the bump of the payer's associated USDC account as an argument and checks
the address with one sha256 (no on-curve test), and creates the order at an address with
seed (base payer, seed the nonce in hex) instead of a PDA; cancel_order refunds with a plain
Transfer (no mint account). Each test forges what the cheaper check could let through."""

from __future__ import annotations

import pytest
from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountWithSeedParams, create_account_with_seed
from spl.token.constants import ASSOCIATED_TOKEN_PROGRAM_ID

from bourse_chain import pda
from bourse_chain.generated.compute_market.accounts import Order
from tests.security.kit import (
    MARKET_ID,
    TOKEN_PROGRAM_ID,
    USDC,
    World,
    assert_rejected,
    patch,
)


@pytest.fixture(scope="module")
def w() -> World:
    return World()


def with_bump(ix: Instruction, bump: int) -> Instruction:
    """open_order with another `payer_token_bump` (the last byte of its data)."""
    data = bytes(ix.data)
    return Instruction(ix.program_id, data[:-1] + bytes([bump]), ix.accounts)


def ata_seeds(w: World) -> list[bytes]:
    return [bytes(w.payer.pubkey()), bytes(TOKEN_PROGRAM_ID), bytes(w.c.usdc_mint)]


def test_a_wrong_ata_bump_is_refused(w: World) -> None:
    ix, _ = w.open_ix()
    canonical = Pubkey.find_program_address(ata_seeds(w), ASSOCIATED_TOKEN_PROGRAM_ID)[1]
    for bump in (canonical - 1, (canonical + 1) % 256):
        assert_rejected(
            w.c,
            [with_bump(ix, bump)],
            [w.payer],
            "PayerTokenNotAssociated",
            watch=[w.usdc(w.payer), w.m.escrow_vault],
        )


def test_an_ata_address_at_a_non_canonical_bump_holds_nothing(w: World) -> None:
    """The address of (payer, token program, mint) at a lower bump passes the sha256 check
    with that bump, but no account can exist there: the associated token program signs
    only for the canonical bump, and nobody else can sign for its PDAs."""
    ix, _ = w.open_ix()
    seeds = ata_seeds(w)
    _, canonical = Pubkey.find_program_address(seeds, ASSOCIATED_TOKEN_PROGRAM_ID)
    for bump in range(canonical - 1, -1, -1):
        try:
            other = Pubkey.create_program_address(
                [*seeds, bytes([bump])], ASSOCIATED_TOKEN_PROGRAM_ID
            )
        except Exception:  # on the curve: try the next bump
            continue
        break
    forged = with_bump(patch(ix, "payer_token", other), bump)
    assert_rejected(w.c, [forged], [w.payer], "InvalidTokenAccount", watch=[w.m.escrow_vault])


def test_an_order_address_the_payer_created_itself_is_not_an_order(w: World) -> None:
    """Only the payer's signature can create an account at its order address. A payer
    that creates it directly through the System program, even owned by compute_market and
    order-sized, gets zeroed data: open_order refuses it (AlreadyInitialized) and it can
    never pass for an order (no discriminator)."""
    ix, nonce = w.open_ix()
    address = pda.order_address(w.payer.pubkey(), nonce)
    w.c.send(
        [
            create_account_with_seed(
                CreateAccountWithSeedParams(
                    from_pubkey=w.payer.pubkey(),
                    to_pubkey=address,
                    base=w.payer.pubkey(),
                    seed=pda.order_seed(nonce),
                    lamports=10_000_000,
                    space=Order.LEN,
                    owner=MARKET_ID,
                )
            )
        ],
        [w.payer],
    )
    assert_rejected(w.c, [ix], [w.payer], "AlreadyInitialized", watch=[w.usdc(w.payer)])
    o = w.open()
    fake = patch(w.cancel_ix(o, w.settler.pubkey()), "order", address)
    assert_rejected(w.c, [fake], [w.settler], "InvalidDiscriminator")


def test_the_refund_goes_back_in_full_without_the_mint_account(w: World) -> None:
    """cancel_order's plain Transfer: the whole hold back to the recorded account, the
    escrow down by exactly the hold, the order closed (control for the cheaper CPI)."""
    o = w.open()
    before, escrow = w.balance(w.usdc(o.payer)), w.balance(w.m.escrow_vault)
    w.c.send([w.cancel_ix(o, w.settler.pubkey())], [w.settler])
    assert w.balance(w.usdc(o.payer)) == before + o.hold
    assert w.balance(w.m.escrow_vault) == escrow - o.hold
    assert w.c.data(o.address) is None
    assert o.hold > 0 and o.hold < 10_000 * USDC
