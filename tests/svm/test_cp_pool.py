"""The localnet swap venue (program/cp_pool) on LiteSVM, deployed by the real upgradeable loader.

Balances are asserted to the token against a Python reference of the pool's pricing
(idl/cp_pool_spec.py) and of Token-2022's transfer fee. Compute units of every successful
instruction are checked against a budget, the figure quoted in the assertion message.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError

from bourse_chain.money import ceil_div
from bourse_chain.token_layout import decode_token_account, token_amount
from idl.cp_pool_spec import PROGRAM as SPEC
from localnet.loader import deploy_upgradeable
from localnet.programs import BIN_DIR, KEYS_DIR

REPO = Path(__file__).resolve().parents[2]
SO_PATH = BIN_DIR / "cp_pool.so"
KEYPAIR_PATH = KEYS_DIR / "cp_pool-keypair.json"
IDL = json.loads((REPO / "idl" / "cp_pool.json").read_text())

pytestmark = pytest.mark.skipif(
    not SO_PATH.exists(),
    reason="localnet/programs/bin/cp_pool.so not built (python -m program.build)",
)

TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022 = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ATA_PROGRAM = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
MEMO_PROGRAM = Pubkey.from_string("MemoSq4gqABAXKb9Rx11fu3EqXYmavsjmgxvs9S21H6")

IX = {ix["name"]: bytes(ix["discriminator"]) for ix in IDL["instructions"]}
ERR = {e["name"]: e["code"] for e in IDL["errors"]}
EVENT = {e["name"]: bytes(e["discriminator"]) for e in IDL["events"]}
POOL_DISC = bytes(IDL["accounts"][0]["discriminator"])
POOL_LEN = SPEC.account_len(SPEC.accounts[0])
POOL_OFF = {f.name: off for f, off, _ in SPEC.offsets(SPEC.accounts[0], 8)}

#: Compute-unit ceilings per instruction (measured figures are in the messages).
CU_BUDGET = {"create_pool": 60_000, "add_liquidity": 16_000, "swap": 20_000}

# --- Python reference ---------------------------------------------------------------------


def pool_quote(credited: int, reserve_in: int, reserve_out: int, fee_bps: int) -> tuple[int, int]:
    """(fee, out) exactly as the program computes them."""
    fee = ceil_div(credited * fee_bps, 10_000)
    net = credited - fee
    out = reserve_out * net // (reserve_in + net) if reserve_in + net else 0
    return fee, out


def transfer_fee(amount: int, bps: int, max_fee: int) -> int:
    """Token-2022's fee on a transfer of ``amount``."""
    return min(ceil_div(amount * bps, 10_000), max_fee)


# --- LiteSVM plumbing ---------------------------------------------------------------------


def send(
    svm: LiteSVM, payer: Keypair, ixs: Sequence[Instruction], signers: Sequence[Keypair] = ()
) -> TransactionMetadata | FailedTransactionMetadata:
    svm.expire_blockhash()  # identical retries would otherwise be AlreadyProcessed
    msg = Message.new_with_blockhash(list(ixs), payer.pubkey(), svm.latest_blockhash())
    # Sign with exactly the keys the message requires (a test may drop a signer flag).
    required = msg.account_keys[: msg.header.num_required_signatures]
    keys = {k.pubkey(): k for k in (payer, *signers)}
    return svm.send_transaction(VersionedTransaction(msg, [keys[k] for k in required]))


def ok(
    svm: LiteSVM, payer: Keypair, ixs: Sequence[Instruction], signers: Sequence[Keypair] = ()
) -> TransactionMetadata:
    result = send(svm, payer, ixs, signers)
    assert isinstance(result, TransactionMetadata), f"{result.err()}\n" + "\n".join(
        result.meta().logs()
    )
    return result


def custom_error(result: TransactionMetadata | FailedTransactionMetadata) -> int | None:
    if not isinstance(result, FailedTransactionMetadata):
        return None
    err = result.err()
    if isinstance(err, TransactionErrorInstructionError) and isinstance(
        err.err, InstructionErrorCustom
    ):
        return err.err.code
    return None


def assert_fails(result: TransactionMetadata | FailedTransactionMetadata, name: str) -> None:
    logs = "\n".join(result.meta().logs() if isinstance(result, FailedTransactionMetadata) else [])
    assert custom_error(result) == ERR[name], f"expected {name} ({ERR[name]}), got {result}\n{logs}"


def check_cu(meta: TransactionMetadata, name: str) -> int:
    cu = meta.compute_units_consumed()
    assert cu <= CU_BUDGET[name], f"{name}: {cu} CU, budget {CU_BUDGET[name]}"
    return cu


