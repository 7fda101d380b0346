"""Class 10 — sysvar and program-id spoofing: fake system program ids, a forged ProgramData
(the upgrade-authority proof of initialize_config), a fake clock passed as an account, and
the rent the program charges (read from the rent sysvar through its syscall, never from an
account: a rent sysvar in either layout gives exactly rent-exempt accounts)."""

from __future__ import annotations

import json
import struct

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rent import Rent

from bourse_chain import pda
from bourse_chain.generated.compute_market.accounts import (
    Model,
    Offer,
    Order,
    Provider,
    SettlementStream,
)
from bourse_ops.sandbox.svm_chain import Market, SvmChain, new_chain
from tests.security.kit import (
    CP_POOL_ID,
    REPO,
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    USDC,
    World,
    append_accounts,
    assert_rejected,
    clone_account,
    patch,
    set_program_account,
)

SYSVAR_CLOCK = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")
BPF_LOADER_UPGRADEABLE = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
USES_SYSTEM = [
    "register_model",
    "tokenize_model",
    "register_provider",
    "upsert_offer",
    "open_order",
    "settle_batch",
]


@pytest.fixture(scope="module")
def w() -> World:
    return World()


@pytest.mark.parametrize("fake", ["token program", "cp_pool", "random key"])
@pytest.mark.parametrize("name", USES_SYSTEM)
def test_fake_system_program(w: World, name: str, fake: str) -> None:
    ix, signers = w.samples()[name]
    other = {
        "token program": TOKEN_PROGRAM_ID,
        "cp_pool": CP_POOL_ID,
        "random key": Keypair().pubkey(),
    }[fake]
    assert_rejected(w.c, [patch(ix, "system_program", other)], signers, "InvalidProgramId")


