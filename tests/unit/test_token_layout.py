"""bourse_chain.token_layout: the one SPL Token / Token-2022 decoder, against byte-exact
fixtures written field by field and against accounts the real Token-2022 program wrote."""

from __future__ import annotations

import struct

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from spl.token.instructions import (
    create_associated_token_account,
    get_associated_token_address,
)

from bourse_chain.mints import (
    TransferFeeSetup,
    spl_model_mint,
    token2022_model_mint,
    transfer_checked_with_fee,
)
from bourse_chain.token_layout import (
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    TokenDecodeError,
    TransferFee,
    TransferFeeConfig,
    account_withheld,
    associated_token_address,
    decode_mint,
    decode_token_account,
    encode_token_account,
    is_mint_data,
    is_token_account_data,
    mint_withheld,
    transfer_fee,
)
from tests.fakes.chain import Fee, key, spl_mint, t22_mint, token_account


def test_transfer_fee_math() -> None:
    fee = TransferFee(epoch=0, maximum_fee=50, basis_points=150)
    assert [fee.fee(a) for a in (0, 1, 66, 67, 10_000, 1_000_000)] == [0, 1, 1, 2, 50, 50]
    assert transfer_fee(10_000, 150, 50) == 50 and transfer_fee(67, 150, 50) == 2
    cfg = TransferFeeConfig(
        None, None, 0, older=TransferFee(0, 10**9, 100), newer=TransferFee(10, 10**9, 300)
    )
    assert cfg.fee(10_000, epoch=9) == 100
    assert cfg.fee(10_000, epoch=10) == 300
    assert cfg.fee(10_000, epoch=None) == 300  # unknown epoch: the larger


def test_decode_fixture_accounts() -> None:
    info = decode_mint(t22_mint(9, older=Fee(25, 1_000, 1), newer=Fee(75, 2_000, 7)))
    assert info.decimals == 9 and info.supply == 10**15
    assert info.transfer_fee == TransferFeeConfig(
        key("fee-config-authority"),
        key("withdraw-withheld-authority"),
        0,
        TransferFee(1, 1_000, 25),
        TransferFee(7, 2_000, 75),
    )
    assert info.received(10_000, epoch=7) == 10_000 - 75
    assert decode_mint(spl_mint(6)).transfer_fee is None
    assert decode_mint(t22_mint(6)).transfer_fee is None
    acc = decode_token_account(token_account(key("m"), key("o"), 123))
    assert (acc.mint, acc.owner, acc.amount, acc.state) == (key("m"), key("o"), 123, 1)
    assert (acc.delegate, acc.is_native, acc.close_authority, acc.withheld) == (None, None, None, 0)
    for bad in (b"", spl_mint()[:81], spl_mint() + b"\x00"):
        with pytest.raises(TokenDecodeError):
            decode_mint(bad)
    with pytest.raises(TokenDecodeError):
        decode_token_account(bytes(165))  # uninitialized


def _t22(base: bytes, account_type: int, *extensions: tuple[int, bytes]) -> bytes:
    data = bytearray(base.ljust(165, b"\0"))
    data.append(account_type)
    for kind, value in extensions:
        data += struct.pack("<HH", kind, len(value)) + value
    return bytes(data)


def test_withheld_fees_are_read_from_the_extensions() -> None:
    base = token_account(key("m"), key("o"), 1_000)
    # TransferFeeAmount (type 2) after another extension
    account = _t22(base, 2, (7, bytes(1)), (2, (4_321).to_bytes(8, "little")))
    assert account_withheld(account) == 4_321 == decode_token_account(account).withheld
    assert account_withheld(base) == 0  # no extensions
    assert account_withheld(_t22(base, 1, (2, bytes(8)))) == 0  # that is a mint's area
    config = bytes(64) + (99).to_bytes(8, "little") + bytes(36)
    assert mint_withheld(_t22(spl_mint(), 1, (1, config))) == 99
    assert mint_withheld(_t22(spl_mint(), 1, (3, bytes(32)))) == 0
    overrun = _t22(base, 2) + struct.pack("<HH", 2, 8) + bytes(4)
    assert account_withheld(overrun) == 0
    with pytest.raises(TokenDecodeError, match="overruns"):
        decode_token_account(overrun)


