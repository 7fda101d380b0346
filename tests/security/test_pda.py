"""Class 8 — PDAs: non-canonical bumps, PDAs of another program, and seeds that collide
across accounts (one model's PDA or vault used for another, one model PDA's signature used
on another model's vault)."""

from __future__ import annotations

import pytest
from solders.instruction import AccountMeta
from solders.pubkey import Pubkey

from bourse_chain import pda
from bourse_chain.generated.compute_market import constants
from bourse_chain.generated.cp_pool import instructions as pool_ix
from bourse_ops.sandbox.svm_chain import Market, new_chain
from tests.security.kit import (
    CP_POOL_ID,
    MARKET_ID,
    TOKEN_OWNER_MISMATCH,
    TOKEN_PROGRAM_ID,
    USDC,
    World,
    assert_rejected,
    patch,
    token_owner,
)


def off_canonical(seeds: list[bytes], program_id: Pubkey = MARKET_ID) -> Pubkey:
    """A valid PDA of `seeds` with a bump below the canonical one."""
    _, bump = Pubkey.find_program_address(seeds, program_id)
    for b in range(bump - 1, -1, -1):
        try:
            return Pubkey.create_program_address([*seeds, bytes([b])], program_id)
        except Exception:  # on the curve: not a PDA, try the next bump
            continue
    raise AssertionError("no second bump")


@pytest.fixture(scope="module")
def w() -> World:
    return World()


# -- non-canonical bumps ------------------------------------------------------------------------


def test_model_at_a_non_canonical_bump(w: World) -> None:
    slug = "bumpy"
    ix = w.m.register_model(w.creator.pubkey(), slug, 0)
    ix = patch(ix, "model", off_canonical([constants.SEED_MODEL, slug.encode()]))
    assert_rejected(w.c, [ix], [w.creator], "InvalidPda")


def test_revenue_vault_at_a_non_canonical_bump(w: World) -> None:
    slug = "bumpy-vault"
    ix = w.m.register_model(w.creator.pubkey(), slug, 0)
    ix = patch(
        ix, "revenue_vault", off_canonical([constants.SEED_REVENUE_VAULT, bytes(w.m.model(slug))])
    )
    assert_rejected(w.c, [ix], [w.creator], "InvalidPda")


def test_buyback_vault_at_a_non_canonical_bump(w: World) -> None:
    slug = "bumpy-buyback"
    w.register(slug, 0, w.creator, approve=False)
    mint = w.c.create_model_mint(w.creator.pubkey(), 1_000)
    w.approve(slug, mint)
    ix = w.m.tokenize_model(w.creator.pubkey(), slug, mint, TOKEN_PROGRAM_ID)
    ix = patch(
        ix, "buyback_vault", off_canonical([constants.SEED_BUYBACK_VAULT, bytes(w.m.model(slug))])
    )
    assert_rejected(w.c, [ix], [w.creator], "InvalidPda")


def test_provider_at_a_non_canonical_bump(w: World) -> None:
    p = w.c.new_wallet()
    w.c.ata(p.pubkey(), w.c.usdc_mint)
    ix = patch(
        w.m.register_provider(p.pubkey(), "p"),
        "provider",
        off_canonical([constants.SEED_PROVIDER, bytes(p.pubkey())]),
    )
    assert_rejected(w.c, [ix], [p], "InvalidPda")


def test_offer_at_a_non_canonical_bump(w: World) -> None:
    ix = w.m.upsert_offer(w.provider.pubkey(), "plain", 1, 1)
    seeds = [
        constants.SEED_OFFER,
        bytes(w.m.model("plain")),
        bytes(w.m.provider(w.provider.pubkey())),
    ]
    assert_rejected(w.c, [patch(ix, "offer", off_canonical(seeds))], [w.provider], "InvalidPda")


@pytest.mark.parametrize(
    "where", ["old pda", "old pda, non-canonical bump", "other nonce", "other base", "other owner"]
)
def test_order_at_another_address(w: World, where: str) -> None:
    """An order has no bump to be non-canonical: it lives at create_with_seed(payer, the nonce
    as 16 hex digits, compute_market), one address per (payer, nonce). The PDA it used to be
    at (any bump), another nonce's address, another base's or another owner's are refused."""
    ix, nonce = w.open_ix()
    payer = w.payer.pubkey()
    seeds = [b"order", bytes(payer), nonce.to_bytes(8, "little")]
    seed = pda.order_seed(nonce)
    address = {
        "old pda": Pubkey.find_program_address(seeds, MARKET_ID)[0],
        "old pda, non-canonical bump": off_canonical(seeds),
        "other nonce": pda.order_address(payer, nonce + 1),
        "other base": Pubkey.create_with_seed(w.attacker.pubkey(), seed, MARKET_ID),
        "other owner": Pubkey.create_with_seed(payer, seed, CP_POOL_ID),
    }[where]
    assert_rejected(w.c, [patch(ix, "order", address)], [w.payer], "InvalidPda")


def test_stream_at_a_non_canonical_bump(w: World) -> None:
    """A second stream for the same (model, provider) would let a batch sequence settle twice."""
    w.c.fund_usdc(w.settler.pubkey(), 1 * USDC)
    ix = w.payment_ix("gamma", 1 * USDC)
    seeds = [
        constants.SEED_STREAM,
        bytes(w.m.model("gamma")),
        bytes(w.m.provider(w.provider.pubkey())),
    ]
    assert_rejected(w.c, [patch(ix, "stream", off_canonical(seeds))], [w.settler], "InvalidPda")


# -- PDAs of another program ----------------------------------------------------------------------