def test_no_instruction_trusts_a_program_id_it_is_handed() -> None:
    """Every fixed program account in the interface is pinned to its address (system,
    Token-2022 for harvest; SPL Token, the ATA program and the WSOL mint for buyback_sol's
    unwrap); token programs come from the config or the model and are checked; the ATA
    program is taken only by buyback_sol (pinned), the instructions sysvar never."""
    idl = json.loads((REPO / "idl" / "compute_market.json").read_text())
    fixed = {a["address"] for i in idl["instructions"] for a in i["accounts"] if "address" in a}
    assert fixed == {
        str(SYSTEM_PROGRAM_ID),
        "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
        "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL",
        "So11111111111111111111111111111111111111112",
    }
    names = {a["name"] for i in idl["instructions"] for a in i["accounts"]}
    assert not any("sysvar" in n or "clock" in n or "rent" in n for n in names)
    associated = {
        (i["name"], a["name"], a.get("address"))
        for i in idl["instructions"]
        for a in i["accounts"]
        if "associated" in a["name"]
    }
    assert associated == {
        ("buyback_sol", "associated_token_program", "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
    }


# -- initialize_config: the ProgramData account proves the upgrade authority ----------------------


@pytest.fixture
def fresh() -> tuple[SvmChain, Market]:
    c = new_chain()
    treasury = c.new_wallet()
    return c, Market(usdc_mint=c.usdc_mint, treasury_authority=treasury.pubkey())


def _init(c: SvmChain, m: Market) -> Instruction:
    return m.initialize_config(c.admin.pubkey(), c.admin.pubkey(), c.admin.pubkey())


def test_program_data_look_alike_owned_by_the_system_program(
    fresh: tuple[SvmChain, Market],
) -> None:
    c, m = fresh
    ix = _init(c, m)
    real = pda.program_data_pda(m.program_id)[0]
    fake = clone_account(c, real, owner=SYSTEM_PROGRAM_ID)
    assert_rejected(c, [patch(ix, "program_data", fake)], [c.admin], "InvalidAccountOwner")


def test_program_data_look_alike_owned_by_the_loader(fresh: tuple[SvmChain, Market]) -> None:
    """The real ProgramData's bytes, loader-owned, at another address: not the PDA."""
    c, m = fresh
    real = pda.program_data_pda(m.program_id)[0]
    fake = clone_account(c, real)
    assert_rejected(c, [patch(_init(c, m), "program_data", fake)], [c.admin], "InvalidPda")


def test_program_data_of_another_program_with_the_same_authority(
    fresh: tuple[SvmChain, Market],
) -> None:
    """cp_pool's ProgramData names the same upgrade authority: still not ours."""
    c, m = fresh
    other = pda.program_data_pda(CP_POOL_ID)[0]
    assert_rejected(c, [patch(_init(c, m), "program_data", other)], [c.admin], "InvalidPda")


def test_program_data_forged_for_a_stranger(fresh: tuple[SvmChain, Market]) -> None:
    """A loader-owned account written to name the stranger as upgrade authority cannot be
    at our ProgramData address (that one is the loader's); at any other address it is
    refused as not the PDA, and the real one names the real authority."""
    c, m = fresh
    stranger = c.new_wallet()
    forged = struct.pack("<IQ", 3, 0) + bytes([1]) + bytes(stranger.pubkey())
    fake = set_program_account(c, Keypair().pubkey(), forged, BPF_LOADER_UPGRADEABLE)
    ix = m.initialize_config(stranger.pubkey(), stranger.pubkey(), stranger.pubkey())
    assert_rejected(c, [patch(ix, "program_data", fake)], [stranger], "InvalidPda")
    assert_rejected(c, [ix], [stranger], "UpgradeAuthorityMismatch")


def test_initialize_config_with_a_fake_system_program(fresh: tuple[SvmChain, Market]) -> None:
    c, m = fresh
    assert_rejected(
        c, [patch(_init(c, m), "system_program", TOKEN_PROGRAM_ID)], [c.admin], "InvalidProgramId"
    )


# -- clock: read through sol_get_clock_sysvar, never from an account -------------------------------


def test_fake_clock_account_does_not_expire_an_order(w: World) -> None:
    """A payer may cancel only after expiry. Passing a clock-shaped account set a year ahead
    (and the real Clock sysvar) as extra accounts changes nothing: the program asks the
    runtime for the time."""
    o = w.open(ttl=600)
    now = w.c.svm.get_clock().unix_timestamp
    fake_clock = struct.pack("<QqQQq", 10**9, now, 10**6, 10**6, now + 365 * 86_400)
    fake = set_program_account(
        w.c,
        Keypair().pubkey(),
        fake_clock,
        Pubkey.from_string("Sysvar1111111111111111111111111111111111111"),
    )
    ix = append_accounts(
        w.cancel_ix(o, o.payer.pubkey()),
        [
            AccountMeta(fake, is_signer=False, is_writable=False),
            AccountMeta(SYSVAR_CLOCK, is_signer=False, is_writable=False),
        ],
    )
    assert_rejected(w.c, [ix], [o.payer], "OrderNotExpired", watch=[o.address, w.m.escrow_vault])
    w.warp(600)
    w.c.send([w.cancel_ix(o, o.payer.pubkey())], [o.payer])  # control: real expiry works
    assert w.c.data(o.address) is None


# -- rent: exactly rent-exempt under either sysvar layout -----------------------------------------


@pytest.mark.parametrize(
    "rent",
    [
        pytest.param(None, id="per-byte 6960, threshold 1.0 (LiteSVM, SIMD-0194)"),
        pytest.param(Rent(3480, 2.0, 50), id="per-byte-year 3480, threshold 2.0 (classic)"),
    ],
)
def test_accounts_are_funded_exactly_rent_exempt(rent: Rent | None) -> None:
    """Found by this suite (fixed): the program assumed a 2.0-year threshold and doubled
    the sysvar's already-doubled per-byte price, so every model, provider, offer, order,
    stream and vault it created held twice the rent-exempt minimum (paid by creators,
    providers, payers and — per payment — the settler)."""
    w = World()
    c, m = w.c, w.m
    if rent is not None:
        c.svm.set_rent(rent)
    p = c.new_wallet()
    c.ata(p.pubkey(), c.usdc_mint)
    w.register("rent-check", 0, w.creator, approve=False)
    mint = c.create_model_mint(w.creator.pubkey(), 1_000)
    w.approve("rent-check", mint)
    c.send(
        [m.tokenize_model(w.creator.pubkey(), "rent-check", mint, TOKEN_PROGRAM_ID)], [w.creator]
    )
    c.send([m.register_provider(p.pubkey(), "rent")], [p])
    c.send([m.upsert_offer(p.pubkey(), "rent-check", 1_000, 1_000)], [p])
    o = w.open(slug="rent-check", provider=p)
    pid = w.next_payment_id()
    c.fund_usdc(w.settler.pubkey(), 1 * USDC)
    c.send([w.payment_ix("rent-check", 1 * USDC, payment_id=pid, provider=p)], [w.settler])
    expected = {
        m.model("rent-check"): Model.LEN,
        m.revenue_vault("rent-check"): 165,
        m.buyback_vault("rent-check"): 165,
        m.provider(p.pubkey()): Provider.LEN,
        m.offer("rent-check", p.pubkey()): Offer.LEN,
        o.address: Order.LEN,
        w.stream("rent-check", p): SettlementStream.LEN,
    }
    for address, size in expected.items():
        assert len(c.data(address) or b"") == size
        assert c.lamports(address) == c.svm.minimum_balance_for_rent_exemption(size), address