def events(meta: TransactionMetadata, name: str) -> list[bytes]:
    disc = EVENT[name]
    out = []
    for line in meta.logs():
        if line.startswith("Program data: "):
            raw = base64.b64decode(line.removeprefix("Program data: "))
            if raw[:8] == disc:
                out.append(raw[8:])
    return out


# --- Token plumbing (instructions encoded by hand: no builders needed) --------------------


@dataclass(frozen=True)
class Mint:
    key: Pubkey
    program: Pubkey
    decimals: int
    fee_bps: int = 0  # Token-2022 transfer fee
    max_fee: int = 0

    def fee(self, amount: int) -> int:
        return transfer_fee(amount, self.fee_bps, self.max_fee) if self.fee_bps else 0


def create_mint(
    svm: LiteSVM,
    payer: Keypair,
    program: Pubkey,
    decimals: int,
    *,
    fee_bps: int = 0,
    max_fee: int = 0,
    permanent_delegate: Pubkey | None = None,
    keypair: Keypair | None = None,
) -> Mint:
    """A mint whose authority is ``payer``; Token-2022 extensions initialised before the mint."""
    kp = keypair or Keypair()
    ext_ixs: list[Instruction] = []
    ext_len = 0
    meta = [AccountMeta(kp.pubkey(), False, True)]
    if fee_bps:
        # TransferFeeExtension / InitializeTransferFeeConfig: no authorities, bps, max fee.
        data = bytes([26, 0, 0, 0]) + struct.pack("<HQ", fee_bps, max_fee)
        ext_ixs.append(Instruction(program, data, meta))
        ext_len += 4 + 108
    if permanent_delegate is not None:
        ext_ixs.append(Instruction(program, bytes([35]) + bytes(permanent_delegate), meta))
        ext_len += 4 + 32
    space = 165 + 1 + ext_len if ext_len else 82
    ixs = [
        create_account(
            CreateAccountParams(
                from_pubkey=payer.pubkey(),
                to_pubkey=kp.pubkey(),
                lamports=svm.minimum_balance_for_rent_exemption(space),
                space=space,
                owner=program,
            )
        ),
        *ext_ixs,
        # InitializeMint2: decimals, mint authority, no freeze authority.
        Instruction(program, bytes([20, decimals]) + bytes(payer.pubkey()) + b"\x00", meta),
    ]
    ok(svm, payer, ixs, [kp])
    return Mint(kp.pubkey(), program, decimals, fee_bps, max_fee)


def ordered_keypairs() -> tuple[Keypair, Keypair]:
    a, b = Keypair(), Keypair()
    return (a, b) if bytes(a.pubkey()) < bytes(b.pubkey()) else (b, a)


def ata(owner: Pubkey, mint: Mint) -> Pubkey:
    return Pubkey.find_program_address(
        [bytes(owner), bytes(mint.program), bytes(mint.key)], ATA_PROGRAM
    )[0]


def create_ata(svm: LiteSVM, payer: Keypair, owner: Pubkey, mint: Mint) -> Pubkey:
    addr = ata(owner, mint)
    ix = Instruction(
        ATA_PROGRAM,
        b"\x01",  # CreateIdempotent
        [
            AccountMeta(payer.pubkey(), True, True),
            AccountMeta(addr, False, True),
            AccountMeta(owner, False, False),
            AccountMeta(mint.key, False, False),
            AccountMeta(SYSTEM_PROGRAM_ID, False, False),
            AccountMeta(mint.program, False, False),
        ],
    )
    ok(svm, payer, [ix])
    return addr


def mint_to(svm: LiteSVM, payer: Keypair, mint: Mint, dest: Pubkey, amount: int) -> None:
    ix = Instruction(
        mint.program,
        bytes([7]) + struct.pack("<Q", amount),
        [
            AccountMeta(mint.key, False, True),
            AccountMeta(dest, False, True),
            AccountMeta(payer.pubkey(), True, False),
        ],
    )
    ok(svm, payer, [ix])


def balance(svm: LiteSVM, token_account: Pubkey) -> int:
    acc = svm.get_account(token_account)
    assert acc is not None, f"no account {token_account}"
    return token_amount(bytes(acc.data))


def set_balance(svm: LiteSVM, token_account: Pubkey, amount: int) -> None:
    acc = svm.get_account(token_account)
    assert acc is not None
    data = bytearray(acc.data)
    data[64:72] = amount.to_bytes(8, "little")
    svm.set_account(
        token_account, Account(acc.lamports, bytes(data), acc.owner, acc.executable, acc.rent_epoch)
    )


# --- The cp_pool interface ----------------------------------------------------------------


def pool_address(program_id: Pubkey, mint_a: Pubkey, mint_b: Pubkey) -> Pubkey:
    return Pubkey.find_program_address([b"pool", bytes(mint_a), bytes(mint_b)], program_id)[0]


