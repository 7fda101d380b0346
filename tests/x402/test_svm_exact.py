"""The exact-scheme transaction: what our client signs decodes to the same facts; every layout a
facilitator refuses is refused here, before any facilitator call, with its reason."""

from __future__ import annotations

import base64
import contextlib
import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from spl.token.instructions import get_associated_token_address

from gateway.x402 import (
    LOCALNET,
    MalformedPaymentHeader,
    PaymentMismatch,
    PaymentTerms,
    decode_exact_svm_transaction,
)
from gateway.x402.payment_tx import ExactPayment, build_payment_transaction, encode_transaction
from gateway.x402.svm_exact import MEMO_PROGRAM_ID, check_transfer

PAYER = Keypair()
FEE_PAYER = Keypair().pubkey()
MINT = Keypair().pubkey()
PAY_TO = Pubkey.find_program_address([b"x402-inbox", b"m"], TOKEN_PROGRAM_ID)[0]  # off curve
PAYMENT = ExactPayment(asset=MINT, amount=12_345, pay_to=PAY_TO, fee_payer=FEE_PAYER, decimals=6)
BLOCKHASH = Hash.new_unique()


def signed(payment: ExactPayment = PAYMENT, **build: object) -> str:
    tx = build_payment_transaction(PAYER, payment, BLOCKHASH, **build)  # type: ignore[arg-type]
    return encode_transaction(tx)


def terms(**changes: object) -> PaymentTerms:
    base = PaymentTerms(
        network=LOCALNET,
        asset=MINT,
        amount=12_345,
        pay_to=PAY_TO,
        fee_payer=FEE_PAYER,
        resource="http://localhost/paid",
        description="test",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_what_the_client_signs_decodes_to_the_payment() -> None:
    transfer_ = decode_exact_svm_transaction(signed())
    assert transfer_.fee_payer == FEE_PAYER
    assert transfer_.payer == PAYER.pubkey()
    assert transfer_.source == get_associated_token_address(PAYER.pubkey(), MINT)
    assert transfer_.destination == get_associated_token_address(PAY_TO, MINT)
    assert (transfer_.mint, transfer_.amount, transfer_.decimals) == (MINT, 12_345, 6)
    assert transfer_.token_program == TOKEN_PROGRAM_ID
    assert (transfer_.compute_unit_limit, transfer_.compute_unit_price) == (20_000, 1)
    assert transfer_.memo is not None and len(bytes.fromhex(transfer_.memo)) == 16
    assert transfer_.blockhash == BLOCKHASH
    check_transfer(transfer_, terms())
    tx = VersionedTransaction.from_bytes(base64.b64decode(signed()))
    assert isinstance(tx.message, MessageV0)
    assert tx.signatures[0] == Signature.default()  # the facilitator's slot, left empty


def test_the_payment_id_names_one_signed_message() -> None:
    encoded = signed()
    assert decode_exact_svm_transaction(encoded).payment_id == (
        decode_exact_svm_transaction(encoded).payment_id
    )
    assert decode_exact_svm_transaction(signed()).payment_id != (
        decode_exact_svm_transaction(encoded).payment_id  # a fresh memo: a new payment
    )


def test_token_2022_pays_the_token_2022_ata() -> None:
    payment = dataclasses.replace(PAYMENT, token_program=TOKEN_2022_PROGRAM_ID)
    transfer_ = decode_exact_svm_transaction(signed(payment))
    assert transfer_.destination == get_associated_token_address(
        PAY_TO, MINT, TOKEN_2022_PROGRAM_ID
    )
    check_transfer(transfer_, terms())


@settings(max_examples=50, deadline=None)
@given(amount=st.integers(1, 2**64 - 1), memo=st.text(min_size=1, max_size=64))
def test_any_amount_and_memo_round_trip(amount: int, memo: str) -> None:
    payment = dataclasses.replace(PAYMENT, amount=amount, memo=memo)
    transfer_ = decode_exact_svm_transaction(signed(payment))
    assert (transfer_.amount, transfer_.memo) == (amount, memo)
    check_transfer(transfer_, terms(amount=amount, memo=memo))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amount": 12_344}, "invalid_exact_svm_payload_amount_mismatch"),
        ({"asset": Keypair().pubkey()}, "invalid_exact_svm_payload_mint_mismatch"),
        ({"pay_to": Keypair().pubkey()}, "invalid_exact_svm_payload_recipient_mismatch"),
        ({"fee_payer": Keypair().pubkey()}, "fee_payer_not_managed_by_facilitator"),
        ({"memo": "expected"}, "invalid_exact_svm_payload_memo_mismatch"),
    ],
)
def test_terms_the_transfer_does_not_pay_are_refused(
    changes: dict[str, object], reason: str
) -> None:
    with pytest.raises(PaymentMismatch) as refused:
        check_transfer(decode_exact_svm_transaction(signed()), terms(**changes))
    assert refused.value.reason == reason


