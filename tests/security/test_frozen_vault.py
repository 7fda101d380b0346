"""Issue 11, hole 6 — a creator freezes its model's revenue vault.

A Token-2022 model token whose creator keeps the transfer-fee config authority can have its
fee raised to 10,000 bps (maximum fee u64::MAX); two epochs later every buyback delivers
nothing (`SlippageExceeded`) and buyback was the only exit of the vault's USDC.

Now (a) `tokenize_model` accepts a transfer fee only if it can never rise: its config
authority is none or the config PDA (which never signs a fee change) and the current and
scheduled fees are at most `MAX_MODEL_TOKEN_TRANSFER_FEE_BPS` (`checks.rs:
transfer_fee_fixed`); (b) revenue stuck behind a listing made before that rule leaves through
`set_model_status` (delist with `sweep_stuck_revenue`) to the treasury, only while the live
mint breaks the rule, only by the admin, only into the treasury.
"""

from __future__ import annotations

import itertools
import struct

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.generated.compute_market.types import ModelStatus, TokenKind
from bourse_chain.money import expected_split
from idl.compute_market_spec import MAX_MODEL_TOKEN_TRANSFER_FEE_BPS
from tests.security.kit import (
    CP_POOL_ID,
    TOKEN_2022_PROGRAM_ID,
    USDC,
    World,
    assert_rejected,
    create_t22_mint,
    ext_transfer_fee,
    rewrite,
)

U64_MAX = 2**64 - 1
#: TokenError::NoAuthorityExists.
TOKEN_NO_AUTHORITY_EXISTS = 29
#: A mint with only TransferFeeConfig: 165-byte base, account type, TLV header, then the
#: value — its first 32 bytes are the fee's config authority (zero = none).
FEE_CONFIG_AUTHORITY_OFFSET = 166 + 4
CREATOR_FEE_BPS = 1_000
PROTOCOL_FEE_BPS = 100
REVENUE = 1_000 * USDC

_slugs = itertools.count()


@pytest.fixture(scope="module")
def w() -> World:
    return World()


def set_transfer_fee(mint: Pubkey, authority: Pubkey, bps: int, maximum_fee: int) -> Instruction:
    """Token-2022 TransferFeeExtension::SetTransferFee (tag 26, sub-tag 5)."""
    data = bytes([26, 5]) + struct.pack("<HQ", bps, maximum_fee)
    return Instruction(
        TOKEN_2022_PROGRAM_ID,
        data,
        [AccountMeta(mint, False, True), AccountMeta(authority, True, False)],
    )


def next_epochs(w: World, n: int) -> None:
    clock = w.c.svm.get_clock()
    clock.epoch = clock.epoch + n
    clock.slot = clock.slot + n * 432_000
    w.c.svm.set_clock(clock)


def model(w: World, slug: str) -> Model:
    return Model.decode(w.c.data(w.m.model(slug)))  # type: ignore[arg-type]


def frozen_listing(w: World) -> str:
    """A Token-2022 listing (1% fee, 10% creator fee) with revenue and a pool, made before
    the fixed-fee rule: its creator still holds the fee's config authority (written into the
    mint, as the old tokenize accepted it), raises the fee to 10,000 bps with no maximum,
    and two epochs pass."""
    slug = f"frozen-{next(_slugs)}"
    w.list_model(slug, CREATOR_FEE_BPS, w.creator, TOKEN_2022_PROGRAM_ID)
    w.pay(slug, REVENUE)
    w.make_pool(slug)
    mint = w.mints[slug]
    rewrite(w.c, mint, FEE_CONFIG_AUTHORITY_OFFSET, bytes(w.creator.pubkey()))
    w.c.send([set_transfer_fee(mint, w.creator.pubkey(), 10_000, U64_MAX)], [w.creator])
    next_epochs(w, 2)
    return slug


def sweep_ix(w: World, slug: str, *, treasury: Pubkey | None = None) -> Instruction:
    ix = w.m.delist_and_sweep(w.admin.pubkey(), slug, w.mints[slug])
    if treasury is None:
        return ix
    metas = list(ix.accounts)
    metas[5] = AccountMeta(treasury, False, True)  # admin, config, model, mint, vault, treasury
    return Instruction(ix.program_id, bytes(ix.data), metas)


def watched(w: World, slug: str) -> list[Pubkey]:
    return [w.m.model(slug), w.m.revenue_vault(slug), w.m.treasury, w.mints[slug]]


# -- (a) the rule at tokenize --------------------------------------------------------------------


def listing_with(w: World, mint: Pubkey) -> tuple[str, Instruction]:
    slug = f"fee-rule-{next(_slugs)}"
    w.register(slug, 0, w.creator, approve=False)
    w.approve(slug, mint)
    return slug, w.m.tokenize_model(w.creator.pubkey(), slug, mint, TOKEN_2022_PROGRAM_ID)


def test_creator_keeping_the_fee_authority_cannot_tokenize(w: World) -> None:
    """The creator as the fee's config authority (the attack's precondition): refused, the
    model stays untokenized and no buyback vault is created."""
    mint = create_t22_mint(w.c, [ext_transfer_fee(w.creator.pubkey(), w.m.config, 100, 10**12)])
    slug, ix = listing_with(w, mint)
    assert_rejected(
        w.c,
        [ix],
        [w.creator],
        "TransferFeeAuthorityPresent",
        watch=[mint, w.m.buyback_vault(slug)],
    )
    assert model(w, slug).token_kind == TokenKind.NONE
    assert w.c.data(w.m.buyback_vault(slug)) is None


