"""Deploy programs through the real BPF upgradeable loader, transaction by transaction.

solders has no builders for the upgradeable loader's instructions, so they are encoded here
(bincode: a little-endian ``u32`` variant tag, then the fields; ``Vec<u8>`` is a ``u64`` length
followed by the bytes).  The deploy follows what ``solana program deploy`` does:

1. ``create_account`` (buffer, owned by the loader) + ``InitializeBuffer``;
2. ``Write`` the ELF in chunks that fit a 1,232-byte transaction;
3. ``create_account`` (program, 36 bytes, owned by the loader) + ``DeployWithMaxDataLen``.

The loader then runs its deploy-time ELF verification, so an image that ``add_program``
would accept blindly (unknown syscalls, bad sections) is rejected here, as on a cluster.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import CreateAccountParams, create_account
from solders.sysvar import CLOCK, RENT
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

BPF_LOADER_UPGRADEABLE_ID = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")

#: Solana's maximum serialized transaction size (IPv6 MTU minus headers).
PACKET_DATA_SIZE = 1232
#: ``UpgradeableLoaderState::size_of_buffer_metadata()``: tag + Option<Pubkey>.
BUFFER_METADATA_SIZE = 4 + 1 + 32
#: ``UpgradeableLoaderState::size_of_program()``: tag + programdata address.
PROGRAM_ACCOUNT_SIZE = 4 + 32
#: ``UpgradeableLoaderState::size_of_programdata_metadata()``: tag + slot + Option<Pubkey>.
PROGRAMDATA_METADATA_SIZE = 4 + 8 + 1 + 32

_IX_INITIALIZE_BUFFER = 0
_IX_WRITE = 1
_IX_DEPLOY_WITH_MAX_DATA_LEN = 2
_IX_UPGRADE = 3
_IX_SET_AUTHORITY = 4
_IX_CLOSE = 5


class DeployError(RuntimeError):
    """A deploy transaction failed; carries the transaction error and the program logs."""

    def __init__(self, step: str, err: object, logs: Sequence[str]) -> None:
        self.step = step
        self.err = err
        self.logs = list(logs)
        tail = "\n".join(self.logs[-10:])
        super().__init__(f"{step} failed: {err}\n{tail}")


def programdata_address(program_id: Pubkey) -> Pubkey:
    """The ProgramData account of an upgradeable program (PDA of the loader)."""
    return Pubkey.find_program_address([bytes(program_id)], BPF_LOADER_UPGRADEABLE_ID)[0]


def buffer_account_size(program_len: int) -> int:
    return BUFFER_METADATA_SIZE + program_len


def programdata_account_size(max_data_len: int) -> int:
    return PROGRAMDATA_METADATA_SIZE + max_data_len


def initialize_buffer(buffer: Pubkey, authority: Pubkey) -> Instruction:
    """``InitializeBuffer``: accounts [buffer (w), authority]."""
    return Instruction(
        BPF_LOADER_UPGRADEABLE_ID,
        struct.pack("<I", _IX_INITIALIZE_BUFFER),
        [
            AccountMeta(buffer, is_signer=False, is_writable=True),
            AccountMeta(authority, is_signer=False, is_writable=False),
        ],
    )


def write(buffer: Pubkey, authority: Pubkey, offset: int, data: bytes) -> Instruction:
    """``Write { offset: u32, bytes: Vec<u8> }``: accounts [buffer (w), authority (s)]."""
    payload = struct.pack("<IIQ", _IX_WRITE, offset, len(data)) + data
    return Instruction(
        BPF_LOADER_UPGRADEABLE_ID,
        payload,
        [
            AccountMeta(buffer, is_signer=False, is_writable=True),
            AccountMeta(authority, is_signer=True, is_writable=False),
        ],
    )


def deploy_with_max_data_len(
    payer: Pubkey, program_id: Pubkey, buffer: Pubkey, authority: Pubkey, max_data_len: int
) -> Instruction:
    """``DeployWithMaxDataLen { max_data_len: u64 }``.

    Accounts: payer (s, w), programdata (w), program (w), buffer (w), rent, clock,
    system program, upgrade authority (s).
    """
    return Instruction(
        BPF_LOADER_UPGRADEABLE_ID,
        struct.pack("<IQ", _IX_DEPLOY_WITH_MAX_DATA_LEN, max_data_len),
        [
            AccountMeta(payer, is_signer=True, is_writable=True),
            AccountMeta(programdata_address(program_id), is_signer=False, is_writable=True),
            AccountMeta(program_id, is_signer=False, is_writable=True),
            AccountMeta(buffer, is_signer=False, is_writable=True),
            AccountMeta(RENT, is_signer=False, is_writable=False),
            AccountMeta(CLOCK, is_signer=False, is_writable=False),
            AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
            AccountMeta(authority, is_signer=True, is_writable=False),
        ],
    )


def upgrade(program_id: Pubkey, buffer: Pubkey, authority: Pubkey, spill: Pubkey) -> Instruction:
    """``Upgrade``: accounts [programdata (w), program (w), buffer (w), spill (w), rent,
    clock, authority (s)]."""
    return Instruction(
        BPF_LOADER_UPGRADEABLE_ID,
        struct.pack("<I", _IX_UPGRADE),
        [
            AccountMeta(programdata_address(program_id), is_signer=False, is_writable=True),
            AccountMeta(program_id, is_signer=False, is_writable=True),
            AccountMeta(buffer, is_signer=False, is_writable=True),
            AccountMeta(spill, is_signer=False, is_writable=True),
            AccountMeta(RENT, is_signer=False, is_writable=False),
            AccountMeta(CLOCK, is_signer=False, is_writable=False),
            AccountMeta(authority, is_signer=True, is_writable=False),
        ],
    )


class _Signer:
    """Signs messages for a fixed set of keypairs (pubkeys derived once: that is not free)."""

    def __init__(self, keypairs: Sequence[Keypair]) -> None:
        self.by_key = {kp.pubkey(): kp for kp in keypairs}

    def tx(
        self, ixs: Sequence[Instruction], payer: Pubkey, blockhash: Hash
    ) -> VersionedTransaction:
        msg = Message.new_with_blockhash(list(ixs), payer, blockhash)
        raw = bytes(msg)
        signers = msg.account_keys[: msg.header.num_required_signatures]
        return VersionedTransaction.populate(
            msg, [self.by_key[key].sign_message(raw) for key in signers]
        )


def _send(
    svm: LiteSVM, signer: _Signer, step: str, ixs: Sequence[Instruction], payer: Pubkey
) -> None:
    result = svm.send_transaction(signer.tx(ixs, payer, svm.latest_blockhash()))
    if isinstance(result, FailedTransactionMetadata):
        raise DeployError(step, result.err(), result.meta().logs())


def write_chunk_size(payer: Keypair, authority: Keypair) -> int:
    """The largest ``Write`` payload that keeps the transaction within PACKET_DATA_SIZE."""
    signer = _Signer([payer, authority])
    empty = write(Keypair().pubkey(), authority.pubkey(), 0, b"")
    base = len(bytes(signer.tx([empty], payer.pubkey(), Hash.default())))
    # The instruction-data length is a compact-u16: 1 byte now, up to 2 once data >= 128.
    return PACKET_DATA_SIZE - base - 2


def deploy_upgradeable(
    svm: LiteSVM,
    payer: Keypair,
    program_keypair: Keypair,
    so_bytes: bytes,
    upgrade_authority: Keypair,
    *,
    max_data_len: int | None = None,
) -> None:
    """Deploy ``so_bytes`` at ``program_keypair``'s address through the upgradeable loader.

    ``payer`` pays for the buffer, program and programdata accounts (about 2x the ELF size
    in rent) and every fee. ``max_data_len`` defaults to the ELF size, like the Solana CLI.
    Raises DeployError (with the loader's logs) when any step fails, e.g. on an ELF the
    loader's verifier rejects.
    """
    if not so_bytes:
        raise ValueError("empty program image")
    program_len = len(so_bytes)
    max_len = program_len if max_data_len is None else max_data_len
    if max_len < program_len:
        raise ValueError("max_data_len is smaller than the program")

    buffer = Keypair()
    signer = _Signer([payer, buffer, program_keypair, upgrade_authority])
    payer_key, buffer_key = payer.pubkey(), buffer.pubkey()
    program_key, authority_key = program_keypair.pubkey(), upgrade_authority.pubkey()
    buffer_size = buffer_account_size(program_len)
    _send(
        svm,
        signer,
        "create buffer",
        [
            create_account(
                CreateAccountParams(
                    from_pubkey=payer_key,
                    to_pubkey=buffer_key,
                    lamports=svm.minimum_balance_for_rent_exemption(buffer_size),
                    space=buffer_size,
                    owner=BPF_LOADER_UPGRADEABLE_ID,
                )
            ),
            initialize_buffer(buffer_key, authority_key),
        ],
        payer_key,
    )

    chunk = write_chunk_size(payer, upgrade_authority)
    for offset in range(0, program_len, chunk):
        ix = write(buffer_key, authority_key, offset, so_bytes[offset : offset + chunk])
        _send(svm, signer, f"write at {offset}", [ix], payer_key)

    _send(
        svm,
        signer,
        "deploy",
        [
            create_account(
                CreateAccountParams(
                    from_pubkey=payer_key,
                    to_pubkey=program_key,
                    lamports=svm.minimum_balance_for_rent_exemption(PROGRAM_ACCOUNT_SIZE),
                    space=PROGRAM_ACCOUNT_SIZE,
                    owner=BPF_LOADER_UPGRADEABLE_ID,
                )
            ),
            deploy_with_max_data_len(payer_key, program_key, buffer_key, authority_key, max_len),
        ],
        payer_key,
    )