def vault_address(program_id: Pubkey, pool: Pubkey, mint: Pubkey) -> Pubkey:
    return Pubkey.find_program_address([b"vault", bytes(pool), bytes(mint)], program_id)[0]


def create_pool_ix(
    program_id: Pubkey,
    payer: Pubkey,
    mint_a: Mint,
    mint_b: Mint,
    fee_bps: int,
    *,
    pool: Pubkey | None = None,
    vault_a: Pubkey | None = None,
    vault_b: Pubkey | None = None,
    token_program_a: Pubkey | None = None,
    token_program_b: Pubkey | None = None,
) -> Instruction:
    pool = pool or pool_address(program_id, mint_a.key, mint_b.key)
    metas = [
        AccountMeta(payer, True, True),
        AccountMeta(pool, False, True),
        AccountMeta(mint_a.key, False, False),
        AccountMeta(mint_b.key, False, False),
        AccountMeta(vault_a or vault_address(program_id, pool, mint_a.key), False, True),
        AccountMeta(vault_b or vault_address(program_id, pool, mint_b.key), False, True),
        AccountMeta(token_program_a or mint_a.program, False, False),
        AccountMeta(token_program_b or mint_b.program, False, False),
        AccountMeta(SYSTEM_PROGRAM_ID, False, False),
    ]
    return Instruction(program_id, IX["create_pool"] + struct.pack("<H", fee_bps), metas)


@dataclass
class Pool:
    program_id: Pubkey
    key: Pubkey
    mint_a: Mint
    mint_b: Mint
    vault_a: Pubkey
    vault_b: Pubkey

    def side(self, mint: Mint) -> tuple[Pubkey, Pubkey, Mint]:
        """(vault_in, vault_out, mint_out) when ``mint`` goes in."""
        if mint == self.mint_a:
            return self.vault_a, self.vault_b, self.mint_b
        return self.vault_b, self.vault_a, self.mint_a

    def add_liquidity_ix(
        self,
        depositor: Pubkey,
        dep_a: Pubkey,
        dep_b: Pubkey,
        amount_a: int,
        amount_b: int,
        *,
        vault_a: Pubkey | None = None,
    ) -> Instruction:
        metas = [
            AccountMeta(depositor, True, False),
            AccountMeta(self.key, False, True),
            AccountMeta(dep_a, False, True),
            AccountMeta(dep_b, False, True),
            AccountMeta(vault_a or self.vault_a, False, True),
            AccountMeta(self.vault_b, False, True),
            AccountMeta(self.mint_a.key, False, False),
            AccountMeta(self.mint_b.key, False, False),
            AccountMeta(self.mint_a.program, False, False),
            AccountMeta(self.mint_b.program, False, False),
        ]
        data = IX["add_liquidity"] + struct.pack("<QQ", amount_a, amount_b)
        return Instruction(self.program_id, data, metas)

    def swap_ix(
        self,
        user: Pubkey,
        source: Pubkey,
        destination: Pubkey,
        mint_in: Mint,
        amount_in: int,
        min_out: int,
        *,
        vault_in: Pubkey | None = None,
        vault_out: Pubkey | None = None,
        mint_out: Pubkey | None = None,
        token_program_in: Pubkey | None = None,
        token_program_out: Pubkey | None = None,
        pool: Pubkey | None = None,
        user_signs: bool = True,
        data: bytes | None = None,
    ) -> Instruction:
        v_in, v_out, m_out = self.side(mint_in)
        metas = [
            AccountMeta(user, user_signs, False),
            AccountMeta(pool or self.key, False, True),
            AccountMeta(source, False, True),
            AccountMeta(destination, False, True),
            AccountMeta(vault_in or v_in, False, True),
            AccountMeta(vault_out or v_out, False, True),
            AccountMeta(mint_in.key, False, False),
            AccountMeta(mint_out or m_out.key, False, False),
            AccountMeta(token_program_in or mint_in.program, False, False),
            AccountMeta(token_program_out or m_out.program, False, False),
        ]
        if data is None:
            data = IX["swap"] + struct.pack("<QQ", amount_in, min_out)
        return Instruction(self.program_id, data, metas)


