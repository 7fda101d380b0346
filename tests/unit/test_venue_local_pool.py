"""Localnet venue (cp_pool): quote math against a reference, the instruction against the IDL,
and, when the program is built, the quote against the real program on LiteSVM."""

from __future__ import annotations

import json
import math
import struct
from fractions import Fraction
from pathlib import Path

import pytest
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import TransactionMetadata

from bourse_chain.generated.cp_pool.instructions.add_liquidity import (
    AddLiquidityAccounts,
    AddLiquidityArgs,
    add_liquidity,
)
from bourse_chain.generated.cp_pool.instructions.create_pool import (
    CreatePoolAccounts,
    CreatePoolArgs,
    create_pool,
)
from bourse_chain.mints import TransferFeeSetup, spl_model_mint, token2022_model_mint
from bourse_chain.token_layout import associated_token_address, token_amount
from cranks.venues.base import Route
from cranks.venues.errors import MalformedResponse, NoRoute
from cranks.venues.local_pool import LocalPoolConfig, LocalPoolVenue, quote_exact_in
from localnet.programs import BIN_DIR, KEYS_DIR
from tests.fakes.chain import (
    CLOCK,
    TOKEN,
    TOKEN_2022,
    FakeChain,
    Fee,
    clock,
    key,
    spl_mint,
    t22_mint,
    token_account,
)

REPO = Path(__file__).resolve().parents[2]
IDL = json.loads((REPO / "idl" / "cp_pool.json").read_text())
SO_PATH = BIN_DIR / "cp_pool.so"
KEYPAIR_PATH = KEYS_DIR / "cp_pool-keypair.json"
PROGRAM_ID = Pubkey.from_string(IDL["address"])

MODEL = key("model-pda")
REVENUE = key("revenue-vault")
BUYBACK = key("buyback-vault")


def ordered(x: Pubkey, y: Pubkey) -> tuple[Pubkey, Pubkey]:
    return (x, y) if bytes(x) < bytes(y) else (y, x)


def pool_address(x: Pubkey, y: Pubkey) -> Pubkey:
    a, b = ordered(x, y)
    return Pubkey.find_program_address([b"pool", bytes(a), bytes(b)], PROGRAM_ID)[0]


def vault_address(pool: Pubkey, mint: Pubkey) -> Pubkey:
    return Pubkey.find_program_address([b"vault", bytes(pool), bytes(mint)], PROGRAM_ID)[0]


def pool_account(
    mint_a: Pubkey, mint_b: Pubkey, prog_a: Pubkey, prog_b: Pubkey, fee_bps: int
) -> bytes:
    """Pool bytes at the IDL's offsets (discriminator, 7 keys, 9 u64, u16, 3 u8, 27 reserved)."""
    (acc,) = IDL["accounts"]
    pool = pool_address(mint_a, mint_b)
    d = bytearray(336)
    d[0:8] = bytes(acc["discriminator"])
    for i, k in enumerate(
        [
            mint_a,
            mint_b,
            vault_address(pool, mint_a),
            vault_address(pool, mint_b),
            prog_a,
            prog_b,
            key("creator"),
        ]
    ):
        d[8 + 32 * i : 40 + 32 * i] = bytes(k)
    struct.pack_into("<H", d, 304, fee_bps)
    return bytes(d)


def ceil(x: Fraction) -> int:
    return math.ceil(x)


def reference(
    amount: int, r_in: int, r_out: int, fee_bps: int, fee_in: Fee | None, fee_out: Fee | None
) -> int:
    """What arrives in the destination, from idl/cp_pool_spec.py's formula."""

    def t22(a: int, f: Fee | None) -> int:
        return 0 if f is None else min(ceil(Fraction(a * f.bps, 10_000)), f.maximum_fee)

    credited = amount - t22(amount, fee_in)
    net = credited - ceil(Fraction(credited * fee_bps, 10_000))
    out = math.floor(Fraction(r_out * net, r_in + net))
    return out - t22(out, fee_out)


