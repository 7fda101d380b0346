"""Deploying through the real BPF upgradeable loader (localnet.loader) on LiteSVM."""

from __future__ import annotations

from pathlib import Path

import pytest
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata

from localnet import elf
from localnet.loader import (
    BPF_LOADER_UPGRADEABLE_ID,
    PACKET_DATA_SIZE,
    PROGRAMDATA_METADATA_SIZE,
    DeployError,
    deploy_upgradeable,
    programdata_address,
    write,
    write_chunk_size,
)
from localnet.programs import BIN_DIR

REPO = Path(__file__).resolve().parents[2]
BUILT_PROGRAMS = sorted((BIN_DIR).glob("*.so"))


@pytest.fixture
def svm_payer() -> tuple[LiteSVM, Keypair]:
    svm = LiteSVM()
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 1_000 * 10**9)
    return svm, payer


def _invoke(svm: LiteSVM, payer: Keypair, program_id: Pubkey) -> TransactionMetadata:
    ix = Instruction(program_id, b"", [])
    msg = Message.new_with_blockhash([ix], payer.pubkey(), svm.latest_blockhash())
    result = svm.send_transaction(VersionedTransaction(msg, [payer]))
    assert isinstance(result, TransactionMetadata), result
    return result


def test_deploy_then_invoke(svm_payer: tuple[LiteSVM, Keypair]) -> None:
    # Given a log-only program deployed through the loader, with a separate upgrade authority
    svm, payer = svm_payer
    program, authority = Keypair(), Keypair()
    deploy_upgradeable(svm, payer, program, elf.log_program("deployed for real"), authority)

    # Then the program account is executable, owned by the loader, pointing at its ProgramData
    account = svm.get_account(program.pubkey())
    assert account is not None and account.executable
    assert account.owner == BPF_LOADER_UPGRADEABLE_ID
    pda = programdata_address(program.pubkey())
    assert bytes(account.data) == (2).to_bytes(4, "little") + bytes(pda)
    # and the ProgramData records the upgrade authority
    data = svm.get_account(pda)
    assert data is not None
    assert bytes(data.data[12:13]) == b"\x01"
    assert bytes(data.data[13:45]) == bytes(authority.pubkey())

    # When invoked, it runs
    meta = _invoke(svm, payer, program.pubkey())
    assert "Program log: deployed for real" in meta.logs()
    assert meta.compute_units_consumed() > 0


def test_multi_chunk_deploy(svm_payer: tuple[LiteSVM, Keypair]) -> None:
    # Given an image ~30 KB (dozens of Write transactions)
    svm, payer = svm_payer
    image = elf.build_elf(b"\xb7" + bytes(7) + b"\x95" + bytes(7), rodata=bytes(range(256)) * 120)
    program = Keypair()
    deploy_upgradeable(svm, payer, program, image, payer, max_data_len=2 * len(image))

    # Then ProgramData holds the exact bytes, with room for the requested max length
    data = svm.get_account(programdata_address(program.pubkey()))
    assert data is not None
    assert len(data.data) == PROGRAMDATA_METADATA_SIZE + 2 * len(image)
    start = PROGRAMDATA_METADATA_SIZE
    assert bytes(data.data[start : start + len(image)]) == image
    _invoke(svm, payer, program.pubkey())


def test_write_chunks_fit_a_packet() -> None:
    payer, authority = Keypair(), Keypair()
    chunk = write_chunk_size(payer, authority)
    assert chunk > 800
    ix = write(Keypair().pubkey(), authority.pubkey(), 123_456, bytes(chunk))
    msg = Message.new_with_blockhash([ix], payer.pubkey(), Hash.default())
    assert len(bytes(VersionedTransaction(msg, [payer, authority]))) <= PACKET_DATA_SIZE


def test_custom_error_program(svm_payer: tuple[LiteSVM, Keypair]) -> None:
    svm, payer = svm_payer
    program = Keypair()
    deploy_upgradeable(svm, payer, program, elf.failing_program(6003), payer)
    ix = Instruction(program.pubkey(), b"", [])
    msg = Message.new_with_blockhash([ix], payer.pubkey(), svm.latest_blockhash())
    result = svm.send_transaction(VersionedTransaction(msg, [payer]))
    assert isinstance(result, FailedTransactionMetadata)
    assert "custom program error: 0x1773" in result.meta().logs()[-1]


def test_loader_rejects_unresolved_syscall(svm_payer: tuple[LiteSVM, Keypair]) -> None:
    # add_program would accept this image; the real loader's verifier must not
    svm, payer = svm_payer
    with pytest.raises(DeployError) as info:
        deploy_upgradeable(svm, payer, Keypair(), elf.unresolved_syscall_program(), payer)
    assert info.value.step == "deploy"
    assert any("Unresolved symbol (sol_no_such_syscall)" in line for line in info.value.logs)


def test_redeploy_to_same_address_fails(svm_payer: tuple[LiteSVM, Keypair]) -> None:
    svm, payer = svm_payer
    program = Keypair()
    deploy_upgradeable(svm, payer, program, elf.noop_program(), payer)
    with pytest.raises(DeployError):
        deploy_upgradeable(svm, payer, program, elf.noop_program(), payer)


@pytest.mark.skipif(not BUILT_PROGRAMS, reason="localnet/programs/bin/*.so not built yet")
@pytest.mark.parametrize("path", BUILT_PROGRAMS, ids=[p.name for p in BUILT_PROGRAMS])
def test_deploy_built_program(svm_payer: tuple[LiteSVM, Keypair], path: Path) -> None:
    svm, payer = svm_payer
    program = Keypair()
    deploy_upgradeable(svm, payer, program, path.read_bytes(), payer)
    account = svm.get_account(program.pubkey())
    assert account is not None and account.executable