@dataclass
class PoolState:
    """The Pool account, decoded with the offsets the spec gives."""

    mint_a: Pubkey
    mint_b: Pubkey
    vault_a: Pubkey
    vault_b: Pubkey
    token_program_a: Pubkey
    token_program_b: Pubkey
    creator: Pubkey
    totals: tuple[int, ...]  # deposited a/b, swapped in a/b, swapped out a/b, fees a/b, count
    fee_bps: int
    bump: int
    vault_a_bump: int
    vault_b_bump: int

    @classmethod
    def decode(cls, data: bytes) -> PoolState:
        assert len(data) == POOL_LEN and data[:8] == POOL_DISC

        def key(name: str) -> Pubkey:
            return Pubkey.from_bytes(data[POOL_OFF[name] : POOL_OFF[name] + 32])

        def u(name: str, n: int) -> int:
            return int.from_bytes(data[POOL_OFF[name] : POOL_OFF[name] + n], "little")

        totals = struct.unpack_from("<9Q", data, POOL_OFF["total_deposited_a"])
        return cls(
            mint_a=key("mint_a"),
            mint_b=key("mint_b"),
            vault_a=key("vault_a"),
            vault_b=key("vault_b"),
            token_program_a=key("token_program_a"),
            token_program_b=key("token_program_b"),
            creator=key("creator"),
            totals=totals,
            fee_bps=u("fee_bps", 2),
            bump=u("bump", 1),
            vault_a_bump=u("vault_a_bump", 1),
            vault_b_bump=u("vault_b_bump", 1),
        )


# --- Fixtures -----------------------------------------------------------------------------


@dataclass
class Env:
    svm: LiteSVM
    payer: Keypair
    program_id: Pubkey

    def ok(
        self, ixs: Sequence[Instruction], signers: Sequence[Keypair] = ()
    ) -> TransactionMetadata:
        return ok(self.svm, self.payer, ixs, signers)

    def send(
        self, ixs: Sequence[Instruction], signers: Sequence[Keypair] = ()
    ) -> TransactionMetadata | FailedTransactionMetadata:
        return send(self.svm, self.payer, ixs, signers)

    def funded_account(self, owner: Pubkey, mint: Mint, amount: int) -> Pubkey:
        addr = create_ata(self.svm, self.payer, owner, mint)
        if amount:
            mint_to(self.svm, self.payer, mint, addr, amount)
        return addr

    def create_pool(self, mint_a: Mint, mint_b: Mint, fee_bps: int) -> tuple[Pool, int]:
        meta = self.ok(
            [create_pool_ix(self.program_id, self.payer.pubkey(), mint_a, mint_b, fee_bps)]
        )
        key = pool_address(self.program_id, mint_a.key, mint_b.key)
        pool = Pool(
            self.program_id,
            key,
            mint_a,
            mint_b,
            vault_address(self.program_id, key, mint_a.key),
            vault_address(self.program_id, key, mint_b.key),
        )
        return pool, check_cu(meta, "create_pool")

    def pool_state(self, pool: Pool) -> PoolState:
        acc = self.svm.get_account(pool.key)
        assert acc is not None and acc.owner == self.program_id
        return PoolState.decode(bytes(acc.data))

    def balances(self, *accounts: Pubkey) -> list[int]:
        return [balance(self.svm, a) for a in accounts]


def make_env() -> Env:
    svm = LiteSVM()
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 1_000 * 10**9)
    program = Keypair.from_bytes(bytes(json.loads(KEYPAIR_PATH.read_text())))
    deploy_upgradeable(svm, payer, program, SO_PATH.read_bytes(), payer)
    return Env(svm, payer, program.pubkey())


@pytest.fixture
def env() -> Env:
    return make_env()


def pair(env: Env, kind: str) -> tuple[Mint, Mint]:
    """Two ordered mints: "spl" = SPL/SPL; "t22" = SPL USDC + Token-2022 with a 1 % fee."""
    ka, kb = ordered_keypairs()
    if kind == "spl":
        return (
            create_mint(env.svm, env.payer, TOKEN, 6, keypair=ka),
            create_mint(env.svm, env.payer, TOKEN, 9, keypair=kb),
        )
    # Which side is the Token-2022 mint depends on the key order: exercise whatever comes.
    usdc = create_mint(env.svm, env.payer, TOKEN, 6, keypair=ka)
    t22 = create_mint(env.svm, env.payer, TOKEN_2022, 9, fee_bps=100, max_fee=5_000_000, keypair=kb)
    return usdc, t22


@dataclass
class Funded:
    pool: Pool
    user: Keypair
    user_a: Pubkey
    user_b: Pubkey

    def account(self, mint: Mint) -> Pubkey:
        return self.user_a if mint == self.pool.mint_a else self.user_b


def funded_pool(
    env: Env,
    kind: str,
    fee_bps: int = 30,
    *,
    liquidity: tuple[int, int] = (1_000_000_000_000, 2_000_000_000_000),
) -> Funded:
    mint_a, mint_b = pair(env, kind)
    pool, _ = env.create_pool(mint_a, mint_b, fee_bps)
    lp_a = env.funded_account(env.payer.pubkey(), mint_a, liquidity[0])
    lp_b = env.funded_account(env.payer.pubkey(), mint_b, liquidity[1])
    env.ok([pool.add_liquidity_ix(env.payer.pubkey(), lp_a, lp_b, *liquidity)])
    user = Keypair()
    user_a = env.funded_account(user.pubkey(), mint_a, 10**15)
    user_b = env.funded_account(user.pubkey(), mint_b, 10**15)
    return Funded(pool, user, user_a, user_b)