def chain_with_pool(
    r_in: int,
    r_out: int,
    fee_bps: int,
    fee_in: Fee | None = None,
    fee_out: Fee | None = None,
) -> tuple[FakeChain, Pubkey, Pubkey]:
    chain = FakeChain()
    usdc, token = key("usdc"), key("model-token")
    chain.set(usdc, t22_mint(6, older=fee_in) if fee_in else spl_mint(6))
    chain.set(token, t22_mint(6, older=fee_out) if fee_out else spl_mint(6))
    prog = {usdc: TOKEN_2022 if fee_in else TOKEN, token: TOKEN_2022 if fee_out else TOKEN}
    a, b = ordered(usdc, token)
    pool = chain.set(pool_address(a, b), pool_account(a, b, prog[a], prog[b], fee_bps))
    chain.set(vault_address(pool, usdc), token_account(usdc, pool, r_in))
    chain.set(vault_address(pool, token), token_account(token, pool, r_out))
    chain.set(CLOCK, clock(3))
    return chain, usdc, token


async def quote(
    v: LocalPoolVenue, usdc: Pubkey, token: Pubkey, amount: int, slippage: int = 100
) -> Route:
    return await v.quote(
        usdc, token, amount, slippage, authority=MODEL, source=REVENUE, destination=BUYBACK
    )


# --- math ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fee_in", "fee_out"),
    [(None, None), (None, Fee(150, 10**18)), (None, Fee(500, 7_000)), (Fee(100, 10**18), None)],
    ids=["spl", "t22-out", "t22-out-capped", "t22-in"],
)
async def test_quote_matches_reference(fee_in: Fee | None, fee_out: Fee | None) -> None:
    chain, usdc, token = chain_with_pool(5_000_000_000, 80_000_000_000_000, 30, fee_in, fee_out)
    route = await quote(LocalPoolVenue(chain.fetch), usdc, token, 123_456_789, slippage=100)
    expected = reference(123_456_789, 5_000_000_000, 80_000_000_000_000, 30, fee_in, fee_out)
    assert route.expected_out == expected
    assert route.min_out == expected * 9_900 // 10_000
    assert route.in_amount == 123_456_789


def test_curve_rounds_for_the_pool() -> None:
    assert quote_exact_in(10_000, 1_000_000, 1_000_000, 30) == (30, 9_871)
    assert quote_exact_in(1, 10, 10, 30) == (1, 0)  # the fee rounds up to the whole input


# --- the instruction against the IDL ---------------------------------------------------------


async def test_instruction_follows_the_idl() -> None:
    chain, usdc, token = chain_with_pool(
        5_000_000_000, 80_000_000_000_000, 30, fee_out=Fee(150, 10**18)
    )
    route = await quote(LocalPoolVenue(chain.fetch), usdc, token, 1_000_000, slippage=50)
    (ix,) = [i for i in IDL["instructions"] if i["name"] == "swap"]
    assert route.swap_program == PROGRAM_ID
    assert route.data == bytes(ix["discriminator"]) + struct.pack("<QQ", 1_000_000, route.min_out)
    pool = pool_address(usdc, token)
    by_name = {
        "user": MODEL,
        "pool": pool,
        "user_source": REVENUE,
        "user_destination": BUYBACK,
        "vault_in": vault_address(pool, usdc),
        "vault_out": vault_address(pool, token),
        "mint_in": usdc,
        "mint_out": token,
        "token_program_in": TOKEN,
        "token_program_out": TOKEN_2022,
    }
    assert [(m.pubkey, m.is_writable) for m in route.accounts] == [
        (by_name[a["name"]], a.get("writable", False)) for a in ix["accounts"]
    ]
    assert not any(m.is_signer for m in route.accounts)  # buyback signs for the PDA
    inner = route.swap_instruction()
    assert [m.pubkey for m in inner.accounts if m.is_signer] == [MODEL]


async def test_refusals() -> None:
    chain, usdc, token = chain_with_pool(0, 10**9, 30)
    with pytest.raises(NoRoute, match="empty"):
        await quote(LocalPoolVenue(chain.fetch), usdc, token, 1_000)
    chain, usdc, token = chain_with_pool(10**12, 10, 30)
    with pytest.raises(NoRoute, match="buys nothing"):
        await quote(LocalPoolVenue(chain.fetch), usdc, token, 1_000)
    with pytest.raises(NoRoute, match="does not exist"):
        await quote(LocalPoolVenue(FakeChain().fetch), usdc, token, 1_000)
    chain, usdc, token = chain_with_pool(10**9, 10**9, 30)
    pool = pool_address(usdc, token)
    chain.set(pool, b"\x00" * 336)
    with pytest.raises(MalformedResponse):
        await quote(LocalPoolVenue(chain.fetch), usdc, token, 1_000)
    with pytest.raises(ValueError):
        await quote(LocalPoolVenue(chain.fetch), usdc, token, 0)


