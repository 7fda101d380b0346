"""Rejection tests, at least one per compute_market instruction (15), spread over the
classes wrong signer, wrong owner, foreign PDA, wrong mint or token program,
re-initialisation, arithmetic overflow, fee above cap and paused. Each forged transaction
must fail with the exact custom error — named as in idl/compute_market.json and raised by
compute_market itself, not by a callee — and leave every account it names (and any listed
as watched) byte-for-byte unchanged, lamports included.

The adversarial suite by attack class is tests/security/ (this module reuses its kit)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.accounts.model import OFFSETS as MODEL_OFFSETS
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_ops.sandbox.svm_chain import BIN, Market, SvmChain, new_chain
from tests.security.kit import (
    CP_POOL_ID,
    INSTRUCTIONS,
    MARKET_ERRORS,
    SYSTEM_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    USDC,
    World,
    assert_rejected,
    clone_account,
    create_spl_mint,
    ix_name,
    patch,
    rewrite,
)

pytestmark = pytest.mark.skipif(
    not (BIN / "compute_market.so").exists(), reason="programs not built (python -m program.build)"
)

U64_MAX = 2**64 - 1
CLASSES = (
    "wrong signer",
    "wrong owner",
    "foreign PDA",
    "wrong mint or token program",
    "re-initialisation",
    "arithmetic overflow",
    "fee above cap",
    "paused",
)


@dataclass(frozen=True)
class Forged:
    chain: SvmChain
    ixs: list[Instruction]
    signers: list[Keypair]
    watch: tuple[Pubkey, ...] = ()


@dataclass(frozen=True)
class Case:
    instruction: str
    kind: str
    error: str
    build: Callable[[World], Forged]
    paused: bool = False

    @property
    def id(self) -> str:
        return f"{self.instruction}: {self.kind} -> {self.error}"


def _one(w: World, ix: Instruction, *signers: Keypair, watch: tuple[Pubkey, ...] = ()) -> Forged:
    return Forged(w.c, [ix], list(signers), watch)


def _fresh_init(**fees: int) -> Forged:
    """initialize_config on a chain where the config does not exist yet."""
    c = new_chain()
    m = Market(usdc_mint=c.usdc_mint, treasury_authority=c.admin.pubkey())
    ix = m.initialize_config(c.admin.pubkey(), c.admin.pubkey(), c.admin.pubkey(), **fees)
    return Forged(c, [ix], [c.admin], (m.config, m.escrow_vault))


# -- builders ---------------------------------------------------------------------------------


def init_by_stranger(w: World) -> Forged:
    c = new_chain()
    stranger = c.new_wallet()
    m = Market(usdc_mint=c.usdc_mint, treasury_authority=stranger.pubkey())
    ix = m.initialize_config(stranger.pubkey(), stranger.pubkey(), stranger.pubkey())
    return Forged(c, [ix], [stranger], (m.config, m.escrow_vault))


def init_fee_above_cap(w: World) -> Forged:
    return _fresh_init(protocol_fee_bps=600, max_protocol_fee_bps=500)


def init_model_cap_above_hard_max(w: World) -> Forged:
    return _fresh_init(max_model_fee_bps=5_001)


def init_twice(w: World) -> Forged:
    return _one(
        w, w.m.initialize_config(w.admin.pubkey(), w.settler.pubkey(), w.crank.pubkey()), w.admin
    )


def init_usdc_under_fake_token_program(w: World) -> Forged:
    f = _fresh_init()
    return Forged(f.chain, [patch(f.ixs[0], "usdc_token_program", CP_POOL_ID)], f.signers, f.watch)


def update_by_stranger(w: World) -> Forged:
    return _one(w, w.m.update_config(w.attacker.pubkey(), paused=True), w.attacker)


def update_fee_above_cap(w: World) -> Forged:
    return _one(w, w.m.update_config(w.admin.pubkey(), protocol_fee_bps=501), w.admin)


def accept_by_stranger(w: World) -> Forged:
    pending = w.c.new_wallet()
    w.c.send([w.m.update_config(w.admin.pubkey(), pending_admin=pending.pubkey())], [w.admin])
    return _one(w, w.m.accept_admin(w.attacker.pubkey()), w.attacker)


def accept_with_fake_config(w: World) -> Forged:
    pending = w.c.new_wallet()
    w.c.send([w.m.update_config(w.admin.pubkey(), pending_admin=pending.pubkey())], [w.admin])
    fake = clone_account(w.c, w.m.config, owner=SYSTEM_PROGRAM_ID)
    return _one(w, patch(w.m.accept_admin(pending.pubkey()), "config", fake), pending)


def register_model_paused(w: World) -> Forged:
    return _one(w, w.m.register_model(w.creator.pubkey(), "while-paused", 0), w.creator)


def register_model_fee_above_cap(w: World) -> Forged:
    return _one(w, w.m.register_model(w.creator.pubkey(), "greedy", 3_001), w.creator)


def register_model_twice(w: World) -> Forged:
    return _one(w, w.m.register_model(w.attacker.pubkey(), "alpha", 0), w.attacker)


def register_model_foreign_pda(w: World) -> Forged:
    ix = patch(
        w.m.register_model(w.creator.pubkey(), "mine", 0), "model", w.m.model("someone-elses")
    )
    return _one(w, ix, w.creator)


def register_model_wrong_usdc_mint(w: World) -> Forged:
    other = create_spl_mint(w.c)
    return _one(
        w,
        patch(w.m.register_model(w.creator.pubkey(), "wrong-mint", 0), "usdc_mint", other),
        w.creator,
    )


def status_by_stranger(w: World) -> Forged:
    return _one(
        w, w.m.set_model_status(w.attacker.pubkey(), "pending", ModelStatus.APPROVED), w.attacker
    )


def status_of_fake_model(w: World) -> Forged:
    fake = clone_account(w.c, w.m.model("pending"), owner=CP_POOL_ID)
    ix = patch(
        w.m.set_model_status(w.admin.pubkey(), "pending", ModelStatus.APPROVED), "model", fake
    )
    return _one(w, ix, w.admin)


def _untokenized(w: World, slug: str) -> None:
    if w.c.data(w.m.model(slug)) is None:
        w.register(slug, 0, w.creator, approve=True)


def tokenize_fake_token_program(w: World) -> Forged:
    _untokenized(w, "untokenized")
    mint = w.c.create_model_mint(w.creator.pubkey(), 1_000)
    w.approve("untokenized", mint)
    return _one(
        w,
        w.m.tokenize_model(w.creator.pubkey(), "untokenized", mint, CP_POOL_ID),
        w.creator,
        watch=(mint,),
    )


def tokenize_mint_with_authority(w: World) -> Forged:
    _untokenized(w, "untokenized")
    mint = create_spl_mint(w.c, mint_authority=w.creator.pubkey())
    w.approve("untokenized", mint)
    ix = w.m.tokenize_model(w.creator.pubkey(), "untokenized", mint, TOKEN_PROGRAM_ID)
    return _one(w, ix, w.creator, watch=(mint,))


def tokenize_twice(w: World) -> Forged:
    mint = w.c.create_model_mint(w.creator.pubkey(), 1_000)
    return _one(
        w,
        w.m.tokenize_model(w.creator.pubkey(), "alpha", mint, TOKEN_PROGRAM_ID),
        w.creator,
        watch=(mint,),
    )


def tokenize_paused(w: World) -> Forged:
    mint = w.c.create_model_mint(w.creator.pubkey(), 1_000)
    w.approve("plain", mint)
    return _one(
        w,
        w.m.tokenize_model(w.creator.pubkey(), "plain", mint, TOKEN_PROGRAM_ID),
        w.creator,
        watch=(mint,),
    )


def provider_twice(w: World) -> Forged:
    return _one(
        w,
        w.m.register_provider(w.provider.pubkey(), "again", payout=w.usdc(w.attacker)),
        w.provider,
    )


def provider_payout_of_wrong_mint(w: World) -> Forged:
    p = w.c.new_wallet()
    payout = w.c.ata(p.pubkey(), w.mints["alpha"])
    return _one(w, w.m.register_provider(p.pubkey(), "p", payout=payout), p)


def provider_foreign_pda(w: World) -> Forged:
    p = w.c.new_wallet()
    w.c.ata(p.pubkey(), w.c.usdc_mint)
    return _one(
        w,
        patch(
            w.m.register_provider(p.pubkey(), "p"), "provider", w.m.provider(w.attacker.pubkey())
        ),
        p,
    )


def provider_paused(w: World) -> Forged:
    p = w.c.new_wallet()
    w.c.ata(p.pubkey(), w.c.usdc_mint)
    return _one(w, w.m.register_provider(p.pubkey(), "p"), p)


def offer_by_stranger(w: World) -> Forged:
    ix = patch(
        w.m.upsert_offer(w.attacker.pubkey(), "alpha", 1, 1),
        "provider",
        w.m.provider(w.provider.pubkey()),
    )
    return _one(w, patch(ix, "offer", w.m.offer("alpha", w.provider.pubkey())), w.attacker)


def offer_foreign_pda(w: World) -> Forged:
    ix = patch(
        w.m.upsert_offer(w.provider.pubkey(), "plain", 1, 1),
        "offer",
        w.m.offer("plain", w.provider2.pubkey()),
    )
    return _one(w, ix, w.provider)


def offer_paused(w: World) -> Forged:
    return _one(w, w.m.upsert_offer(w.provider.pubkey(), "alpha", 1, 1), w.provider)


def open_overflow(w: World) -> Forged:
    return _one(
        w, w.open_ix(max_in=U64_MAX, max_out=U64_MAX)[0], w.payer, watch=(w.m.escrow_vault,)
    )


def open_paused(w: World) -> Forged:
    return _one(w, w.open_ix()[0], w.payer, watch=(w.m.escrow_vault,))


def open_wrong_token_program(w: World) -> Forged:
    ix = patch(w.open_ix()[0], "usdc_token_program", TOKEN_2022_PROGRAM_ID)
    return _one(w, ix, w.payer, watch=(w.m.escrow_vault,))


def open_twice(w: World) -> Forged:
    o = w.open()
    return _one(w, w.open_ix(nonce=o.nonce)[0], w.payer, watch=(w.m.escrow_vault, o.address))


def settle_by_stranger(w: World) -> Forged:
    o = w.open()
    return _one(
        w, w.settle_ix(o, settler=w.attacker.pubkey()), w.attacker, watch=(w.m.escrow_vault,)
    )


def settle_fake_order(w: World) -> Forged:
    o = w.open()
    fake = clone_account(w.c, o.address, owner=CP_POOL_ID)
    return _one(
        w, patch(w.settle_ix(o), "order", fake), w.settler, watch=(w.m.escrow_vault, o.address)
    )


def settle_into_another_models_vault(w: World) -> Forged:
    o = w.open()
    ix = patch(w.settle_ix(o), "revenue_vault", w.m.revenue_vault("beta"))
    return _one(w, ix, w.settler, watch=(w.m.escrow_vault,))


def settle_wrong_mint(w: World) -> Forged:
    o = w.open()
    ix = patch(w.settle_ix(o), "usdc_mint", w.mints["alpha"])
    return _one(w, ix, w.settler, watch=(w.m.escrow_vault,))


def cancel_by_stranger(w: World) -> Forged:
    o = w.open()
    return _one(w, w.cancel_ix(o, w.attacker.pubkey()), w.attacker, watch=(w.m.escrow_vault,))


def cancel_before_expiry(w: World) -> Forged:
    o = w.open(ttl=3_600)
    return _one(w, w.cancel_ix(o, o.payer.pubkey()), o.payer, watch=(w.m.escrow_vault,))


def cancel_wrong_token_program(w: World) -> Forged:
    o = w.open()
    ix = patch(w.cancel_ix(o, w.settler.pubkey()), "usdc_token_program", TOKEN_2022_PROGRAM_ID)
    return _one(w, ix, w.settler, watch=(w.m.escrow_vault,))


def payment_replayed(w: World) -> Forged:
    pid = w.next_payment_id()
    w.c.fund_usdc(w.settler.pubkey(), 2 * USDC)
    seq = w.next_sequence("alpha")
    w.c.send([w.payment_ix("alpha", 1 * USDC, payment_id=pid)], [w.settler])
    return _one(w, w.payment_ix("alpha", 1 * USDC, payment_id=pid, sequence=seq), w.settler)


def payment_paused(w: World) -> Forged:
    w.c.fund_usdc(w.settler.pubkey(), 1 * USDC)
    return _one(w, w.payment_ix("alpha", 1 * USDC), w.settler)


def payment_by_stranger(w: World) -> Forged:
    w.c.fund_usdc(w.attacker.pubkey(), 1 * USDC)
    ix = patch(
        w.payment_ix("alpha", 1 * USDC, source_owner=w.attacker), "settler", w.attacker.pubkey()
    )
    return _one(w, ix, w.attacker)


def payment_overflowing_volume(w: World) -> Forged:
    """The model's running volume is near u64::MAX (a long-lived listing): the next credit
    overflows and is refused instead of wrapping."""
    w.register("busy", 0, w.creator, approve=True)
    rewrite(
        w.c, w.m.model("busy"), MODEL_OFFSETS["total_volume"], (U64_MAX - 1).to_bytes(8, "little")
    )
    w.c.fund_usdc(w.settler.pubkey(), 2 * USDC)
    return _one(w, w.payment_ix("busy", 2 * USDC), w.settler)


def buyback_paused(w: World) -> Forged:
    return _one(w, w.buyback_ix("alpha", 1 * USDC, 1), w.crank)


def buyback_by_stranger(w: World) -> Forged:
    return _one(w, w.buyback_ix("alpha", 1 * USDC, 1, crank=w.attacker.pubkey()), w.attacker)


def buyback_unlisted_swap_program(w: World) -> Forged:
    return _one(
        w, patch(w.buyback_ix("alpha", 1 * USDC, 1), "swap_program", TOKEN_PROGRAM_ID), w.crank
    )


def _sol_ix(w: World, crank: Pubkey | None = None) -> Instruction:
    return w.buyback_sol_ix("alpha", 1 * USDC, 1, buy=w.pool_swap("alpha", 1), crank=crank)


def buyback_sol_paused(w: World) -> Forged:
    return _one(w, _sol_ix(w), w.crank)


def buyback_sol_by_stranger(w: World) -> Forged:
    return _one(w, _sol_ix(w, w.attacker.pubkey()), w.attacker)


def buyback_sol_unlisted_buy_program(w: World) -> Forged:
    return _one(w, patch(_sol_ix(w), "buy_program", TOKEN_PROGRAM_ID), w.crank)


def buyback_sol_another_models_buyer(w: World) -> Forged:
    other = Pubkey.find_program_address([b"buyer", bytes(w.model("beta"))], w.m.program_id)[0]
    return _one(w, patch(_sol_ix(w), "buyer", other), w.crank)


def burn_wrong_token_program(w: World) -> Forged:
    return _one(w, patch(w.burn_ix("alpha"), "token_program", TOKEN_2022_PROGRAM_ID), w.crank)


def burn_another_models_vault(w: World) -> Forged:
    return _one(w, patch(w.burn_ix("alpha"), "buyback_vault", w.m.buyback_vault("beta")), w.crank)


def burn_by_stranger(w: World) -> Forged:
    return _one(w, patch(w.burn_ix("alpha"), "crank", w.attacker.pubkey()), w.attacker)


def harvest_wrong_token_program(w: World) -> Forged:
    return _one(w, patch(w.harvest_ix("gamma", []), "token_program", TOKEN_PROGRAM_ID), w.crank)


def harvest_wrong_mint(w: World) -> Forged:
    return _one(w, patch(w.harvest_ix("gamma", []), "mint", w.c.usdc_mint), w.crank)


def harvest_by_stranger(w: World) -> Forged:
    return _one(w, patch(w.harvest_ix("gamma", []), "crank", w.attacker.pubkey()), w.attacker)


CASES = [
    Case("initialize_config", "wrong signer", "UpgradeAuthorityMismatch", init_by_stranger),
    Case("initialize_config", "fee above cap", "FeeAboveCap", init_fee_above_cap),
    Case("initialize_config", "fee above cap", "FeeAboveCap", init_model_cap_above_hard_max),
    Case("initialize_config", "re-initialisation", "AlreadyInitialized", init_twice),
    Case(
        "initialize_config",
        "wrong mint or token program",
        "InvalidTokenProgram",
        init_usdc_under_fake_token_program,
    ),
    Case("update_config", "wrong signer", "Unauthorized", update_by_stranger),
    Case("update_config", "fee above cap", "FeeAboveCap", update_fee_above_cap),
    Case("accept_admin", "wrong signer", "NotPendingAdmin", accept_by_stranger),
    Case("accept_admin", "wrong owner", "InvalidAccountOwner", accept_with_fake_config),
    Case("register_model", "paused", "ProgramPaused", register_model_paused, paused=True),
    Case("register_model", "fee above cap", "FeeAboveCap", register_model_fee_above_cap),
    Case("register_model", "re-initialisation", "AlreadyInitialized", register_model_twice),
    Case("register_model", "foreign PDA", "InvalidPda", register_model_foreign_pda),
    Case(
        "register_model",
        "wrong mint or token program",
        "InvalidMint",
        register_model_wrong_usdc_mint,
    ),
    Case("set_model_status", "wrong signer", "Unauthorized", status_by_stranger),
    Case("set_model_status", "wrong owner", "InvalidAccountOwner", status_of_fake_model),
    Case(
        "tokenize_model",
        "wrong mint or token program",
        "InvalidTokenProgram",
        tokenize_fake_token_program,
    ),
    Case(
        "tokenize_model",
        "wrong mint or token program",
        "MintAuthorityPresent",
        tokenize_mint_with_authority,
    ),
    Case("tokenize_model", "re-initialisation", "AlreadyTokenized", tokenize_twice),
    Case("tokenize_model", "paused", "ProgramPaused", tokenize_paused, paused=True),
    Case("register_provider", "re-initialisation", "AlreadyInitialized", provider_twice),
    Case(
        "register_provider",
        "wrong mint or token program",
        "InvalidTokenAccount",
        provider_payout_of_wrong_mint,
    ),
    Case("register_provider", "foreign PDA", "InvalidPda", provider_foreign_pda),
    Case("register_provider", "paused", "ProgramPaused", provider_paused, paused=True),
    Case("upsert_offer", "wrong signer", "Unauthorized", offer_by_stranger),
    Case("upsert_offer", "foreign PDA", "InvalidPda", offer_foreign_pda),
    Case("upsert_offer", "paused", "ProgramPaused", offer_paused, paused=True),
    Case("open_order", "arithmetic overflow", "ArithmeticOverflow", open_overflow),
    Case("open_order", "paused", "ProgramPaused", open_paused, paused=True),
    Case(
        "open_order", "wrong mint or token program", "InvalidTokenProgram", open_wrong_token_program
    ),
    Case("open_order", "re-initialisation", "AlreadyInitialized", open_twice),
    Case("settle_order", "wrong signer", "Unauthorized", settle_by_stranger),
    Case("settle_order", "wrong owner", "InvalidAccountOwner", settle_fake_order),
    Case("settle_order", "foreign PDA", "AccountMismatch", settle_into_another_models_vault),
    Case("settle_order", "wrong mint or token program", "InvalidMint", settle_wrong_mint),
    Case("cancel_order", "wrong signer", "Unauthorized", cancel_by_stranger),
    Case("cancel_order", "wrong signer", "OrderNotExpired", cancel_before_expiry),
    Case(
        "cancel_order",
        "wrong mint or token program",
        "InvalidTokenProgram",
        cancel_wrong_token_program,
    ),
    Case("settle_batch", "re-initialisation", "WrongSequence", payment_replayed),
    Case("settle_batch", "paused", "ProgramPaused", payment_paused, paused=True),
    Case("settle_batch", "wrong signer", "Unauthorized", payment_by_stranger),
    Case("settle_batch", "arithmetic overflow", "ArithmeticOverflow", payment_overflowing_volume),
    Case("buyback", "paused", "ProgramPaused", buyback_paused, paused=True),
    Case("buyback", "wrong signer", "Unauthorized", buyback_by_stranger),
    Case(
        "buyback",
        "wrong mint or token program",
        "SwapProgramNotAllowed",
        buyback_unlisted_swap_program,
    ),
    Case("buyback_sol", "paused", "ProgramPaused", buyback_sol_paused, paused=True),
    Case("buyback_sol", "wrong signer", "Unauthorized", buyback_sol_by_stranger),
    Case(
        "buyback_sol",
        "wrong mint or token program",
        "SwapProgramNotAllowed",
        buyback_sol_unlisted_buy_program,
    ),
    Case("buyback_sol", "foreign PDA", "InvalidPda", buyback_sol_another_models_buyer),
    Case("burn", "wrong mint or token program", "InvalidTokenProgram", burn_wrong_token_program),
    Case("burn", "foreign PDA", "AccountMismatch", burn_another_models_vault),
    Case("burn", "wrong signer", "Unauthorized", burn_by_stranger),
    Case(
        "harvest_fees",
        "wrong mint or token program",
        "InvalidTokenProgram",
        harvest_wrong_token_program,
    ),
    Case("harvest_fees", "wrong mint or token program", "InvalidMint", harvest_wrong_mint),
    Case("harvest_fees", "wrong signer", "Unauthorized", harvest_by_stranger),
]


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def paused_world() -> World:
    w = World()
    w.set_paused(True)
    return w


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rejected_and_nothing_moved(case: Case, world: World, paused_world: World) -> None:
    w = paused_world if case.paused else world
    forged = case.build(w)
    assert {ix_name(ix) for ix in forged.ixs} == {case.instruction}
    assert_rejected(forged.chain, forged.ixs, forged.signers, case.error, watch=forged.watch)


def test_every_instruction_and_class_is_covered() -> None:
    assert {c.instruction for c in CASES} == set(INSTRUCTIONS)
    assert len(INSTRUCTIONS) == 16
    assert {c.kind for c in CASES} == set(CLASSES)
    assert all(c.error in MARKET_ERRORS for c in CASES)