# --- create_pool ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["spl", "t22"])
def test_create_pool_records_everything(env: Env, kind: str) -> None:
    mint_a, mint_b = pair(env, kind)
    pool, cu = env.create_pool(mint_a, mint_b, 25)

    state = env.pool_state(pool)
    assert (state.mint_a, state.mint_b) == (mint_a.key, mint_b.key)
    assert (state.vault_a, state.vault_b) == (pool.vault_a, pool.vault_b)
    assert (state.token_program_a, state.token_program_b) == (mint_a.program, mint_b.program)
    assert state.creator == env.payer.pubkey()
    assert state.fee_bps == 25 and state.totals == (0,) * 9
    pid = env.program_id
    assert (
        state.bump
        == Pubkey.find_program_address([b"pool", bytes(mint_a.key), bytes(mint_b.key)], pid)[1]
    )
    assert (
        state.vault_a_bump
        == Pubkey.find_program_address([b"vault", bytes(pool.key), bytes(mint_a.key)], pid)[1]
    )
    # Vaults: token accounts of their mints, owned by their token programs, authority = pool
    for vault, mint in ((pool.vault_a, mint_a), (pool.vault_b, mint_b)):
        acc = env.svm.get_account(vault)
        assert acc is not None and acc.owner == mint.program, f"create_pool: {cu} CU"
        info = decode_token_account(bytes(acc.data))
        assert (info.mint, info.owner, info.amount) == (mint.key, pool.key, 0)


def test_create_pool_rejects_wrong_mint_order_and_same_mint(env: Env) -> None:
    mint_a, mint_b = pair(env, "spl")
    pid, payer = env.program_id, env.payer.pubkey()
    assert_fails(env.send([create_pool_ix(pid, payer, mint_b, mint_a, 30)]), "MintsNotOrdered")
    assert_fails(env.send([create_pool_ix(pid, payer, mint_a, mint_a, 30)]), "MintsNotOrdered")


def test_create_pool_rejects_recreate(env: Env) -> None:
    mint_a, mint_b = pair(env, "spl")
    env.create_pool(mint_a, mint_b, 30)
    again = create_pool_ix(env.program_id, env.payer.pubkey(), mint_a, mint_b, 31)
    assert_fails(env.send([again]), "AlreadyInitialized")


def test_create_pool_rejects_bad_fee_pdas_and_programs(env: Env) -> None:
    mint_a, mint_b = pair(env, "t22")
    pid, payer = env.program_id, env.payer.pubkey()
    assert_fails(env.send([create_pool_ix(pid, payer, mint_a, mint_b, 1_001)]), "FeeTooHigh")
    # A token program that does not own the mint, or is not a token program at all
    other = TOKEN_2022 if mint_a.program == TOKEN else TOKEN
    assert_fails(
        env.send([create_pool_ix(pid, payer, mint_a, mint_b, 30, token_program_a=other)]),
        "InvalidTokenProgram",
    )
    assert_fails(
        env.send([create_pool_ix(pid, payer, mint_a, mint_b, 30, token_program_b=MEMO_PROGRAM)]),
        "InvalidTokenProgram",
    )
    # A pool or vault address that is not the canonical PDA
    assert_fails(
        env.send([create_pool_ix(pid, payer, mint_a, mint_b, 30, pool=Keypair().pubkey())]),
        "InvalidPda",
    )
    assert_fails(
        env.send([create_pool_ix(pid, payer, mint_a, mint_b, 30, vault_b=Keypair().pubkey())]),
        "InvalidPda",
    )


def test_create_pool_rejects_permanent_delegate_mint(env: Env) -> None:
    ka, kb = ordered_keypairs()
    usdc = create_mint(env.svm, env.payer, TOKEN, 6, keypair=ka)
    risky = create_mint(
        env.svm, env.payer, TOKEN_2022, 6, permanent_delegate=Keypair().pubkey(), keypair=kb
    )
    result = env.send([create_pool_ix(env.program_id, env.payer.pubkey(), usdc, risky, 30)])
    assert_fails(result, "UnsupportedMintExtension")