def sign_raw(instructions: list[Instruction], *, sign: bool = True) -> str:
    message = MessageV0.try_compile(FEE_PAYER, instructions, [], BLOCKHASH)
    signature = PAYER.sign_message(to_bytes_versioned(message)) if sign else Signature.default()
    keys = message.account_keys[: message.header.num_required_signatures]
    sigs = [signature if k == PAYER.pubkey() else Signature.default() for k in keys]
    return base64.b64encode(bytes(VersionedTransaction.populate(message, sigs))).decode()


def good_instructions() -> list[Instruction]:
    tx = VersionedTransaction.from_bytes(base64.b64decode(signed()))
    message = tx.message
    assert isinstance(message, MessageV0)
    keys = message.account_keys
    return [
        Instruction(
            keys[ix.program_id_index],
            bytes(ix.data),
            [
                AccountMeta(keys[i], message.is_signer(i), message.is_maybe_writable(i))
                for i in bytes(ix.accounts)
            ],
        )
        for ix in message.instructions
    ]


def memo(data: bytes, *accounts: AccountMeta) -> Instruction:
    return Instruction(MEMO_PROGRAM_ID, data, list(accounts))


LIMIT, PRICE, TRANSFER, MEMO = range(4)


def variant(name: str) -> list[Instruction]:
    ixs = good_instructions()
    if name == "transfer_first":
        return [ixs[TRANSFER], ixs[LIMIT], ixs[PRICE], ixs[MEMO]]
    if name == "no_compute_price":
        return [ixs[LIMIT], ixs[TRANSFER], ixs[MEMO]]
    if name == "price_above_5_lamports":
        return [ixs[LIMIT], set_compute_unit_price(5_000_001), ixs[TRANSFER], ixs[MEMO]]
    if name == "too_many_instructions":
        return [*ixs, memo(b"a"), memo(b"b"), memo(b"c")]
    if name == "two_memos":
        return [*ixs, memo(b"again")]
    if name == "unknown_fourth":
        extra = transfer(TransferParams(from_pubkey=PAYER.pubkey(), to_pubkey=PAY_TO, lamports=1))
        return [*ixs[:3], extra]
    if name == "fee_payer_in_an_instruction":
        return [*ixs[:3], memo(b"m", AccountMeta(FEE_PAYER, True, False))]
    if name == "limit_is_a_price":
        return [set_compute_unit_price(1), set_compute_unit_limit(1), ixs[TRANSFER], ixs[MEMO]]
    raise AssertionError(name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("transfer_first", "compute_limit_instruction"),
        ("no_compute_price", "compute_price_instruction"),
        ("price_above_5_lamports", "compute_price_instruction_too_high"),
        ("too_many_instructions", "instructions_length"),
        ("two_memos", "memo_count"),
        ("unknown_fourth", "unknown_optional_instruction"),
        ("fee_payer_in_an_instruction", "fee_payer_included_in_instruction_accounts"),
        ("limit_is_a_price", "compute_limit_instruction"),
    ],
)
def test_layouts_facilitators_refuse_are_refused(name: str, reason: str) -> None:
    with pytest.raises(PaymentMismatch) as refused:
        decode_exact_svm_transaction(sign_raw(variant(name)))
    assert refused.value.reason.endswith(reason), refused.value.reason


def test_an_unsigned_transfer_is_refused() -> None:
    with pytest.raises(PaymentMismatch) as refused:
        decode_exact_svm_transaction(sign_raw(good_instructions(), sign=False))
    assert refused.value.reason == "invalid_exact_svm_payload_transaction_signature"


def test_a_signature_over_another_message_is_refused() -> None:
    good = VersionedTransaction.from_bytes(base64.b64decode(signed()))
    other = VersionedTransaction.from_bytes(base64.b64decode(signed()))  # another memo
    forged = VersionedTransaction.populate(good.message, list(other.signatures))
    with pytest.raises(PaymentMismatch, match="does not verify"):
        decode_exact_svm_transaction(base64.b64encode(bytes(forged)).decode())


@pytest.mark.parametrize(
    "text", ["", "%%%", base64.b64encode(b"\x00" * 3).decode(), "AAAA" * 40, "AQ" + "A" * 200]
)
def test_bytes_that_are_no_transaction_are_malformed(text: str) -> None:
    with pytest.raises(MalformedPaymentHeader) as refused:
        decode_exact_svm_transaction(text)
    assert refused.value.http_status == 400


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1300))
def test_random_bytes_raise_only_typed_errors(raw: bytes) -> None:
    with contextlib.suppress(MalformedPaymentHeader, PaymentMismatch):
        decode_exact_svm_transaction(base64.b64encode(raw).decode())
