"""Issue 11, hole 8 — a provider's payout account was write-once.

`register_provider` records the USDC account that receives the provider's share and nothing
could change it: a provider whose payout account is closed and cannot be re-created (a
keypair account whose key is lost, an account of a program that is gone) could never be paid
again — every settlement naming it fails.

Now `upsert_offer` takes the provider's new payout as an optional trailing account
(`upsert_offer.rs: process`): only the provider's authority, the provider account writable,
and the same checks as at registration (`checks.rs: payout`: a USDC token account, never the
escrow). `register_provider` still refuses a second registration (test_reinit.py).
"""

from __future__ import annotations

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain import merkle
from bourse_chain.generated.compute_market.accounts import Offer, Provider, SettlementStream
from bourse_chain.generated.compute_market.events import ProviderPayoutChanged
from bourse_chain.money import expected_split
from tests.security.kit import (
    PRICE_IN,
    PRICE_OUT,
    TOKEN_PROGRAM_ID,
    USDC,
    World,
    assert_aborted,
    assert_rejected,
    patch,
    tk_close,
    tk_transfer_checked,
    token_account,
)

PROTOCOL_FEE_BPS, ALPHA_FEE_BPS = 100, 500
PAYMENT = 10 * USDC


@pytest.fixture(scope="module")
def w() -> World:
    return World()


def provider(w: World, p: Keypair) -> Provider:
    return Provider.decode(w.c.data(w.m.provider(p.pubkey())))  # type: ignore[arg-type]


def pay(w: World, p: Keypair, payout: Pubkey) -> Instruction:
    """A collected payment of PAYMENT for alpha served by `p` (a batch of one), its share
    sent to `payout`."""
    w.c.fund_usdc(w.settler.pubkey(), PAYMENT)
    model = w.m.model("alpha")
    provider_pda = w.m.provider(p.pubkey())
    stream = w.c.data(w.m.stream(model, provider_pda))
    pid = w.next_payment_id()
    return w.m.settle_batch(
        w.settler.pubkey(),
        model=model,
        provider=provider_pda,
        provider_payout=payout,
        revenue_vault=w.m.revenue_vault("alpha"),
        sequence=SettlementStream.decode(stream).next_sequence if stream else 0,
        count=1,
        total=PAYMENT,
        root=merkle.root(merkle.leaves([(pid, PAYMENT)])),
        source=w.usdc(w.settler),
        source_authority=w.settler.pubkey(),
    )


def registered(w: World, name: str) -> tuple[Keypair, Pubkey]:
    """A provider paid into a non-associated USDC account (its keypair is not kept)."""
    p = w.c.new_wallet()
    old = token_account(w.c, p.pubkey(), w.c.usdc_mint)
    w.c.send([w.m.register_provider(p.pubkey(), name, payout=old)], [p])
    w.c.send([w.m.upsert_offer(p.pubkey(), "alpha", PRICE_IN, PRICE_OUT)], [p])
    return p, old


def test_provider_replaces_a_closed_payout_account(w: World) -> None:
    p, old = registered(w, "mover")
    share, _, _ = expected_split(PAYMENT, PROTOCOL_FEE_BPS, ALPHA_FEE_BPS)
    w.c.send([pay(w, p, old)], [w.settler])
    assert w.balance(old) == share

    # the provider empties and closes the account; it can never be re-created
    ata = w.c.ata(p.pubkey(), w.c.usdc_mint)
    w.c.send(
        [
            tk_transfer_checked(TOKEN_PROGRAM_ID, old, w.c.usdc_mint, ata, p.pubkey(), share),
            tk_close(TOKEN_PROGRAM_ID, old, p.pubkey(), p.pubkey()),
        ],
        [p],
    )
    assert w.c.data(old) is None and w.balance(ata) == share
    # every settlement naming the recorded payout now fails (the token program's batched
    # transfer refuses the missing account, now owned by the system program), and no other
    # payout is accepted
    assert_aborted(w.c, [pay(w, p, old)], [w.settler], "IncorrectProgramId")
    assert_rejected(w.c, [pay(w, p, ata)], [w.settler], "AccountMismatch")

    offer_before = Offer.decode(w.c.data(w.m.offer("alpha", p.pubkey())))  # type: ignore[arg-type]
    meta = w.c.send(
        [w.m.upsert_offer(p.pubkey(), "alpha", PRICE_IN, PRICE_OUT, new_payout=ata)], [p]
    )
    after = provider(w, p)
    assert after.payout == ata and after.total_earned == share and after.authority == p.pubkey()
    offer = Offer.decode(w.c.data(w.m.offer("alpha", p.pubkey())))  # type: ignore[arg-type]
    assert (offer.price_input_per_mtok, offer.price_output_per_mtok, offer.active) == (
        offer_before.price_input_per_mtok,
        offer_before.price_output_per_mtok,
        offer_before.active,
    )
    changed = [e for e in w.c.events(meta) if isinstance(e, ProviderPayoutChanged)]
    assert changed == [ProviderPayoutChanged(w.m.provider(p.pubkey()), old, ata)]

    w.c.send([pay(w, p, ata)], [w.settler])
    assert w.balance(ata) == 2 * share and provider(w, p).total_earned == 2 * share


def refused_change(w: World, p: Keypair, new_payout: Pubkey, error: str) -> None:
    ix = w.m.upsert_offer(p.pubkey(), "alpha", 1, 1, new_payout=new_payout)
    assert_rejected(w.c, [ix], [p], error, watch=[w.m.provider(p.pubkey()), new_payout])


def test_the_escrow_cannot_become_a_payout(w: World) -> None:
    """Same rule as registration: the provider leg would strand in the escrow."""
    p, old = registered(w, "to-escrow")
    refused_change(w, p, w.m.escrow_vault, "DuplicateAccount")
    assert provider(w, p).payout == old


@pytest.mark.parametrize("kind", ["model-token account", "no account", "wallet"])
def test_a_payout_must_be_a_usdc_account(w: World, kind: str) -> None:
    p, old = registered(w, f"bad-{kind[:5]}")
    target = {
        "model-token account": w.c.ata(p.pubkey(), w.mints["alpha"]),
        "no account": Keypair().pubkey(),
        "wallet": p.pubkey(),
    }[kind]
    refused_change(w, p, target, "InvalidTokenAccount")
    assert provider(w, p).payout == old


def test_provider_passed_read_only(w: World) -> None:
    p, old = registered(w, "read-only")
    ata = w.c.ata(p.pubkey(), w.c.usdc_mint)
    ix = patch(
        w.m.upsert_offer(p.pubkey(), "alpha", 1, 1, new_payout=ata), "provider", writable=False
    )
    assert_rejected(w.c, [ix], [p], "NotWritable", watch=[ata])
    assert provider(w, p).payout == old


def test_another_key_cannot_redirect_a_providers_payout(w: World) -> None:
    """The attacker signs with the victim's provider account and its own USDC account."""
    p, old = registered(w, "victim")
    ix = w.m.upsert_offer(w.attacker.pubkey(), "alpha", 1, 1, new_payout=w.usdc(w.attacker))
    ix = patch(ix, "provider", w.m.provider(p.pubkey()))
    ix = patch(ix, "offer", w.m.offer("alpha", p.pubkey()))
    assert_rejected(w.c, [ix], [w.attacker], "Unauthorized", watch=[w.usdc(w.attacker)])
    assert provider(w, p).payout == old