# --- add_liquidity --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["spl", "t22"])
def test_add_liquidity_credits_what_arrived(env: Env, kind: str) -> None:
    mint_a, mint_b = pair(env, kind)
    pool, _ = env.create_pool(mint_a, mint_b, 30)
    lp = Keypair()
    lp_a = env.funded_account(lp.pubkey(), mint_a, 10**13)
    lp_b = env.funded_account(lp.pubkey(), mint_b, 10**13)

    amount_a, amount_b = 400_000_000, 900_000_000_000
    meta = env.ok([pool.add_liquidity_ix(lp.pubkey(), lp_a, lp_b, amount_a, amount_b)], [lp])
    cu = check_cu(meta, "add_liquidity")

    got_a, got_b = amount_a - mint_a.fee(amount_a), amount_b - mint_b.fee(amount_b)
    assert env.balances(pool.vault_a, pool.vault_b) == [got_a, got_b], f"add_liquidity: {cu} CU"
    assert env.balances(lp_a, lp_b) == [10**13 - amount_a, 10**13 - amount_b]
    assert env.pool_state(pool).totals[:2] == (got_a, got_b)
    (ev,) = events(meta, "LiquidityAdded")
    assert ev[:64] == bytes(pool.key) + bytes(lp.pubkey())
    assert struct.unpack("<4Q", ev[64:]) == (got_a, got_b, got_a, got_b)

    # One-sided deposits are fine; an all-zero one is not
    env.ok([pool.add_liquidity_ix(lp.pubkey(), lp_a, lp_b, 0, 5)], [lp])
    assert_fails(
        env.send([pool.add_liquidity_ix(lp.pubkey(), lp_a, lp_b, 0, 0)], [lp]), "ZeroAmount"
    )


def test_add_liquidity_rejects_foreign_vault(env: Env) -> None:
    f = funded_pool(env, "spl")
    pool = f.pool
    ix = pool.add_liquidity_ix(f.user.pubkey(), f.user_a, f.user_b, 10, 10, vault_a=f.user_a)
    assert_fails(env.send([ix], [f.user]), "InvalidVault")


# --- swap ---------------------------------------------------------------------------------


def expected_swap(f: Funded, env: Env, mint_in: Mint, amount_in: int) -> dict[str, int]:
    vault_in, vault_out, mint_out = f.pool.side(mint_in)
    r_in, r_out = env.balances(vault_in, vault_out)
    credited = amount_in - mint_in.fee(amount_in)
    fee, out = pool_quote(credited, r_in, r_out, env.pool_state(f.pool).fee_bps)
    return {
        "r_in": r_in,
        "r_out": r_out,
        "credited": credited,
        "fee": fee,
        "out": out,
        "received": out - mint_out.fee(out),
    }


@pytest.mark.parametrize("kind", ["spl", "t22"])
def test_swap_both_directions_exact_balances(env: Env, kind: str) -> None:
    f = funded_pool(env, kind)
    pool = f.pool
    for mint_in, amount in (
        (pool.mint_a, 7_777_777),
        (pool.mint_b, 123_456_789_012),
        (pool.mint_a, 1_000_000_000),
    ):
        vault_in, vault_out, mint_out = pool.side(mint_in)
        src, dst = f.account(mint_in), f.account(mint_out)
        before = env.balances(src, dst, vault_in, vault_out)
        state_before = env.pool_state(pool)
        exp = expected_swap(f, env, mint_in, amount)
        assert exp["out"] > 0

        meta = env.ok(
            [pool.swap_ix(f.user.pubkey(), src, dst, mint_in, amount, exp["received"])], [f.user]
        )
        cu = check_cu(meta, "swap")

        # Given/When/Then: exactly the reference amounts moved, and the product grew
        after = env.balances(src, dst, vault_in, vault_out)
        assert after == [
            before[0] - amount,
            before[1] + exp["received"],
            before[2] + exp["credited"],
            before[3] - exp["out"],
        ], f"swap: {cu} CU"
        assert after[2] * after[3] >= before[2] * before[3]
        (ev,) = events(meta, "Swapped")
        keys = bytes(pool.key) + bytes(f.user.pubkey()) + bytes(mint_in.key) + bytes(mint_out.key)
        assert ev[:128] == keys
        assert struct.unpack("<7Q", ev[128:]) == (
            amount,
            exp["credited"],
            exp["fee"],
            exp["out"],
            exp["received"],
            after[2],
            after[3],
        )
        # Totals: input, fee and output on their sides, one more swap
        t0, t1 = state_before.totals, env.pool_state(pool).totals
        a_in = mint_in == pool.mint_a
        delta = [t1[i] - t0[i] for i in range(9)]
        assert delta == [
            0,
            0,
            exp["credited"] if a_in else 0,
            0 if a_in else exp["credited"],
            0 if a_in else exp["out"],
            exp["out"] if a_in else 0,
            exp["fee"] if a_in else 0,
            0 if a_in else exp["fee"],
            1,
        ]


