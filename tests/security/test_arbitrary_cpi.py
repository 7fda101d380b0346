"""Class 6 — arbitrary CPI: token programs that are not SPL Token / Token-2022, swap programs
off the allow-list, and allow-listed routes that misbehave (the test-only evil router,
tests/security/programs/evil_router, runs any CPI script with the model PDA's signature:
a malicious or compromised venue inside an aggregator route)."""

from __future__ import annotations

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.accounts import Model
from tests.security.kit import (
    ACCOUNT_OWNER,
    CLOSE_ACCOUNT,
    CP_POOL_ID,
    MARKET_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    USDC,
    Call,
    World,
    assert_aborted,
    assert_rejected,
    patch,
    tk_approve,
    tk_close,
    tk_set_authority,
    tk_transfer_checked,
    token_delegate,
    token_owner,
)

U64_MAX = 2**64 - 1


@pytest.fixture(scope="module")
def w(evil_image: bytes) -> World:
    world = World(evil_image=evil_image)
    assert world.evil is not None
    world.allow([CP_POOL_ID, world.evil])
    return world


@pytest.fixture(scope="module")
def supplier(w: World) -> Keypair:
    """The attacker's wallet holding model tokens the evil route can pay the buyback vault with."""
    for slug in ("alpha", "gamma"):
        w.give_tokens(slug, w.attacker, 1_000 * USDC)
    return w.attacker


def deliver(w: World, slug: str, who: Keypair, amount: int) -> Call:
    """A route leg paying `amount` model tokens from `who` into the model's buyback vault."""
    tp, mint = w.token_programs[slug], w.mints[slug]
    src = w.c.ata(who.pubkey(), mint, tp)
    return Call.of(
        tk_transfer_checked(tp, src, mint, w.m.buyback_vault(slug), who.pubkey(), amount)
    )


def take_usdc(w: World, slug: str, amount: int, to: Pubkey) -> Call:
    """A route leg moving USDC out of the revenue vault, signed by the model PDA."""
    m = w.m
    return Call.of(
        tk_transfer_checked(
            TOKEN_PROGRAM_ID, m.revenue_vault(slug), w.c.usdc_mint, to, m.model(slug), amount
        )
    )


def vaults(w: World, slug: str) -> list[Pubkey]:
    return [w.m.revenue_vault(slug), w.m.buyback_vault(slug), w.m.model(slug)]


# -- token programs that are not SPL Token / Token-2022 ----------------------------------------


def test_tokenize_with_a_fake_token_program(w: World) -> None:
    assert w.evil is not None
    w.register("fake-tp", 0, w.creator, approve=False)
    mint = w.c.create_model_mint(w.creator.pubkey(), 1_000)
    w.approve("fake-tp", mint)
    ix = w.m.tokenize_model(w.creator.pubkey(), "fake-tp", mint, w.evil)
    assert_rejected(w.c, [ix], [w.creator], "InvalidTokenProgram", watch=[mint])


def test_burn_with_a_fake_token_program(w: World) -> None:
    assert w.evil is not None
    ix = patch(w.burn_ix("alpha"), "token_program", w.evil)
    assert_rejected(w.c, [ix], [w.crank], "InvalidTokenProgram")


def test_settle_order_with_a_fake_usdc_token_program(w: World) -> None:
    assert w.evil is not None
    o = w.open()
    ix = patch(w.settle_ix(o), "usdc_token_program", w.evil)
    assert_rejected(w.c, [ix], [w.settler], "InvalidTokenProgram", watch=[w.m.escrow_vault])


def test_settle_payment_with_token_2022_for_spl_usdc(w: World) -> None:
    ix = patch(w.payment_ix("alpha", 10 * USDC), "usdc_token_program", TOKEN_2022_PROGRAM_ID)
    w.c.fund_usdc(w.settler.pubkey(), 10 * USDC)
    assert_rejected(w.c, [ix], [w.settler], "InvalidTokenProgram")


def test_harvest_with_spl_token_instead_of_token_2022(w: World) -> None:
    ix = patch(w.harvest_ix("gamma", []), "token_program", TOKEN_PROGRAM_ID)
    assert_rejected(w.c, [ix], [w.crank], "InvalidTokenProgram")


# -- swap programs off the allow-list ----------------------------------------------------------


@pytest.mark.parametrize("program", ["unlisted", "token", "system", "self"])
def test_swap_program_not_on_the_allow_list(w: World, evil_image: bytes, program: str) -> None:
    route = w.pool_swap("alpha", 10 * USDC)
    ix = w.buyback_ix("alpha", 10 * USDC, 1, route=route)
    other = {
        "unlisted": Keypair().pubkey(),
        "token": TOKEN_PROGRAM_ID,
        "system": Pubkey.default(),
        "self": MARKET_ID,
    }[program]
    assert_rejected(w.c, [patch(ix, "swap_program", other)], [w.crank], "SwapProgramNotAllowed")