@pytest.mark.parametrize("account", ["model", "revenue_vault"])
def test_same_seeds_under_another_program(w: World, account: str) -> None:
    slug = f"foreign-{account}"
    ix = w.m.register_model(w.creator.pubkey(), slug, 0)
    if account == "model":
        fake = pda.model_pda(slug, CP_POOL_ID)[0]
    else:
        fake = pda.revenue_vault_pda(w.m.model(slug), CP_POOL_ID)[0]
    assert_rejected(w.c, [patch(ix, account, fake)], [w.creator], "InvalidPda")


def test_another_programs_pda_account_as_model(w: World) -> None:
    """cp_pool's pool account (a live PDA of cp_pool) where a model is expected."""
    ix = patch(w.burn_ix("alpha"), "model", w.pools["alpha"])
    assert_rejected(w.c, [ix], [w.crank], "InvalidAccountOwner")


def test_another_programs_vault_as_a_model_vault(w: World) -> None:
    """cp_pool's USDC vault is a token account, but not the model's recorded vault."""
    pool_usdc = pda.pool_vault_pda(w.pools["alpha"], w.c.usdc_mint)[0]
    ix = patch(w.buyback_ix("alpha", 1 * USDC, 1), "revenue_vault", pool_usdc)
    assert_rejected(w.c, [ix], [w.crank], "AccountMismatch")


# -- seeds that collide across accounts ------------------------------------------------------------


def test_model_registered_at_another_slugs_address(w: World) -> None:
    ix = patch(w.m.register_model(w.creator.pubkey(), "mine", 0), "model", w.m.model("unclaimed"))
    assert_rejected(w.c, [ix], [w.creator], "InvalidPda")


def test_tokenize_into_another_models_future_vault(w: World) -> None:
    """plain (approved, not tokenized) with the buyback-vault address derived for pending."""
    mint = w.c.create_model_mint(w.creator.pubkey(), 1_000)
    w.approve("plain", mint)
    ix = w.m.tokenize_model(w.creator.pubkey(), "plain", mint, TOKEN_PROGRAM_ID)
    ix = patch(ix, "buyback_vault", w.m.buyback_vault("pending"))
    assert_rejected(w.c, [ix], [w.creator], "InvalidPda")


def test_seed_prefixes_cannot_collide() -> None:
    """PDA seeds are concatenated before hashing: with no prefix a prefix of another, two
    account kinds can never derive the same address (only the model seed has a variable-
    length part, and it follows the unique prefix "model"). Orders are addresses with seed,
    sha256(base ‖ seed ‖ owner) with no "ProgramDerivedAddress" suffix: never a PDA."""
    prefixes = {v for k, v in vars(constants).items() if k.startswith("SEED_")}
    assert len(prefixes) == 10
    for a in prefixes:
        for b in prefixes:
            assert a == b or not b.startswith(a), (a, b)


def test_each_model_pda_owns_only_its_own_vaults(w: World) -> None:
    for slug in ("alpha", "beta", "gamma"):
        model = w.m.model(slug)
        assert token_owner(w.c, w.m.revenue_vault(slug)) == model
        assert token_owner(w.c, w.m.buyback_vault(slug)) == model
    assert len({w.m.revenue_vault(s) for s in ("alpha", "beta", "gamma")}) == 3


def test_one_models_signature_does_not_move_another_models_revenue(w: World) -> None:
    """beta's buyback signs as beta's model PDA; a route spending alpha's revenue vault is
    refused by the token program (alpha's vault answers only to alpha's PDA)."""
    c, m = w.c, w.m
    pool = w.pools["alpha"]
    swap = pool_ix.swap(
        pool_ix.SwapArgs(amount_in=1 * USDC, min_out=1),
        pool_ix.SwapAccounts(
            user=m.model("beta"),
            pool=pool,
            user_source=m.revenue_vault("alpha"),
            user_destination=m.buyback_vault("alpha"),
            vault_in=pda.pool_vault_pda(pool, c.usdc_mint)[0],
            vault_out=pda.pool_vault_pda(pool, w.mints["alpha"])[0],
            mint_in=c.usdc_mint,
            mint_out=w.mints["alpha"],
            token_program_in=TOKEN_PROGRAM_ID,
            token_program_out=TOKEN_PROGRAM_ID,
        ),
    )
    accounts = [
        AccountMeta(a.pubkey, is_signer=False, is_writable=a.is_writable) for a in swap.accounts
    ]
    ix = m.buyback(
        w.crank.pubkey(),
        "beta",
        swap_program=CP_POOL_ID,
        swap_data=bytes(swap.data),
        swap_accounts=accounts,
        amount_in=1 * USDC,
        min_out=1,
    )
    assert_rejected(
        c,
        [ix],
        [w.crank],
        TOKEN_OWNER_MISMATCH,
        program=TOKEN_PROGRAM_ID,
        watch=[m.revenue_vault("alpha"), m.buyback_vault("alpha")],
    )


@pytest.mark.parametrize("account", ["config", "escrow_vault"])
def test_config_and_escrow_at_non_canonical_bumps(account: str) -> None:
    c = new_chain()
    m = Market(usdc_mint=c.usdc_mint, treasury_authority=c.admin.pubkey())
    seed = constants.SEED_CONFIG if account == "config" else constants.SEED_ESCROW_VAULT
    ix = m.initialize_config(c.admin.pubkey(), c.admin.pubkey(), c.admin.pubkey())
    assert_rejected(
        c,
        [patch(ix, account, off_canonical([seed]))],
        [c.admin],
        "InvalidPda",
        watch=[m.config, m.escrow_vault],
    )