def test_a_fee_above_the_cap_cannot_tokenize(w: World) -> None:
    """A fee fixed at creation but above the cap (no authority: it can never come down)."""
    mint = create_t22_mint(
        w.c, [ext_transfer_fee(None, w.m.config, MAX_MODEL_TOKEN_TRANSFER_FEE_BPS + 1, U64_MAX)]
    )
    slug, ix = listing_with(w, mint)
    assert_rejected(
        w.c, [ix], [w.creator], "TransferFeeTooHigh", watch=[mint, w.m.buyback_vault(slug)]
    )
    assert model(w, slug).token_kind == TokenKind.NONE


def test_a_fee_at_the_cap_with_no_authority_tokenizes(w: World) -> None:
    """Control: the largest fee the rule allows, fixed for good, is accepted."""
    mint = create_t22_mint(
        w.c, [ext_transfer_fee(None, w.m.config, MAX_MODEL_TOKEN_TRANSFER_FEE_BPS, U64_MAX)]
    )
    slug, ix = listing_with(w, mint)
    w.c.send([ix], [w.creator])
    assert model(w, slug).token_kind == TokenKind.TOKEN2022 and model(w, slug).mint == mint


# -- (b) a safe exit for revenue already stuck ---------------------------------------------------


def test_frozen_listing_revenue_leaves_to_the_treasury(w: World) -> None:
    slug = frozen_listing(w)
    vault, treasury = w.m.revenue_vault(slug), w.m.treasury
    _, creator_fee, _ = expected_split(REVENUE, PROTOCOL_FEE_BPS, CREATOR_FEE_BPS)
    assert w.balance(vault) == creator_fee == 100 * USDC

    # the freeze: the whole output would be withheld, so the venue delivers nothing (cp_pool
    # refuses on its own min_out; a venue that does not check fails the market's min_out)
    assert_rejected(
        w.c,
        [w.buyback_ix(slug, 10 * USDC, 1)],
        [w.crank],
        "SlippageExceeded",
        program=CP_POOL_ID,
    )

    treasury_before = w.balance(treasury)
    w.c.send([sweep_ix(w, slug)], [w.admin])
    after = model(w, slug)
    assert w.balance(vault) == 0
    assert w.balance(treasury) == treasury_before + creator_fee
    assert after.usdc_swept == creator_fee and after.status == ModelStatus.DELISTED
    assert after.usdc_spent == 0 and after.total_creator_fees == creator_fee
    # delisted: no more buybacks; a second sweep has nothing to move
    assert_rejected(w.c, [w.buyback_ix(slug, 1 * USDC, 1)], [w.crank], "ModelNotApproved")
    assert_rejected(w.c, [sweep_ix(w, slug)], [w.admin], "ZeroAmount", watch=watched(w, slug))


@pytest.mark.parametrize("slug", ["alpha", "gamma"])
def test_healthy_listings_revenue_cannot_be_swept(w: World, slug: str) -> None:
    """An SPL token and a Token-2022 token whose fee is fixed: buyback works, so the admin
    cannot take their revenue (the model stays approved, the vault untouched)."""
    assert w.balance(w.m.revenue_vault(slug)) > 0
    assert_rejected(w.c, [sweep_ix(w, slug)], [w.admin], "RevenueNotStuck", watch=watched(w, slug))
    assert model(w, slug).status == ModelStatus.APPROVED


def test_only_the_admin_sweeps(w: World) -> None:
    slug = frozen_listing(w)
    ix = w.m.delist_and_sweep(w.attacker.pubkey(), slug, w.mints[slug])
    assert_rejected(w.c, [ix], [w.attacker], "Unauthorized", watch=watched(w, slug))


def test_sweep_only_into_the_treasury(w: World) -> None:
    slug = frozen_listing(w)
    elsewhere = w.usdc(w.attacker)
    assert_rejected(
        w.c,
        [sweep_ix(w, slug, treasury=elsewhere)],
        [w.admin],
        "InvalidTreasury",
        watch=[*watched(w, slug), elsewhere],
    )


def test_sweep_names_the_models_own_mint(w: World) -> None:
    """Another model's frozen mint does not unlock this model's vault."""
    slug = frozen_listing(w)
    ix = w.m.delist_and_sweep(w.admin.pubkey(), "gamma", w.mints[slug])
    assert_rejected(w.c, [ix], [w.admin], "InvalidMint", watch=watched(w, "gamma"))


def test_nobody_can_raise_the_fee_of_a_listing_made_under_the_rule(w: World) -> None:
    """Control for the fixture: gamma's fee has no config authority, so Token-2022 refuses
    every SetTransferFee (NoAuthorityExists) and the freeze cannot happen."""
    stranger = Keypair()
    w.c.svm.airdrop(stranger.pubkey(), 10**9)
    mint = w.mints["gamma"]
    assert_rejected(
        w.c,
        [set_transfer_fee(mint, stranger.pubkey(), 10_000, U64_MAX)],
        [stranger],
        TOKEN_NO_AUTHORITY_EXISTS,
        program=TOKEN_2022_PROGRAM_ID,
    )