def test_the_market_itself_is_refused_even_when_allow_listed(evil_image: bytes) -> None:
    w = World(evil_image=evil_image)
    w.allow([CP_POOL_ID, MARKET_ID])
    ix = patch(w.buyback_ix("alpha", 10 * USDC, 1), "swap_program", MARKET_ID)
    assert_rejected(w.c, [ix], [w.crank], "SwapProgramNotAllowed")


# -- allow-listed routes that misbehave --------------------------------------------------------


def test_route_that_delivers_nothing(w: World) -> None:
    ix = w.evil_buyback_ix("alpha", 10 * USDC, 1, [])
    assert_rejected(w.c, [ix], [w.crank], "SlippageExceeded", watch=vaults(w, "alpha"))


def test_route_that_takes_usdc_and_delivers_nothing(w: World) -> None:
    ix = w.evil_buyback_ix(
        "alpha", 10 * USDC, 1, [take_usdc(w, "alpha", 10 * USDC, w.usdc(w.attacker))]
    )
    assert_rejected(w.c, [ix], [w.crank], "SlippageExceeded", watch=vaults(w, "alpha"))


def test_route_that_delivers_fewer_than_min_out(w: World, supplier: Keypair) -> None:
    calls = [
        take_usdc(w, "alpha", 10 * USDC, w.usdc(w.attacker)),
        deliver(w, "alpha", supplier, 99),
    ]
    ix = w.evil_buyback_ix("alpha", 10 * USDC, 100, calls, signers=[supplier.pubkey()])
    assert_rejected(w.c, [ix], [w.crank, supplier], "SlippageExceeded", watch=vaults(w, "alpha"))


def test_route_that_takes_more_usdc_than_amount_in(w: World, supplier: Keypair) -> None:
    calls = [
        take_usdc(w, "alpha", 10 * USDC + 1, w.usdc(w.attacker)),
        deliver(w, "alpha", supplier, 1_000),
    ]
    ix = w.evil_buyback_ix("alpha", 10 * USDC, 100, calls, signers=[supplier.pubkey()])
    assert_rejected(w.c, [ix], [w.crank, supplier], "SwapOverspent", watch=vaults(w, "alpha"))


def test_route_that_sells_from_the_buyback_vault(w: World, supplier: Keypair) -> None:
    """Tokens leave the buyback vault (the route 'buys' with the vault's own tokens)."""
    # Seed the buyback vault with tokens first (a direct donation).
    w.c.send([deliver(w, "alpha", supplier, 500).instruction()], [supplier])
    m = w.m
    out = Call.of(
        tk_transfer_checked(
            TOKEN_PROGRAM_ID,
            m.buyback_vault("alpha"),
            w.mints["alpha"],
            w.c.ata(supplier.pubkey(), w.mints["alpha"]),
            m.model("alpha"),
            500,
        )
    )
    calls = [out, deliver(w, "alpha", supplier, 100)]
    ix = w.evil_buyback_ix("alpha", 10 * USDC, 1, calls, signers=[supplier.pubkey()])
    assert_rejected(w.c, [ix], [w.crank, supplier], "SlippageExceeded", watch=vaults(w, "alpha"))


def test_route_that_closes_the_revenue_vault(w: World, supplier: Keypair) -> None:
    """Spend everything, then close the vault (rent to the attacker): the re-validation after
    the CPI no longer finds a token account."""
    c, m = w.c, w.m
    slug = "alpha"
    balance = w.balance(m.revenue_vault(slug))
    close = Call.of(
        tk_close(TOKEN_PROGRAM_ID, m.revenue_vault(slug), w.attacker.pubkey(), m.model(slug))
    )
    calls = [take_usdc(w, slug, balance, w.usdc(w.attacker)), close, deliver(w, slug, supplier, 1)]
    ix = w.evil_buyback_ix(slug, balance, 1, calls, signers=[supplier.pubkey()])
    assert_rejected(c, [ix], [w.crank, supplier], "InvalidTokenAccount", watch=vaults(w, slug))


# The hole this suite found: a route may use the model PDA's signature for more than a swap.
# Balances alone looked right (USDC spent <= amount_in, tokens arrived >= min_out), so a
# route could leave a delegate, a new owner or a close authority on a vault and drain it
# later. buyback now re-checks that both vaults are still owned by the model PDA with no
# delegate and no close authority (checks.rs: vault_intact).


@pytest.mark.parametrize("vault", ["revenue", "buyback"])
def test_route_that_approves_a_delegate_on_a_vault(w: World, supplier: Keypair, vault: str) -> None:
    m = w.m
    target = m.revenue_vault("alpha") if vault == "revenue" else m.buyback_vault("alpha")
    tp = TOKEN_PROGRAM_ID
    calls = [
        Call.of(tk_approve(tp, target, w.attacker.pubkey(), m.model("alpha"), U64_MAX)),
        take_usdc(w, "alpha", 1 * USDC, w.usdc(w.attacker)),
        deliver(w, "alpha", supplier, 100),
    ]
    ix = w.evil_buyback_ix("alpha", 1 * USDC, 100, calls, signers=[supplier.pubkey()])
    assert_rejected(w.c, [ix], [w.crank, supplier], "VaultTampered", watch=vaults(w, "alpha"))
    assert token_delegate(w.c, target) is None