# --- against the real program ----------------------------------------------------------------


def send(svm: LiteSVM, payer: Keypair, ixs: list, signers: list[Keypair]) -> None:  # type: ignore[type-arg]
    svm.expire_blockhash()
    msg = Message.new_with_blockhash(ixs, payer.pubkey(), svm.latest_blockhash())
    keys = {payer.pubkey(): payer, **{s.pubkey(): s for s in signers}}
    result = svm.send_transaction(VersionedTransaction(msg, list(keys.values())))
    assert isinstance(result, TransactionMetadata), f"{result}"


def balance(svm: LiteSVM, address: Pubkey) -> int:
    acc = svm.get_account(address)
    assert acc is not None
    return token_amount(bytes(acc.data))


@pytest.mark.skipif(not SO_PATH.exists(), reason="localnet/programs/bin/cp_pool.so not built")
@pytest.mark.parametrize("model_fee_bps", [0, 150])
async def test_quote_is_what_the_program_pays(model_fee_bps: int) -> None:
    from localnet.loader import deploy_upgradeable

    # Given cp_pool deployed, a USDC-like SPL mint and a model token (Token-2022 with a
    # transfer fee, or none), and a pool with liquidity
    svm = LiteSVM()
    user = Keypair()
    svm.airdrop(user.pubkey(), 100 * 10**9)
    program = Keypair.from_bytes(bytes(json.loads(KEYPAIR_PATH.read_text())))
    deploy_upgradeable(svm, user, program, SO_PATH.read_bytes(), user)
    usdc_kp, token_kp = Keypair(), Keypair()
    usdc = spl_model_mint(user.pubkey(), usdc_kp.pubkey(), user.pubkey(), 10**15)
    fee = TransferFeeSetup(model_fee_bps, 10**15, user.pubkey()) if model_fee_bps else None
    token = token2022_model_mint(user.pubkey(), token_kp.pubkey(), user.pubkey(), 10**17, 6, fee)
    send(svm, user, usdc.instructions, [usdc_kp])
    send(svm, user, token.instructions, [token_kp])
    (a, prog_a, dep_a), (b, prog_b, dep_b) = sorted(
        [
            (usdc.mint, usdc.token_program, usdc.creator_token_account),
            (token.mint, token.token_program, token.creator_token_account),
        ],
        key=lambda t: bytes(t[0]),
    )
    send(
        svm,
        user,
        [
            create_pool(
                CreatePoolArgs(fee_bps=30), CreatePoolAccounts(user.pubkey(), a, b, prog_a, prog_b)
            )
        ],
        [],
    )
    venue = LocalPoolVenue(_svm_fetcher(svm), LocalPoolConfig(program_id=program.pubkey()))
    pool = venue.pool_address(a, b)
    amounts = {usdc.mint: 40_000 * 10**6, token.mint: 9 * 10**15}
    send(
        svm,
        user,
        [
            add_liquidity(
                AddLiquidityArgs(amounts[a], amounts[b]),
                AddLiquidityAccounts(
                    user.pubkey(),
                    pool,
                    dep_a,
                    dep_b,
                    vault_address(pool, a),
                    vault_address(pool, b),
                    a,
                    b,
                    prog_a,
                    prog_b,
                ),
            )
        ],
        [],
    )

    # When quoting 1,234.5 USDC with the user as the swap authority
    src, dst = usdc.creator_token_account, token.creator_token_account
    assert dst == associated_token_address(user.pubkey(), token.mint, token.token_program)
    route = await venue.quote(
        usdc.mint,
        token.mint,
        1_234_500_000,
        100,
        authority=user.pubkey(),
        source=src,
        destination=dst,
    )
    before_src, before_dst = balance(svm, src), balance(svm, dst)
    send(svm, user, [route.swap_instruction()], [])

    # Then the program took exactly amount_in and what arrived is exactly the quote
    assert before_src - balance(svm, src) == route.in_amount
    assert balance(svm, dst) - before_dst == route.expected_out
    assert route.expected_out >= route.min_out > 0


def _svm_fetcher(svm: LiteSVM):  # type: ignore[no-untyped-def]
    async def fetch(address: Pubkey) -> bytes | None:
        acc = svm.get_account(address)
        return None if acc is None else bytes(acc.data)

    return fetch
