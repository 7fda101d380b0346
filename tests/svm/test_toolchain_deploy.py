"""The toolchain's output deploys through the REAL BPF upgradeable loader and runs.

``LiteSVM.add_program`` skips the loader's deploy-time ELF checks, so these tests go
through buffer creation, chunked writes and ``DeployWithMaxDataLen``, exactly as a cluster
deploy does, then invoke the program (logs, PDA derivation, a runtime-sized copy, a
System-program CPI, return data, and a Vec on the bump allocator).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata

from localnet.loader import DeployError, deploy_upgradeable

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "program" / "toolchain" / "testdata" / "hello" / "lib.rs"

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/llc-22").exists(),
    reason="needs the apt toolchain (llvm-22, clang-22, rustc-web, libstd-rust-web-dev-bpf)",
)


@pytest.fixture(scope="module")
def hello_so() -> bytes:
    from program.toolchain import Toolchain

    with Toolchain() as tc:
        return tc.build(HELLO, "hello").image


def _send(svm: LiteSVM, payer: Keypair, ix: Instruction) -> TransactionMetadata:
    msg = Message.new_with_blockhash([ix], payer.pubkey(), svm.latest_blockhash())
    result = svm.send_transaction(VersionedTransaction(msg, [payer]))
    if isinstance(result, FailedTransactionMetadata):
        logs = "\n".join(result.meta().logs())
        raise AssertionError(f"transaction failed: {result.err()}\n{logs}")
    return result


@pytest.fixture
def deployed(hello_so: bytes) -> tuple[LiteSVM, Keypair, Pubkey]:
    svm = LiteSVM()
    payer = Keypair.from_seed(bytes([7] * 32))  # fixed keys: the PDA bump (hence CU) is fixed
    svm.airdrop(payer.pubkey(), 100 * 10**9)
    program = Keypair.from_seed(bytes([9] * 32))
    deploy_upgradeable(svm, payer, program, hello_so, payer, max_data_len=2 * len(hello_so))
    svm.expire_blockhash()
    return svm, payer, program.pubkey()


def test_hello_deploys_through_the_upgradeable_loader_and_runs(
    deployed: tuple[LiteSVM, Keypair, Pubkey],
) -> None:
    svm, payer, program_id = deployed
    account = svm.get_account(program_id)
    assert account is not None and account.executable
    recipient = Keypair().pubkey()
    lamports = 5_000_000
    payload = b"toolchain payload of a runtime-chosen length"
    ix = Instruction(
        program_id,
        bytes([0]) + struct.pack("<Q", lamports) + payload,
        [
            AccountMeta(payer.pubkey(), is_signer=True, is_writable=True),
            AccountMeta(recipient, is_signer=False, is_writable=True),
            AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
        ],
    )
    meta = _send(svm, payer, ix)
    logs = meta.logs()
    assert "Program log: hello from the toolchain" in logs
    assert any(line.startswith("Program data: ") for line in logs)
    assert svm.get_balance(recipient) == lamports
    pda, bump = Pubkey.find_program_address([b"hello", bytes(payer.pubkey())], program_id)
    ret = meta.return_data()
    assert ret.program_id == program_id
    assert bytes(ret.data) == bytes(pda) + bytes([bump]) + payload
    assert bump == 255
    # log + PDA (one hash) + copy + System transfer CPI: measured 3,445 CU
    assert meta.compute_units_consumed() < 6_000, meta.compute_units_consumed()


def test_alloc_uses_the_heap_bump_allocator(deployed: tuple[LiteSVM, Keypair, Pubkey]) -> None:
    svm, payer, program_id = deployed
    for n in (0, 1, 7, 300):
        meta = _send(svm, payer, Instruction(program_id, bytes([3]) + struct.pack("<I", n), []))
        total, length, capacity, text_len = struct.unpack("<4Q", bytes(meta.return_data().data))
        assert total == sum(3 * i + 1 for i in range(n))
        assert length == n and capacity >= n
        assert text_len == 2 * (n % 50)


def test_function_pointer_table_and_callx(deployed: tuple[LiteSVM, Keypair, Pubkey]) -> None:
    """Pointers stored in read-only data are relocated; callx is in the v0 encoding."""
    svm, payer, program_id = deployed
    m64 = (1 << 64) - 1
    for k, x in ((0, 7), (1, 12345), (2, 0), (3, 1 << 40), (4, m64), (5, 99)):
        data = bytes([4, k]) + struct.pack("<Q", x)
        meta = _send(svm, payer, Instruction(program_id, data, []))
        (got,) = struct.unpack("<Q", bytes(meta.return_data().data))
        want = [(3 * x) & m64, (x * x) & m64, x ^ m64][k % 3]
        assert got == want, (k, x)


def test_unknown_syscall_is_refused_by_the_relinker() -> None:
    from program.toolchain import Toolchain, ToolchainError

    with Toolchain() as tc, pytest.raises(ToolchainError) as excinfo:
        tc.build(HELLO, "hello", cfg=["bad_syscall"])
    assert "unknown syscall 'sol_definitely_not_a_syscall'" in str(excinfo.value)


def test_loader_refuses_what_the_relinker_refuses() -> None:
    """With the allow-list bypassed, the real loader rejects the same image at deploy time."""
    from program.toolchain import SYSCALLS, Toolchain

    with Toolchain() as tc:
        bad = tc.build(
            HELLO,
            "hello",
            cfg=["bad_syscall"],
            allowed_syscalls=SYSCALLS | {"sol_definitely_not_a_syscall"},
        ).image
    svm = LiteSVM()
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 100 * 10**9)
    with pytest.raises(DeployError) as excinfo:
        deploy_upgradeable(svm, payer, Keypair(), bad, payer)
    assert excinfo.value.step == "deploy"
    expected = "Unresolved symbol (sol_definitely_not_a_syscall)"
    assert any(expected in line for line in excinfo.value.logs), excinfo.value.logs