def test_recognition_follows_the_rpc_rules() -> None:
    acc, mint = token_account(key("m"), key("o"), 1), spl_mint()
    assert is_token_account_data(TOKEN_PROGRAM_ID, acc) and is_mint_data(TOKEN_PROGRAM_ID, mint)
    assert not is_token_account_data(key("other-program"), acc)
    assert not is_mint_data(TOKEN_PROGRAM_ID, acc) and not is_token_account_data(
        TOKEN_PROGRAM_ID, mint
    )
    # extensions only under Token-2022, and only with the matching account type byte
    t22_acc = _t22(acc, 2, (2, bytes(8)))
    assert is_token_account_data(TOKEN_2022_PROGRAM_ID, t22_acc)
    assert not is_token_account_data(TOKEN_PROGRAM_ID, t22_acc)
    assert is_mint_data(TOKEN_2022_PROGRAM_ID, t22_mint(6, newer=Fee(10)))
    assert not is_mint_data(TOKEN_2022_PROGRAM_ID, t22_acc)


def test_decode_what_the_real_token_2022_program_wrote() -> None:
    # Given a Token-2022 mint with a 1.5% fee (max 5,000), created by the real program
    svm = LiteSVM()
    payer, mint, bob = Keypair(), Keypair(), Keypair()
    svm.airdrop(payer.pubkey(), 10**10)
    mm = token2022_model_mint(
        payer.pubkey(),
        mint.pubkey(),
        payer.pubkey(),
        10**12,
        6,
        TransferFeeSetup(150, 5_000, key("withdrawer")),
    )
    bob_ata = associated_token_address(bob.pubkey(), mint.pubkey(), TOKEN_2022_PROGRAM_ID)
    create_bob = token2022_ata(payer.pubkey(), bob.pubkey(), mint.pubkey())
    send(svm, [*mm.instructions, create_bob], payer, mint)
    # When 100,000 base units move to bob with the exact fee
    fee = transfer_fee(100_000, 150, 5_000)
    send(
        svm,
        [
            transfer_checked_with_fee(
                mm.creator_token_account, mint.pubkey(), bob_ata, payer.pubkey(), 100_000, 6, fee
            )
        ],
        payer,
    )
    # Then the decoder reads the program's own layouts: mint, fee config, withheld fee
    info = decode_mint(data_of(svm, mint.pubkey()))
    assert (info.decimals, info.supply, info.mint_authority) == (6, 10**12, None)
    assert info.transfer_fee is not None
    assert info.transfer_fee.withdraw_withheld_authority == key("withdrawer")
    assert info.transfer_fee.newer == TransferFee(epoch=0, maximum_fee=5_000, basis_points=150)
    assert info.withheld == 0
    bob_acc = decode_token_account(data_of(svm, bob_ata))
    assert (bob_acc.owner, bob_acc.amount, bob_acc.withheld) == (bob.pubkey(), 100_000 - fee, fee)
    creator = decode_token_account(data_of(svm, mm.creator_token_account))
    assert (creator.amount, creator.withheld) == (10**12 - 100_000, 0)


def test_encoded_token_account_is_what_spl_token_writes() -> None:
    # Given an SPL Token account written by the real program
    svm = LiteSVM()
    payer, mint = Keypair(), Keypair()
    svm.airdrop(payer.pubkey(), 10**10)
    mm = spl_model_mint(payer.pubkey(), mint.pubkey(), payer.pubkey(), 777, 6)
    send(svm, mm.instructions, payer, mint)
    # Then the encoder writes the same bytes for the same fields
    written = data_of(svm, mm.creator_token_account)
    assert encode_token_account(mint.pubkey(), payer.pubkey(), 777) == written
    assert encode_token_account(key("m"), key("o"), 5) == token_account(key("m"), key("o"), 5)


def test_associated_token_address_matches_spl() -> None:
    owner, mint = key("owner"), key("mint")
    for program in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
        assert associated_token_address(owner, mint, program) == get_associated_token_address(
            owner, mint, program
        )


def token2022_ata(payer: Pubkey, owner: Pubkey, mint: Pubkey) -> Instruction:
    return create_associated_token_account(payer, owner, mint, TOKEN_2022_PROGRAM_ID)


def send(svm: LiteSVM, ixs: list[Instruction], payer: Keypair, *signers: Keypair) -> None:
    msg = Message.new_with_blockhash(ixs, payer.pubkey(), svm.latest_blockhash())
    result = svm.send_transaction(VersionedTransaction(msg, [payer, *signers]))
    assert not hasattr(result, "err"), result


def data_of(svm: LiteSVM, address: Pubkey) -> bytes:
    account = svm.get_account(address)
    assert account is not None
    return bytes(account.data)
