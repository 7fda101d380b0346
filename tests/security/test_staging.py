"""buyback's USDC staging (the model PDA's associated USDC account, for venues that spend only
from the user's ATA) under a hostile route: the staged USDC counts with the revenue vault,
the staging account must come out as it went in (no delegate, no close authority, same
owner, still there), and whatever is left goes back to the vault. Each attack fails with
nothing changed."""

from __future__ import annotations

import pytest
from solders.pubkey import Pubkey

from tests.security.kit import (
    TOKEN_PROGRAM_ID,
    USDC,
    Call,
    World,
    assert_rejected,
    tk_approve,
    tk_close,
    tk_transfer_checked,
    token_account,
    token_delegate,
)

U64_MAX = 2**64 - 1


@pytest.fixture(scope="module")
def w(evil_image: bytes) -> World:
    world = World(evil_image=evil_image)
    assert world.evil is not None
    world.allow([world.evil])
    world.give_tokens("alpha", world.attacker, 1_000 * USDC)
    world.c.ata(world.model("alpha"), world.c.usdc_mint)  # the staging account
    return world


def stage(w: World) -> Pubkey:
    return w.m.usdc_account(w.model("alpha"))


def deliver(w: World, amount: int) -> Call:
    tp, mint = w.token_programs["alpha"], w.mints["alpha"]
    src = w.c.ata(w.attacker.pubkey(), mint, tp)
    return Call.of(
        tk_transfer_checked(tp, src, mint, w.m.buyback_vault("alpha"), w.attacker.pubkey(), amount)
    )


def spend(w: World, source: Pubkey, amount: int) -> Call:
    """Move USDC from a model account to the attacker, signed by the model PDA."""
    return Call.of(
        tk_transfer_checked(
            TOKEN_PROGRAM_ID, source, w.c.usdc_mint, w.usdc(w.attacker), w.model("alpha"), amount
        )
    )


def watch(w: World) -> list[Pubkey]:
    return [w.m.revenue_vault("alpha"), w.m.buyback_vault("alpha"), w.model("alpha"), stage(w)]


def test_a_fair_staged_route_spends_from_staging_and_sweeps_the_rest(w: World) -> None:
    vault_before = w.balance(w.m.revenue_vault("alpha"))
    calls = [spend(w, stage(w), 3 * USDC), deliver(w, 100)]
    ix = w.evil_buyback_ix("alpha", 10 * USDC, 100, calls, signers=[w.attacker.pubkey()])
    w.c.send([ix], [w.crank, w.attacker])
    assert w.balance(w.m.revenue_vault("alpha")) == vault_before - 3 * USDC
    assert w.balance(stage(w)) == 0
    w.warp(10_000)


def test_spending_staging_and_the_vault_beyond_amount_in(w: World) -> None:
    calls = [
        spend(w, stage(w), 10 * USDC),
        spend(w, w.m.revenue_vault("alpha"), 1),
        deliver(w, 100),
    ]
    ix = w.evil_buyback_ix("alpha", 10 * USDC, 100, calls, signers=[w.attacker.pubkey()])
    assert_rejected(w.c, [ix], [w.crank, w.attacker], "SwapOverspent", watch=watch(w))


def test_a_delegate_on_the_staging_account(w: World) -> None:
    calls = [
        Call.of(tk_approve(TOKEN_PROGRAM_ID, stage(w), w.attacker.pubkey(), w.model("alpha"), 1)),
        spend(w, stage(w), 1 * USDC),
        deliver(w, 100),
    ]
    ix = w.evil_buyback_ix("alpha", 10 * USDC, 100, calls, signers=[w.attacker.pubkey()])
    assert_rejected(w.c, [ix], [w.crank, w.attacker], "VaultTampered", watch=watch(w))
    assert token_delegate(w.c, stage(w)) is None


def test_closing_the_staging_account(w: World) -> None:
    calls = [
        spend(w, stage(w), 10 * USDC),
        Call.of(tk_close(TOKEN_PROGRAM_ID, stage(w), w.attacker.pubkey(), w.model("alpha"))),
        deliver(w, 100),
    ]
    ix = w.evil_buyback_ix("alpha", 10 * USDC, 100, calls, signers=[w.attacker.pubkey()])
    assert_rejected(w.c, [ix], [w.crank, w.attacker], "InvalidTokenAccount", watch=watch(w))


def test_a_look_alike_model_usdc_account_is_not_staged(w: World) -> None:
    # a USDC account the attacker opened with the model PDA as owner (not its ATA): nothing is
    # staged into it, so the route finds it empty and its transfer fails in the token program
    fake = token_account(w.c, w.model("alpha"), w.c.usdc_mint, TOKEN_PROGRAM_ID)
    calls = [spend(w, fake, 1 * USDC), deliver(w, 100)]
    ix = w.evil_buyback_ix("alpha", 10 * USDC, 100, calls, signers=[w.attacker.pubkey()])
    before = w.c.snapshot([*watch(w), fake])
    failed = w.c.fails([ix], [w.crank, w.attacker])
    assert "insufficient funds" in "\n".join(failed.logs)
    assert w.c.snapshot([*watch(w), fake]) == before