def snapshot(env: Env, f: Funded) -> tuple[list[int], bytes]:
    acc = env.svm.get_account(f.pool.key)
    assert acc is not None
    return env.balances(f.user_a, f.user_b, f.pool.vault_a, f.pool.vault_b), bytes(acc.data)


@pytest.mark.parametrize("kind", ["spl", "t22"])
def test_min_out_rejection_moves_nothing(env: Env, kind: str) -> None:
    f = funded_pool(env, kind)
    pool = f.pool
    for mint_in in (pool.mint_a, pool.mint_b):
        _, _, mint_out = pool.side(mint_in)
        exp = expected_swap(f, env, mint_in, 50_000_000)
        before = snapshot(env, f)
        ix = pool.swap_ix(
            f.user.pubkey(),
            f.account(mint_in),
            f.account(mint_out),
            mint_in,
            50_000_000,
            exp["received"] + 1,
        )
        assert_fails(env.send([ix], [f.user]), "SlippageExceeded")
        assert snapshot(env, f) == before


def test_min_out_bounds_what_arrives_after_transfer_fee(env: Env) -> None:
    # Given a pool whose output side charges a Token-2022 transfer fee
    f = funded_pool(env, "t22")
    pool = f.pool
    t22 = pool.mint_a if pool.mint_a.program == TOKEN_2022 else pool.mint_b
    usdc = pool.mint_b if t22 == pool.mint_a else pool.mint_a
    exp = expected_swap(f, env, usdc, 20_000_000)
    assert exp["received"] < exp["out"]
    before = snapshot(env, f)
    # When min_out is the pool's nominal output, which the user will not receive in full
    ix = pool.swap_ix(
        f.user.pubkey(), f.account(usdc), f.account(t22), usdc, 20_000_000, exp["out"]
    )
    # Then the swap is refused and nothing moves
    assert_fails(env.send([ix], [f.user]), "SlippageExceeded")
    assert snapshot(env, f) == before


def test_swap_rejects_wrong_accounts(env: Env) -> None:
    f = funded_pool(env, "t22")
    pool, user = f.pool, f.user.pubkey()
    mint_in = pool.mint_a
    vault_in, vault_out, mint_out = pool.side(mint_in)
    src, dst = f.account(mint_in), f.account(mint_out)

    def fails(name: str, **kw: object) -> None:
        ix = pool.swap_ix(user, src, dst, mint_in, 1_000_000, 0, **kw)  # type: ignore[arg-type]
        before = snapshot(env, f)
        assert_fails(env.send([ix], [f.user]), name)
        assert snapshot(env, f) == before

    # Another pool's vault, the user's own account, or the vaults swapped
    other = funded_pool(env, "spl")
    fails("InvalidVault", vault_out=other.pool.vault_b)
    fails("InvalidVault", vault_in=f.user_a)
    fails("InvalidVault", vault_in=vault_out, vault_out=vault_in)
    # A token program that is not the mint's, or not a token program
    wrong = TOKEN if mint_in.program == TOKEN_2022 else TOKEN_2022
    fails("InvalidTokenProgram", token_program_in=wrong)
    fails("InvalidTokenProgram", token_program_out=MEMO_PROGRAM)
    # Mints that are not the pool's
    fails("InvalidMint", mint_out=other.pool.mint_a.key)
    fails("InvalidMint", mint_out=mint_in.key)
    # Not a pool: another program's account, or nothing at all
    fails("InvalidAccountOwner", pool=vault_in)
    fails("InvalidAccountOwner", pool=Keypair().pubkey())
    # The user's destination is the pool's own vault
    ix = pool.swap_ix(user, src, vault_out, mint_in, 1_000_000, 0)
    assert_fails(env.send([ix], [f.user]), "DuplicateAccount")
    # No signature from the user
    fails("MissingSigner", user_signs=False)
    # Malformed data: trailing byte, unknown discriminator, zero amount
    fails("InvalidInstructionData", data=IX["swap"] + struct.pack("<QQ", 1, 0) + b"\x00")
    fails("InvalidInstructionData", data=b"\x00" * 8 + struct.pack("<QQ", 1, 0))
    fails("ZeroAmount", data=IX["swap"] + struct.pack("<QQ", 0, 0))


