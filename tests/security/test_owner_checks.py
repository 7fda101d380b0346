"""Class 2 — owner checks: each account replaced by one holding identical bytes but owned by
another program (a fake config, model, provider, offer, order; token accounts and mints
owned by the wrong token program). LiteSVM's set_account writes the look-alikes."""

from __future__ import annotations

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from tests.security.kit import (
    CP_POOL_ID,
    INSTRUCTIONS,
    SYSTEM_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    USDC,
    World,
    account_of,
    assert_rejected,
    clone_account,
    patch,
)

NOT_OURS = {"cp_pool": CP_POOL_ID, "system": SYSTEM_PROGRAM_ID, "token": TOKEN_PROGRAM_ID}


@pytest.fixture(scope="module")
def w() -> World:
    return World()


@pytest.fixture(scope="module")
def samples(w: World) -> dict[str, tuple[Instruction, list[Keypair]]]:
    return w.samples()


def test_samples_are_valid() -> None:
    """Control: every sample instruction succeeds untouched, so each refusal below comes from
    the one account that was swapped."""
    w = World()
    for name, (ix, signers) in w.samples().items():
        w.c.send([ix], signers)
        assert name in INSTRUCTIONS


POST_INIT = [n for n in INSTRUCTIONS if n != "initialize_config"]


@pytest.mark.parametrize("owner", sorted(NOT_OURS))
@pytest.mark.parametrize("name", POST_INIT)
def test_fake_config(
    w: World, samples: dict[str, tuple[Instruction, list[Keypair]]], name: str, owner: str
) -> None:
    """The config's exact bytes at another address, owned by another program."""
    ix, signers = samples[name]
    fake = clone_account(w.c, w.m.config, owner=NOT_OURS[owner])
    assert_rejected(w.c, [patch(ix, "config", fake)], signers, "InvalidAccountOwner")


MODEL_USERS = [
    "set_model_status",
    "tokenize_model",
    "upsert_offer",
    "open_order",
    "settle_batch",
    "buyback",
    "burn",
    "harvest_fees",
]


@pytest.mark.parametrize("name", MODEL_USERS)
def test_fake_model(
    w: World, samples: dict[str, tuple[Instruction, list[Keypair]]], name: str
) -> None:
    ix, signers = samples[name]
    real = account_of(ix, "model")
    fake = clone_account(w.c, real, owner=CP_POOL_ID)
    assert_rejected(w.c, [patch(ix, "model", fake)], signers, "InvalidAccountOwner")


def test_fake_model_in_a_settlement_is_not_the_recorded_one(w: World) -> None:
    """settle_order matches the model against the order first: a look-alike is another key."""
    o = w.open()
    fake = clone_account(w.c, w.m.model("alpha"), owner=CP_POOL_ID)
    assert_rejected(w.c, [patch(w.settle_ix(o), "model", fake)], [w.settler], "AccountMismatch")


@pytest.mark.parametrize("name", ["upsert_offer", "settle_batch"])
def test_fake_provider(
    w: World, samples: dict[str, tuple[Instruction, list[Keypair]]], name: str
) -> None:
    ix, signers = samples[name]
    fake = clone_account(w.c, account_of(ix, "provider"), owner=SYSTEM_PROGRAM_ID)
    assert_rejected(w.c, [patch(ix, "provider", fake)], signers, "InvalidAccountOwner")


def test_fake_offer(w: World) -> None:
    ix, _ = w.open_ix()
    fake = clone_account(w.c, account_of(ix, "offer"), owner=CP_POOL_ID)
    assert_rejected(w.c, [patch(ix, "offer", fake)], [w.payer], "InvalidAccountOwner")


@pytest.mark.parametrize("action", ["settle", "cancel"])
def test_fake_order(w: World, action: str) -> None:
    """An order's exact bytes owned by another program: settling it would pay out of the
    shared escrow for a hold that was never escrowed."""
    o = w.open()
    ix = w.settle_ix(o) if action == "settle" else w.cancel_ix(o, w.settler.pubkey())
    fake = clone_account(w.c, o.address, owner=CP_POOL_ID)
    assert_rejected(
        w.c,
        [patch(ix, "order", fake)],
        [w.settler],
        "InvalidAccountOwner",
        watch=[o.address, w.m.escrow_vault],
    )


def test_payer_token_owned_by_the_wrong_token_program(w: World) -> None:
    """A USDC token account's bytes under Token-2022 while USDC is an SPL Token mint."""
    ix, _ = w.open_ix()
    fake = clone_account(w.c, w.usdc(w.payer), owner=TOKEN_2022_PROGRAM_ID)
    assert_rejected(w.c, [patch(ix, "payer_token", fake)], [w.payer], "InvalidTokenAccount")


