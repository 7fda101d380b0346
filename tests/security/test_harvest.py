"""Class 15 — harvest: withheld Token-2022 transfer fees go from up to 20 token accounts of
the model's mint, through the mint, to a token account of that mint owned by the treasury
authority (harvest_fees.rs). Sources of another mint, a destination that is not the
protocol's, and more sources than the documented maximum are refused."""

from __future__ import annotations

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from bourse_chain import token_layout
from tests.security.kit import (
    T22_FEE_BPS,
    T22_MAX_FEE,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    USDC,
    World,
    assert_rejected,
    patch,
    token_withheld,
)

MAX_SOURCES = 20


@pytest.fixture(scope="module")
def w() -> World:
    world = World()
    world.list_model("delta", 0, world.creator2, TOKEN_2022_PROGRAM_ID)  # another fee-bearing mint
    return world


@pytest.fixture(scope="module")
def holders(w: World) -> list[Pubkey]:
    """21 gamma token accounts, each holding withheld fees (every transfer in withholds 1%)."""
    out = []
    for _ in range(MAX_SOURCES + 1):
        wallet = w.c.new_wallet()
        out.append(w.give_tokens("gamma", wallet, 10 * USDC))
    return out


def test_sources_of_another_mint(w: World, holders: list[Pubkey]) -> None:
    other = w.give_tokens("delta", w.attacker, 1 * USDC)
    ix = w.harvest_ix("gamma", [holders[0], other])
    assert_rejected(w.c, [ix], [w.crank], "InvalidTokenAccount", watch=[w.mints["delta"]])


def test_spl_token_account_as_source(w: World, holders: list[Pubkey]) -> None:
    ix = w.harvest_ix("gamma", [holders[0], w.usdc(w.payer)])
    assert_rejected(w.c, [ix], [w.crank], "InvalidTokenAccount")


def test_destination_not_owned_by_the_treasury_authority(w: World, holders: list[Pubkey]) -> None:
    mine = w.c.ata(w.attacker.pubkey(), w.mints["gamma"], TOKEN_2022_PROGRAM_ID)
    assert_rejected(
        w.c, [w.harvest_ix("gamma", holders[:3], destination=mine)], [w.crank], "InvalidTreasury"
    )


def test_destination_of_another_mint(w: World, holders: list[Pubkey]) -> None:
    """The treasury authority's delta account (right owner, wrong mint)."""
    dest = w.c.ata(w.treasury_owner.pubkey(), w.mints["delta"], TOKEN_2022_PROGRAM_ID)
    assert_rejected(
        w.c,
        [w.harvest_ix("gamma", holders[:3], destination=dest)],
        [w.crank],
        "InvalidTokenAccount",
    )


def test_more_sources_than_the_maximum(w: World, holders: list[Pubkey]) -> None:
    assert len(holders) == MAX_SOURCES + 1
    assert_rejected(
        w.c, [w.harvest_ix("gamma", holders)], [w.crank], "TooManySources", watch=[w.mints["gamma"]]
    )


def test_source_not_writable(w: World, holders: list[Pubkey]) -> None:
    ix = w.harvest_ix("gamma", holders[:2])
    metas = list(ix.accounts)  # the sources follow the six named accounts
    metas[6] = AccountMeta(metas[6].pubkey, is_signer=False, is_writable=False)
    ix = Instruction(ix.program_id, bytes(ix.data), metas)
    assert_rejected(w.c, [ix], [w.crank], "NotWritable")


def test_spl_model_has_nothing_to_harvest(w: World) -> None:
    ix = w.m.harvest_fees(w.crank.pubkey(), "alpha", w.mints["alpha"], w.usdc(w.treasury_owner), [])
    assert_rejected(w.c, [ix], [w.crank], "NotTokenized")


def test_harvest_with_spl_token_program(w: World, holders: list[Pubkey]) -> None:
    ix = patch(w.harvest_ix("gamma", holders[:1]), "token_program", TOKEN_PROGRAM_ID)
    assert_rejected(w.c, [ix], [w.crank], "InvalidTokenProgram")


def test_the_maximum_harvests_everything_to_the_treasury(w: World, holders: list[Pubkey]) -> None:
    """Control: exactly 20 sources, every withheld micro-token lands in the treasury's
    account (plus what the mint itself held), and nothing is left withheld in them."""
    dest = w.c.ata(w.treasury_owner.pubkey(), w.mints["gamma"], TOKEN_2022_PROGRAM_ID)
    before = w.balance(dest)
    sources = holders[:MAX_SOURCES]
    per_holder = token_layout.transfer_fee(10 * USDC, T22_FEE_BPS, T22_MAX_FEE)
    assert all(token_withheld(w.c, s) == per_holder for s in holders)
    w.c.send([w.harvest_ix("gamma", sources)], [w.crank])
    assert w.balance(dest) - before >= per_holder * MAX_SOURCES
    assert all(token_withheld(w.c, s) == per_holder for s in holders[MAX_SOURCES:])  # untouched
    assert all(token_withheld(w.c, s) == 0 for s in sources)