def test_swap_on_empty_pool_and_dust(env: Env) -> None:
    mint_a, mint_b = pair(env, "spl")
    pool, _ = env.create_pool(mint_a, mint_b, 30)
    user = Keypair()
    ua = env.funded_account(user.pubkey(), mint_a, 10**9)
    ub = env.funded_account(user.pubkey(), mint_b, 0)
    assert_fails(
        env.send([pool.swap_ix(user.pubkey(), ua, ub, mint_a, 1_000, 0)], [user]), "EmptyPool"
    )
    env.ok(
        [
            pool.add_liquidity_ix(
                env.payer.pubkey(),
                env.funded_account(env.payer.pubkey(), mint_a, 10**6),
                env.funded_account(env.payer.pubkey(), mint_b, 10**6),
                10**6,
                10**6,
            )
        ]
    )
    # One token in: the fee takes it all, nothing would come out
    assert_fails(
        env.send([pool.swap_ix(user.pubkey(), ua, ub, mint_a, 1, 0)], [user]), "ZeroOutput"
    )


def test_swap_by_delegate(env: Env) -> None:
    # Any signer the token program accepts as authority may swap (here a delegate), as a PDA
    # signing through CPI would.
    f = funded_pool(env, "spl")
    pool, delegate = f.pool, Keypair()
    approve = Instruction(
        TOKEN,
        bytes([4]) + struct.pack("<Q", 5_000_000),
        [
            AccountMeta(f.user_a, False, True),
            AccountMeta(delegate.pubkey(), False, False),
            AccountMeta(f.user.pubkey(), True, False),
        ],
    )
    env.ok([approve], [f.user])
    exp = expected_swap(f, env, pool.mint_a, 5_000_000)
    env.ok(
        [pool.swap_ix(delegate.pubkey(), f.user_a, f.user_b, pool.mint_a, 5_000_000, exp["out"])],
        [delegate],
    )
    assert balance(env.svm, f.user_b) == 10**15 + exp["out"]


# --- Property: the pool never loses value -------------------------------------------------


@pytest.fixture(scope="module", params=["spl", "t22"])
def prop_env(request: pytest.FixtureRequest) -> Iterator[tuple[Env, Funded]]:
    env = make_env()
    yield env, funded_pool(env, request.param)


def set_fee_bps(env: Env, pool: Pool, fee_bps: int) -> None:
    acc = env.svm.get_account(pool.key)
    assert acc is not None
    data = bytearray(acc.data)
    data[POOL_OFF["fee_bps"] : POOL_OFF["fee_bps"] + 2] = fee_bps.to_bytes(2, "little")
    env.svm.set_account(
        pool.key, Account(acc.lamports, bytes(data), acc.owner, acc.executable, acc.rent_epoch)
    )


@settings(max_examples=300, deadline=None)
@given(
    reserve_in=st.integers(1, 2**60),
    reserve_out=st.integers(1, 2**60),
    amount_in=st.integers(1, 2**60),
    fee_bps=st.integers(0, 1_000),
    a_to_b=st.booleans(),
    slack=st.sampled_from([None, 0, 1]),
)
def test_swap_matches_reference_and_k_never_decreases(
    prop_env: tuple[Env, Funded],
    reserve_in: int,
    reserve_out: int,
    amount_in: int,
    fee_bps: int,
    a_to_b: bool,
    slack: int | None,
) -> None:
    env, f = prop_env
    pool = f.pool
    mint_in = pool.mint_a if a_to_b else pool.mint_b
    vault_in, vault_out, mint_out = pool.side(mint_in)
    src, dst = f.account(mint_in), f.account(mint_out)
    # Given reserves, balances and fee injected straight into the accounts
    set_balance(env.svm, vault_in, reserve_in)
    set_balance(env.svm, vault_out, reserve_out)
    set_balance(env.svm, src, amount_in)
    set_balance(env.svm, dst, 0)
    set_fee_bps(env, pool, fee_bps)
    credited = amount_in - mint_in.fee(amount_in)
    fee, out = pool_quote(credited, reserve_in, reserve_out, fee_bps)
    received = out - mint_out.fee(out)
    # min_out: nothing, exactly what arrives, or one more than that
    min_out = 0 if slack is None else received + slack

    result = env.send(
        [pool.swap_ix(f.user.pubkey(), src, dst, mint_in, amount_in, min_out)], [f.user]
    )

    event("zero output" if out == 0 else "slippage" if slack == 1 else "swapped")
    if out == 0:
        assert_fails(result, "ZeroOutput")
    elif slack == 1:
        assert_fails(result, "SlippageExceeded")
    else:
        assert isinstance(result, TransactionMetadata), result
        check_cu(result, "swap")
        after_in, after_out = env.balances(vault_in, vault_out)
        assert (after_in, after_out) == (reserve_in + credited, reserve_out - out)
        assert env.balances(src, dst) == [0, received]
        assert after_in * after_out >= reserve_in * reserve_out
        assert fee == ceil_div(credited * fee_bps, 10_000)
        return
    # A rejected swap moves nothing
    assert env.balances(vault_in, vault_out, src, dst) == [reserve_in, reserve_out, amount_in, 0]