def test_payout_owned_by_the_wrong_token_program(w: World) -> None:
    p = w.c.new_wallet()
    fake = clone_account(w.c, w.c.ata(p.pubkey(), w.c.usdc_mint), owner=TOKEN_2022_PROGRAM_ID)
    ix = w.m.register_provider(p.pubkey(), "p", payout=fake)
    assert_rejected(w.c, [ix], [p], "InvalidTokenAccount")


def test_payout_owned_by_another_program(w: World) -> None:
    p = w.c.new_wallet()
    fake = clone_account(w.c, w.c.ata(p.pubkey(), w.c.usdc_mint), owner=CP_POOL_ID)
    ix = w.m.register_provider(p.pubkey(), "p", payout=fake)
    assert_rejected(w.c, [ix], [p], "InvalidTokenAccount")


def test_treasury_owned_by_the_wrong_token_program(w: World) -> None:
    fake = clone_account(w.c, w.m.treasury, owner=TOKEN_2022_PROGRAM_ID)
    w.c.fund_usdc(w.settler.pubkey(), 1 * USDC)
    ix = patch(w.payment_ix("alpha", 1 * USDC), "treasury", fake)
    assert_rejected(w.c, [ix], [w.settler], "InvalidTokenAccount")


def test_source_owned_by_the_wrong_token_program(w: World) -> None:
    w.c.fund_usdc(w.settler.pubkey(), 1 * USDC)
    fake = clone_account(w.c, w.usdc(w.settler), owner=TOKEN_2022_PROGRAM_ID)
    ix = patch(w.payment_ix("alpha", 1 * USDC), "source", fake)
    assert_rejected(w.c, [ix], [w.settler], "InvalidTokenAccount")


def test_harvest_source_owned_by_spl_token(w: World) -> None:
    """A Token-2022 account's bytes under SPL Token passed as a harvest source."""
    holder = w.give_tokens("gamma", w.attacker, 1_000)
    fake = clone_account(w.c, holder, owner=TOKEN_PROGRAM_ID)
    assert_rejected(w.c, [w.harvest_ix("gamma", [fake])], [w.crank], "InvalidTokenAccount")


def test_harvest_destination_owned_by_spl_token(w: World) -> None:
    dest = w.c.ata(w.treasury_owner.pubkey(), w.mints["gamma"], TOKEN_2022_PROGRAM_ID)
    fake = clone_account(w.c, dest, owner=TOKEN_PROGRAM_ID)
    assert_rejected(
        w.c, [w.harvest_ix("gamma", [], destination=fake)], [w.crank], "InvalidTokenAccount"
    )


@pytest.mark.parametrize(
    ("owner", "error"),
    [
        (SYSTEM_PROGRAM_ID, "InvalidMint"),
        (CP_POOL_ID, "InvalidMint"),
        (TOKEN_2022_PROGRAM_ID, "InvalidTokenProgram"),  # a real token program, not the one passed
    ],
)
def test_tokenize_with_a_mint_owned_elsewhere(w: World, owner: Pubkey, error: str) -> None:
    slug = f"mint-owner-{str(owner)[:6]}"
    w.register(slug, 0, w.creator, approve=False)
    mint = w.c.create_model_mint(w.creator.pubkey(), 1_000)
    fake = clone_account(w.c, mint, owner=owner)
    w.approve(slug, fake)
    ix = w.m.tokenize_model(w.creator.pubkey(), slug, fake, TOKEN_PROGRAM_ID)
    assert_rejected(w.c, [ix], [w.creator], error, watch=[mint])


def test_usdc_mint_look_alike(w: World) -> None:
    """The USDC mint's bytes at another address (owned by SPL Token, so 'valid'): refused
    because it is not the mint recorded in the config."""
    fake = clone_account(w.c, w.c.usdc_mint)
    ix = patch(w.open_ix()[0], "usdc_mint", fake)
    assert_rejected(w.c, [ix], [w.payer], "InvalidMint")


@pytest.mark.parametrize("vault", ["revenue", "buyback", "escrow"])
def test_vault_look_alikes(w: World, vault: str) -> None:
    """A vault's exact bytes under the other token program: not the vault recorded in the
    model (or the config), whatever it claims to hold."""
    m = w.m
    if vault == "revenue":
        fake = clone_account(w.c, m.revenue_vault("alpha"), owner=TOKEN_2022_PROGRAM_ID)
        ix, signers = patch(w.buyback_ix("alpha", 1 * USDC, 1), "revenue_vault", fake), [w.crank]
    elif vault == "buyback":
        fake = clone_account(w.c, m.buyback_vault("alpha"), owner=TOKEN_2022_PROGRAM_ID)
        ix, signers = patch(w.burn_ix("alpha"), "buyback_vault", fake), [w.crank]
    else:
        fake = clone_account(w.c, m.escrow_vault, owner=TOKEN_2022_PROGRAM_ID)
        ix, signers = patch(w.settle_ix(w.open()), "escrow_vault", fake), [w.settler]
    assert_rejected(w.c, [ix], signers, "AccountMismatch")
