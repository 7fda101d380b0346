"""Class 1 — missing signer: every privileged instruction (admin, pending admin, settler,
crank, creator, provider, payer, source authority) with the right key passed unsigned, and
with a different key that does sign."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair

from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_ops.sandbox.svm_chain import Market, new_chain
from tests.security.kit import (
    TOKEN_OWNER_MISMATCH,
    TOKEN_PROGRAM_ID,
    USDC,
    World,
    assert_rejected,
    patch,
)


@dataclass(frozen=True)
class Case:
    """A valid instruction, who signs it, and the account whose signature matters."""

    ix: Instruction
    signers: tuple[Keypair, ...]
    role: str
    key: Keypair
    #: error when a stranger signs in `role`'s place (name, or raw code of `program`)
    stranger: str | int
    stranger_program: str = "market"


@pytest.fixture(scope="module")
def w() -> World:
    world = World()
    world.register("untokenized", 0, world.creator, approve=True)
    return world


@pytest.fixture(scope="module")
def cases(w: World) -> dict[str, Case]:
    m, c = w.m, w.c
    pending = c.new_wallet()
    c.send([m.update_config(w.admin.pubkey(), pending_admin=pending.pubkey())], [w.admin])
    o = w.open()
    mint = c.create_model_mint(w.creator.pubkey(), 1_000)
    w.approve("untokenized", mint)
    c.fund_usdc(w.settler.pubkey(), 10 * USDC)
    newcomer = c.new_wallet(usdc=10 * USDC)
    return {
        "update_config/admin": Case(
            m.update_config(w.admin.pubkey(), paused=True),
            (w.admin,),
            "admin",
            w.admin,
            "Unauthorized",
        ),
        "set_model_status/admin": Case(
            m.set_model_status(w.admin.pubkey(), "alpha", ModelStatus.DELISTED),
            (w.admin,),
            "admin",
            w.admin,
            "Unauthorized",
        ),
        "accept_admin/new_admin": Case(
            m.accept_admin(pending.pubkey()), (pending,), "new_admin", pending, "NotPendingAdmin"
        ),
        # Anyone may list a model: only the unsigned case applies.
        "register_model/creator": Case(
            m.register_model(newcomer.pubkey(), "newcomer", 0), (newcomer,), "creator", newcomer, ""
        ),
        "tokenize_model/creator": Case(
            m.tokenize_model(w.creator.pubkey(), "untokenized", mint, TOKEN_PROGRAM_ID),
            (w.creator,),
            "creator",
            w.creator,
            "Unauthorized",
        ),
        # The provider PDA is ["provider", authority]: another signer is another address.
        "register_provider/authority": Case(
            m.register_provider(newcomer.pubkey(), "newcomer"),
            (newcomer,),
            "authority",
            newcomer,
            "InvalidPda",
        ),
        "upsert_offer/authority": Case(
            m.upsert_offer(w.provider.pubkey(), "alpha", 1, 1),
            (w.provider,),
            "authority",
            w.provider,
            "Unauthorized",
        ),
        # The victim's USDC account is not the stranger's associated account (and the order
        # PDA ["order", payer, nonce] would be another address too).
        "open_order/payer": Case(
            w.open_ix()[0], (w.payer,), "payer", w.payer, "PayerTokenNotAssociated"
        ),
        "settle_order/settler": Case(
            w.settle_ix(o), (w.settler,), "settler", w.settler, "Unauthorized"
        ),
        "cancel_order/settler": Case(
            w.cancel_ix(o, w.settler.pubkey()), (w.settler,), "authority", w.settler, "Unauthorized"
        ),
        "cancel_order/payer": Case(
            w.cancel_ix(o, w.payer.pubkey()), (w.payer,), "authority", w.payer, "Unauthorized"
        ),
        "settle_payment/settler": Case(
            w.payment_ix("alpha", 10 * USDC, source_owner=newcomer),
            (w.settler, newcomer),
            "settler",
            w.settler,
            "Unauthorized",
        ),
        "settle_payment/source_authority": Case(
            w.payment_ix("alpha", 10 * USDC, source_owner=newcomer),
            (w.settler, newcomer),
            "source_authority",
            newcomer,
            TOKEN_OWNER_MISMATCH,
            "token",
        ),
        "buyback/crank": Case(
            w.buyback_ix("alpha", 1 * USDC, 1), (w.crank,), "crank", w.crank, "Unauthorized"
        ),
        "burn/crank": Case(w.burn_ix("alpha"), (w.crank,), "crank", w.crank, "Unauthorized"),
        "harvest_fees/crank": Case(
            w.harvest_ix("gamma", []), (w.crank,), "crank", w.crank, "Unauthorized"
        ),
    }


UNSIGNED = [
    "update_config/admin",
    "set_model_status/admin",
    "accept_admin/new_admin",
    "register_model/creator",
    "tokenize_model/creator",
    "register_provider/authority",
    "upsert_offer/authority",
    "open_order/payer",
    "settle_order/settler",
    "cancel_order/settler",
    "cancel_order/payer",
    "settle_payment/settler",
    "settle_payment/source_authority",
    "buyback/crank",
    "burn/crank",
    "harvest_fees/crank",
]


STRANGER = [n for n in UNSIGNED if n != "register_model/creator"]


@pytest.mark.parametrize("name", UNSIGNED)
def test_right_key_unsigned(w: World, cases: dict[str, Case], name: str) -> None:
    case = cases[name]
    ix = patch(case.ix, case.role, signer=False)
    signers = [s for s in case.signers if s.pubkey() != case.key.pubkey()]
    assert_rejected(w.c, [ix], signers, "MissingSigner")


@pytest.mark.parametrize("name", STRANGER)
def test_other_key_signs(w: World, cases: dict[str, Case], name: str) -> None:
    case = cases[name]
    ix = patch(case.ix, case.role, w.attacker.pubkey(), signer=True)
    signers = [s for s in case.signers if s.pubkey() != case.key.pubkey()] + [w.attacker]
    program = TOKEN_PROGRAM_ID if case.stranger_program == "token" else None
    if program is None:
        assert_rejected(w.c, [ix], signers, case.stranger)
    else:
        assert_rejected(w.c, [ix], signers, case.stranger, program=program)


def test_initialize_config_unsigned_and_by_a_stranger() -> None:
    """The config can only be created by the program's upgrade authority, and only signed."""
    c = new_chain()
    settler, crank, treasury, stranger = (c.new_wallet() for _ in range(4))
    m = Market(usdc_mint=c.usdc_mint, treasury_authority=treasury.pubkey())
    ix = m.initialize_config(c.admin.pubkey(), settler.pubkey(), crank.pubkey())
    assert_rejected(c, [patch(ix, "admin", signer=False)], [], "MissingSigner")
    forged = m.initialize_config(stranger.pubkey(), settler.pubkey(), crank.pubkey())
    assert_rejected(c, [forged], [stranger], "UpgradeAuthorityMismatch")
    assert c.data(m.config) is None and c.data(m.escrow_vault) is None


def test_open_order_paid_from_someone_elses_account(w: World) -> None:
    """The attacker signs as payer of its own order but points payer_token at the victim's
    USDC: refused by the market (only the payer's associated account may fund a hold), and
    the token program would refuse the transfer anyway (the payer is not its owner)."""
    ix = w.m.open_order(
        w.attacker.pubkey(),
        "alpha",
        w.provider.pubkey(),
        4242,
        100_000,
        50_000,
        payer_token=w.usdc(w.payer),
    )
    assert_rejected(w.c, [ix], [w.attacker], "PayerTokenNotAssociated")
