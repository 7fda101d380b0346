"""Class 4 — type cosplay: one of our account types passed where another is expected
(Model and Config are both 464 bytes), accounts padded or truncated to another type's size,
a zeroed account assigned to the program, and token accounts / mints swapped for each other."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import AllocateParams, AssignParams, allocate, assign

from bourse_chain.generated.compute_market.accounts import (
    Config,
    Model,
    Offer,
    Order,
    Provider,
    SettlementStream,
)
from tests.security.kit import (
    MARKET_ID,
    TOKEN_PROGRAM_ID,
    USDC,
    World,
    assert_rejected,
    patch,
    set_program_account,
)


@pytest.fixture(scope="module")
def w() -> World:
    return World()


@pytest.fixture(scope="module")
def receipt(w: World) -> Pubkey:
    """A SettlementStream account (256 bytes), created by the first batch of a pair."""
    w.c.fund_usdc(w.settler.pubkey(), 1 * USDC)
    w.c.send([w.payment_ix("alpha", 1 * USDC)], [w.settler])
    return w.stream("alpha")


def test_model_and_config_share_a_size() -> None:
    """The premise of the same-size case below."""
    assert Model.LEN == Config.LEN == 464
    assert (
        len(
            {
                Config.DISCRIMINATOR,
                Model.DISCRIMINATOR,
                Offer.DISCRIMINATOR,
                Order.DISCRIMINATOR,
                SettlementStream.DISCRIMINATOR,
                Provider.DISCRIMINATOR,
            }
        )
        == 6
    )


def test_model_as_config(w: World) -> None:
    """Same owner, same length, other discriminator: the admin check would read the model's
    creator as 'admin' (offset 8) if only the size were checked."""
    ix = w.m.update_config(w.creator.pubkey(), paused=True)
    ix = patch(ix, "config", w.m.model("alpha"))
    assert_rejected(w.c, [ix], [w.creator], "InvalidDiscriminator")


def test_config_as_model(w: World) -> None:
    ix = patch(w.burn_ix("alpha"), "model", w.m.config)
    assert_rejected(w.c, [ix], [w.crank], "InvalidDiscriminator")


@pytest.mark.parametrize("impostor", ["order", "receipt", "provider", "model"])
def test_other_types_as_offer(w: World, receipt: Pubkey, impostor: str) -> None:
    o = w.open()
    address = {
        "order": o.address,
        "receipt": receipt,
        "provider": w.m.provider(w.provider.pubkey()),
        "model": w.m.model("beta"),
    }[impostor]
    ix, _ = w.open_ix()
    assert_rejected(w.c, [patch(ix, "offer", address)], [w.payer], "InvalidDiscriminator")


@pytest.mark.parametrize("impostor", ["offer", "receipt", "provider"])
def test_other_types_as_order(w: World, receipt: Pubkey, impostor: str) -> None:
    o = w.open()
    address = {
        "offer": w.m.offer("alpha", w.provider.pubkey()),
        "receipt": receipt,
        "provider": w.m.provider(w.provider.pubkey()),
    }[impostor]
    ix = patch(w.cancel_ix(o, w.settler.pubkey()), "order", address)
    assert_rejected(w.c, [ix], [w.settler], "InvalidDiscriminator", watch=[o.address])


def test_offer_as_provider(w: World) -> None:
    """An offer's data at offset 8 is its model, not an authority: refused by type."""
    ix = patch(
        w.m.upsert_offer(w.provider.pubkey(), "alpha", 1, 1),
        "provider",
        w.m.offer("alpha", w.provider.pubkey()),
    )
    assert_rejected(w.c, [ix], [w.provider], "InvalidDiscriminator")


@pytest.mark.parametrize("length", [Order.LEN - 1, Order.LEN + 8, Model.LEN])
def test_order_discriminator_at_another_length(w: World, length: int) -> None:
    """A program-owned account whose first 8 bytes are the Order discriminator but whose
    length is another's (padding, truncation, a Model-sized body)."""
    o = w.open()
    data = (w.c.data(o.address) or b"") + bytes(max(0, length - Order.LEN))
    fake = set_program_account(w.c, Pubkey.from_bytes(bytes(range(32))), data[:length], MARKET_ID)
    ix = patch(w.cancel_ix(o, w.settler.pubkey()), "order", fake)
    assert_rejected(w.c, [ix], [w.settler], "InvalidDiscriminator")


def test_zeroed_account_assigned_to_the_program(w: World) -> None:
    """Anyone can allocate an account and assign it to our program (zeroed data): it is
    neither a valid offer (no discriminator) nor creatable as one (not system-owned)."""
    kp = Keypair()
    w.c.svm.airdrop(kp.pubkey(), 10_000_000)
    w.c.send(
        [
            allocate(AllocateParams(pubkey=kp.pubkey(), space=Offer.LEN)),
            assign(AssignParams(pubkey=kp.pubkey(), owner=MARKET_ID)),
        ],
        [kp],
    )
    ix = patch(w.m.upsert_offer(w.provider.pubkey(), "beta", 1, 1), "offer", kp.pubkey())
    assert_rejected(w.c, [ix], [w.provider], "InvalidDiscriminator")


# -- token accounts and mints ----------------------------------------------------------------


def test_token_account_as_mint(w: World) -> None:
    w.register("cosplay-mint", 0, w.creator, approve=False)
    holder = w.c.ata(w.creator.pubkey(), w.mints["alpha"])
    w.approve("cosplay-mint", holder)
    ix = w.m.tokenize_model(w.creator.pubkey(), "cosplay-mint", holder, TOKEN_PROGRAM_ID)
    assert_rejected(w.c, [ix], [w.creator], "InvalidMint")


def test_mint_as_token_account(w: World) -> None:
    p = w.c.new_wallet()
    ix = w.m.register_provider(p.pubkey(), "p", payout=w.c.usdc_mint)
    assert_rejected(w.c, [ix], [p], "InvalidTokenAccount")


def test_token_2022_mint_as_harvest_source(w: World) -> None:
    """A Token-2022 mint with extensions is longer than 165 bytes, but its account-type
    byte says Mint, not Account."""
    assert len(w.c.data(w.mints["gamma"]) or b"") > 165
    assert_rejected(
        w.c, [w.harvest_ix("gamma", [w.mints["gamma"]])], [w.crank], "InvalidTokenAccount"
    )


def test_our_account_as_token_account(w: World) -> None:
    """A program account (the order, 224 bytes) where a token account is expected."""
    o = w.open()
    ix, _ = w.open_ix()
    assert_rejected(w.c, [patch(ix, "payer_token", o.address)], [w.payer], "InvalidTokenAccount")