def test_route_that_takes_ownership_of_the_revenue_vault(w: World, supplier: Keypair) -> None:
    m = w.m
    rv = m.revenue_vault("alpha")
    calls = [
        Call.of(
            tk_set_authority(
                TOKEN_PROGRAM_ID, rv, m.model("alpha"), ACCOUNT_OWNER, w.attacker.pubkey()
            )
        ),
        deliver(w, "alpha", supplier, 100),
    ]
    ix = w.evil_buyback_ix("alpha", 1 * USDC, 100, calls, signers=[supplier.pubkey()])
    assert_rejected(w.c, [ix], [w.crank, supplier], "VaultTampered", watch=vaults(w, "alpha"))
    assert token_owner(w.c, rv) == m.model("alpha")


def test_route_that_sets_a_close_authority_on_the_revenue_vault(
    w: World, supplier: Keypair
) -> None:
    m = w.m
    rv = m.revenue_vault("alpha")
    calls = [
        Call.of(
            tk_set_authority(
                TOKEN_PROGRAM_ID, rv, m.model("alpha"), CLOSE_ACCOUNT, w.attacker.pubkey()
            )
        ),
        deliver(w, "alpha", supplier, 100),
    ]
    ix = w.evil_buyback_ix("alpha", 1 * USDC, 100, calls, signers=[supplier.pubkey()])
    assert_rejected(w.c, [ix], [w.crank, supplier], "VaultTampered", watch=vaults(w, "alpha"))


def test_route_that_approves_a_delegate_on_a_token_2022_buyback_vault(
    w: World, supplier: Keypair
) -> None:
    m = w.m
    bv = m.buyback_vault("gamma")
    calls = [
        Call.of(
            tk_approve(TOKEN_2022_PROGRAM_ID, bv, w.attacker.pubkey(), m.model("gamma"), U64_MAX)
        ),
        deliver(w, "gamma", supplier, 1_000),
    ]
    ix = w.evil_buyback_ix("gamma", 1 * USDC, 100, calls, signers=[supplier.pubkey()])
    assert_rejected(w.c, [ix], [w.crank, supplier], "VaultTampered", watch=vaults(w, "gamma"))


def test_route_that_adds_required_memos_to_the_token_2022_buyback_vault(
    w: World, supplier: Keypair
) -> None:
    """Reallocate the buyback vault (the model PDA signs as owner) and turn on required
    memos: every later buyback through an ordinary venue would fail. Refused: a vault must
    keep its length (no new extension) across the route."""
    m = w.m
    bv, model = m.buyback_vault("gamma"), m.model("gamma")
    t22 = TOKEN_2022_PROGRAM_ID
    memo_transfer = 8  # ExtensionType::MemoTransfer
    realloc = Instruction(
        t22,
        bytes([29]) + memo_transfer.to_bytes(2, "little"),
        [
            AccountMeta(bv, is_signer=False, is_writable=True),
            AccountMeta(supplier.pubkey(), is_signer=True, is_writable=True),
            AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
            AccountMeta(model, is_signer=True, is_writable=False),
        ],
    )
    require_memos = Instruction(
        t22,
        bytes([30, 0]),
        [
            AccountMeta(bv, is_signer=False, is_writable=True),
            AccountMeta(model, is_signer=True, is_writable=False),
        ],
    )
    calls = [deliver(w, "gamma", supplier, 1_000), Call.of(realloc), Call.of(require_memos)]
    ix = w.evil_buyback_ix("gamma", 1 * USDC, 100, calls, signers=[supplier.pubkey()])
    assert_rejected(w.c, [ix], [w.crank, supplier], "VaultTampered", watch=vaults(w, "gamma"))


def test_route_that_reenters_the_market(w: World) -> None:
    """A venue calling back into the market (here: burn) is stopped by the runtime."""
    burn = w.burn_ix("alpha")
    ix = w.evil_buyback_ix("alpha", 1 * USDC, 1, [Call.of(burn)], signers=[w.crank.pubkey()])
    assert_aborted(w.c, [ix], [w.crank], "ReentrancyNotAllowed", watch=vaults(w, "alpha"))


def test_an_honest_evil_router_route_still_works(w: World, supplier: Keypair) -> None:
    """Control: the same router paying fairly (USDC out <= amount_in, tokens in >= min_out,
    vaults untouched otherwise) is accepted, so the refusals above are about misbehaviour."""
    m = w.m
    before = Model.decode(w.c.data(m.model("beta")))  # type: ignore[arg-type]
    w.give_tokens("beta", supplier, 1_000)
    calls = [take_usdc(w, "beta", 1 * USDC, w.usdc(supplier)), deliver(w, "beta", supplier, 1_000)]
    ix = w.evil_buyback_ix("beta", 1 * USDC, 1_000, calls, signers=[supplier.pubkey()])
    w.c.send([ix], [w.crank, supplier])
    after = Model.decode(w.c.data(m.model("beta")))  # type: ignore[arg-type]
    assert after.usdc_spent - before.usdc_spent == 1 * USDC
    assert after.tokens_bought - before.tokens_bought == 1_000
