"""Class 5 — re-initialisation of config, model, provider, offer, order (and receipt, token):
a second `init` on a live account must fail with nothing overwritten. Also: pre-funding a
PDA someone is about to create (a cheap denial of service) does not block its creation."""

from __future__ import annotations

import pytest
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from bourse_chain.generated.compute_market.accounts import Model, Offer
from tests.security.kit import (
    TOKEN_PROGRAM_ID,
    USDC,
    World,
    assert_rejected,
    patch,
)


@pytest.fixture(scope="module")
def w() -> World:
    return World()


def test_initialize_config_twice(w: World) -> None:
    """Even by the upgrade authority, with other settler / crank / fees."""
    ix = w.m.initialize_config(
        w.admin.pubkey(), w.attacker.pubkey(), w.attacker.pubkey(), protocol_fee_bps=0
    )
    assert_rejected(w.c, [ix], [w.admin], "AlreadyInitialized", watch=[w.m.escrow_vault])


def test_register_an_existing_model(w: World) -> None:
    """Squatting an approved listing: the attacker would become its creator."""
    ix = w.m.register_model(w.attacker.pubkey(), "alpha", 0, "ipfs://mine")
    assert_rejected(w.c, [ix], [w.attacker], "AlreadyInitialized")
    assert Model.decode(w.c.data(w.m.model("alpha"))).creator == w.creator.pubkey()  # type: ignore[arg-type]


def test_register_a_model_over_an_existing_revenue_vault(w: World) -> None:
    """A new slug whose (forged) revenue vault is alpha's live vault."""
    ix = patch(
        w.m.register_model(w.attacker.pubkey(), "fresh-slug", 0),
        "revenue_vault",
        w.m.revenue_vault("alpha"),
    )
    assert_rejected(w.c, [ix], [w.attacker], "AlreadyInitialized")


def test_register_a_provider_twice(w: World) -> None:
    ix = w.m.register_provider(w.provider.pubkey(), "renamed", payout=w.usdc(w.attacker))
    assert_rejected(w.c, [ix], [w.provider], "AlreadyInitialized")


def test_open_an_order_twice(w: World) -> None:
    o = w.open()
    ix, _ = w.open_ix(nonce=o.nonce, max_in=1, max_out=1)
    assert_rejected(w.c, [ix], [w.payer], "AlreadyInitialized", watch=[o.address])


def test_another_pairs_stream(w: World) -> None:
    """A live stream passed for another (model, provider) is not re-initialised or reused."""
    w.c.fund_usdc(w.settler.pubkey(), 10 * USDC)
    w.c.send([w.payment_ix("alpha", 5 * USDC)], [w.settler])
    ix = patch(w.payment_ix("beta", 1 * USDC, provider=w.provider2), "stream", w.stream("alpha"))
    assert_rejected(w.c, [ix], [w.settler], "AccountMismatch", watch=[w.stream("alpha")])


def test_tokenize_twice(w: World) -> None:
    """Re-pointing a listing at another mint (a fresh, valid one)."""
    mint = w.c.create_model_mint(w.creator.pubkey(), 1_000)
    ix = w.m.tokenize_model(w.creator.pubkey(), "alpha", mint, TOKEN_PROGRAM_ID)
    assert_rejected(w.c, [ix], [w.creator], "AlreadyTokenized", watch=[mint])


def test_offer_upsert_keeps_its_identity(w: World) -> None:
    """upsert_offer on a live offer updates prices only; its model/provider/bump stay."""
    address = w.m.offer("alpha", w.provider.pubkey())
    before = Offer.decode(w.c.data(address))  # type: ignore[arg-type]
    w.c.send([w.m.upsert_offer(w.provider.pubkey(), "alpha", 1, 2, active=True)], [w.provider])
    after = Offer.decode(w.c.data(address))  # type: ignore[arg-type]
    assert (after.model, after.provider, after.bump) == (before.model, before.provider, before.bump)
    assert (after.price_input_per_mtok, after.price_output_per_mtok) == (1, 2)
    w.c.send([w.m.upsert_offer(w.provider.pubkey(), "alpha", 270_000, 1_100_000)], [w.provider])


def test_offer_reinit_by_another_provider(w: World) -> None:
    """provider2's provider account with provider1's live offer address."""
    ix = patch(
        w.m.upsert_offer(w.provider2.pubkey(), "alpha", 1, 1),
        "offer",
        w.m.offer("alpha", w.provider.pubkey()),
    )
    assert_rejected(w.c, [ix], [w.provider2], "AccountMismatch")


# -- pre-funded PDAs (griefing) -------------------------------------------------------------------


def _prefund(w: World, *addresses: Pubkey) -> None:
    w.c.send(
        [
            transfer(
                TransferParams(from_pubkey=w.attacker.pubkey(), to_pubkey=a, lamports=1_000_000)
            )
            for a in addresses
        ],
        [w.attacker],
    )


def test_prefunded_model_and_vault_pdas_do_not_block_registration(w: World) -> None:
    slug = "prefunded"
    model = w.m.model(slug)
    _prefund(w, model, w.m.revenue_vault(slug), w.m.buyback_vault(slug))
    w.register(slug, 0, w.creator, approve=False)
    mint = w.c.create_model_mint(w.creator.pubkey(), 1_000)
    w.approve(slug, mint)
    w.c.send([w.m.tokenize_model(w.creator.pubkey(), slug, mint, TOKEN_PROGRAM_ID)], [w.creator])
    model_data = Model.decode(w.c.data(model))  # type: ignore[arg-type]
    assert model_data.mint == mint and model_data.creator == w.creator.pubkey()
    # the program topped the pre-funded account up to exactly rent-exempt (1,000,000 < rent)
    assert w.c.lamports(model) == w.c.svm.minimum_balance_for_rent_exemption(Model.LEN)


def test_prefunded_order_provider_offer_and_stream_pdas_do_not_block_creation(w: World) -> None:
    p = w.c.new_wallet()
    w.c.ata(p.pubkey(), w.c.usdc_mint)
    pid = w.next_payment_id()
    w.nonce_seq += 1
    nonce = w.nonce_seq
    _prefund(
        w,
        w.m.provider(p.pubkey()),
        w.m.offer("alpha", p.pubkey()),
        w.m.order(w.payer.pubkey(), nonce),
        w.stream("alpha", p),
    )
    w.c.send([w.m.register_provider(p.pubkey(), "late")], [p])
    w.c.send([w.m.upsert_offer(p.pubkey(), "alpha", 1_000, 1_000)], [p])
    ix, _ = w.open_ix(nonce=nonce, provider=p)
    w.c.send([ix], [w.payer])
    w.c.fund_usdc(w.settler.pubkey(), 1 * USDC)
    w.c.send([w.payment_ix("alpha", 1 * USDC, payment_id=pid, provider=p)], [w.settler])
    for address in (
        w.m.provider(p.pubkey()),
        w.m.offer("alpha", p.pubkey()),
        w.m.order(w.payer.pubkey(), nonce),
        w.stream("alpha", p),
    ):
        acc = w.c.svm.get_account(address)
        assert acc is not None and acc.owner == w.m.program_id
