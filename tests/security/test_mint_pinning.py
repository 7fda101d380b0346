"""Issue 16 (first program point) — the admin's approval pins the mint being listed.

Any approved creator could attach any authority-less mint to its model — someone else's
popular coin — and direct the model's buybacks (every call's creator fee) to it.

Now `set_model_status` (Approved) names the mint (`model.approved_mint`) and `tokenize_model`
accepts that mint only (`MintNotApproved`); an approval without a mint lets a model trade but
never be tokenized; delisting an untokenized model withdraws the pin; a tokenized model
cannot be re-pinned to another mint.
"""

from __future__ import annotations

import itertools

import pytest
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.generated.compute_market.instructions import SetModelStatusArgs
from bourse_chain.generated.compute_market.types import ModelStatus, TokenKind
from tests.security.kit import TOKEN_PROGRAM_ID, World, assert_rejected, with_data

_slugs = itertools.count()


@pytest.fixture(scope="module")
def w() -> World:
    return World()


def model(w: World, slug: str) -> Model:
    return Model.decode(w.c.data(w.m.model(slug)))  # type: ignore[arg-type]


def new_listing(w: World) -> str:
    slug = f"pin-{next(_slugs)}"
    w.register(slug, 0, w.creator, approve=False)
    return slug


def tokenize(w: World, slug: str, mint: Pubkey) -> Instruction:
    return w.m.tokenize_model(w.creator.pubkey(), slug, mint, TOKEN_PROGRAM_ID)


def refused_attach(w: World, slug: str, mint: Pubkey) -> None:
    before = model(w, slug)
    assert_rejected(
        w.c,
        [tokenize(w, slug, mint)],
        [w.creator],
        "MintNotApproved",
        watch=[mint, w.m.buyback_vault(slug)],
    )
    after = model(w, slug)
    assert after == before and after.token_kind == TokenKind.NONE
    assert w.c.data(w.m.buyback_vault(slug)) is None


def test_someone_elses_coin_cannot_be_attached(w: World) -> None:
    """beta's token (another creator's, authority-less, with a pool and holders) attached to
    an approved model of w.creator: refused, nothing changes."""
    slug = new_listing(w)
    w.approve(slug, w.c.create_model_mint(w.creator.pubkey(), 1_000))
    refused_attach(w, slug, w.mints["beta"])


def test_an_approval_without_a_mint_cannot_be_tokenized(w: World) -> None:
    slug = new_listing(w)
    w.approve(slug)
    assert model(w, slug).status == ModelStatus.APPROVED
    refused_attach(w, slug, w.c.create_model_mint(w.creator.pubkey(), 1_000))


def test_the_approved_mint_is_attached(w: World) -> None:
    """Control: the pinned mint tokenizes."""
    slug = new_listing(w)
    mint = w.c.create_model_mint(w.creator.pubkey(), 1_000)
    w.approve(slug, mint)
    w.c.send([tokenize(w, slug, mint)], [w.creator])
    after = model(w, slug)
    assert after.mint == after.approved_mint == mint and after.token_kind == TokenKind.SPL


def test_delisting_withdraws_the_pin(w: World) -> None:
    """Approved with a mint, delisted, re-approved without one: the old mint is refused."""
    slug = new_listing(w)
    mint = w.c.create_model_mint(w.creator.pubkey(), 1_000)
    w.approve(slug, mint)
    w.c.send([w.m.set_model_status(w.admin.pubkey(), slug, ModelStatus.DELISTED)], [w.admin])
    assert model(w, slug).approved_mint == Pubkey.default()
    w.approve(slug)
    refused_attach(w, slug, mint)


def test_a_tokenized_model_cannot_be_repinned(w: World) -> None:
    other = w.c.create_model_mint(w.creator.pubkey(), 1_000)
    ix = w.m.set_model_status(w.admin.pubkey(), "alpha", ModelStatus.APPROVED, other)
    assert_rejected(w.c, [ix], [w.admin], "InvalidMint", watch=[other])
    assert model(w, "alpha").mint == w.mints["alpha"]
    # re-approving with its own mint is fine
    w.approve("alpha", w.mints["alpha"])
    assert model(w, "alpha").approved_mint == w.mints["alpha"]


def test_pin_only_with_an_approval_and_never_the_default_key(w: World) -> None:
    slug = new_listing(w)
    mint = w.c.create_model_mint(w.creator.pubkey(), 1_000)
    base = w.m.set_model_status(w.admin.pubkey(), slug, ModelStatus.APPROVED, mint)
    delist_with_mint = with_data(
        base,
        bytes(base.data[:8])
        + SetModelStatusArgs(ModelStatus.DELISTED, mint, sweep_stuck_revenue=False).encode(),
    )
    assert_rejected(w.c, [delist_with_mint], [w.admin], "InvalidInstructionData")
    default_mint = w.m.set_model_status(
        w.admin.pubkey(), slug, ModelStatus.APPROVED, Pubkey.default()
    )
    assert_rejected(w.c, [default_mint], [w.admin], "InvalidMint")
    assert model(w, slug).status == ModelStatus.PENDING


def test_only_the_admin_pins(w: World) -> None:
    slug = new_listing(w)
    mint = w.c.create_model_mint(w.attacker.pubkey(), 1_000)
    ix = w.m.set_model_status(w.attacker.pubkey(), slug, ModelStatus.APPROVED, mint)
    assert_rejected(w.c, [ix], [w.attacker], "Unauthorized")
    assert model(w, slug).approved_mint == Pubkey.default()
