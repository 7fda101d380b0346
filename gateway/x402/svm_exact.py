"""The "exact" scheme on Solana: what the signed transaction must be, decoded and checked here.

The layout (x402 ``scheme_exact_svm``, as facilitators enforce it): SetComputeUnitLimit,
SetComputeUnitPrice (at most 5 lamports per CU), TransferChecked on SPL Token or Token-2022 from
the payer's account to **ATA(payTo, asset)**, then up to three Memo / Lighthouse instructions.
The fee payer is the facilitator: it appears in no instruction and is not the transfer
authority; its signature slot is left empty for it to fill. No address lookup tables.

The payment id is the SHA-256 of the signed message: the same signed transaction presented twice
has the same id (a replay); a new signature over a new memo or blockhash is a new payment.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from solders.compute_budget import ID as COMPUTE_BUDGET_PROGRAM_ID
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.message import Message, MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import SanitizeError, VersionedTransaction
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from spl.token.instructions import decode_transfer_checked, get_associated_token_address

from gateway.x402.errors import MalformedPaymentHeader, PaymentMismatch
from gateway.x402.headers import PresentedPayment
from gateway.x402.terms import EXACT, PaymentTerms

MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
LIGHTHOUSE_PROGRAM_ID = Pubkey.from_string("L2TExMFKdjpN9kozasaurPirfHy9P8sbXoAN1qA3S95")
TOKEN_PROGRAMS = (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)
MAX_COMPUTE_UNIT_PRICE_MICROLAMPORTS = 5_000_000  # 5 lamports per CU, the facilitators' cap
_SET_COMPUTE_UNIT_LIMIT = 2
_SET_COMPUTE_UNIT_PRICE = 3
_TRANSFER_CHECKED = 12
_OPTIONAL_PROGRAMS = (MEMO_PROGRAM_ID, LIGHTHOUSE_PROGRAM_ID)


@dataclass(frozen=True)
class ExactSvmTransfer:
    """The facts of one exact-scheme payment transaction."""

    payment_id: str
    fee_payer: Pubkey
    payer: Pubkey  # the transfer authority (owner of the source account)
    source: Pubkey
    destination: Pubkey
    mint: Pubkey
    amount: int
    decimals: int
    token_program: Pubkey
    compute_unit_limit: int
    compute_unit_price: int  # micro-lamports per CU
    memo: str | None
    blockhash: Hash


def _undecodable(why: str) -> MalformedPaymentHeader:
    return MalformedPaymentHeader(
        f"payment transaction could not be decoded: {why}",
        reason="invalid_exact_svm_payload_transaction_could_not_be_decoded",
    )


def _layout(why: str, reason: str) -> PaymentMismatch:
    return PaymentMismatch(f"payment transaction layout: {why}", reason=reason)


def _decompile(message: Message | MessageV0) -> list[Instruction]:
    keys = message.account_keys
    out: list[Instruction] = []
    for ix in message.instructions:
        try:
            program = keys[ix.program_id_index]
            metas = [AccountMeta(keys[i], False, False) for i in bytes(ix.accounts)]
        except IndexError:
            raise _undecodable("an instruction names an account index out of range") from None
        out.append(Instruction(program, bytes(ix.data), metas))
    return out


def _compute_limit(ix: Instruction) -> int:
    data = bytes(ix.data)
    if (
        ix.program_id != COMPUTE_BUDGET_PROGRAM_ID
        or len(data) != 5
        or data[0] != _SET_COMPUTE_UNIT_LIMIT
    ):
        raise _layout(
            "instruction 1 must be SetComputeUnitLimit",
            "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction",
        )
    return int(struct.unpack_from("<I", data, 1)[0])


def _compute_price(ix: Instruction) -> int:
    data = bytes(ix.data)
    if (
        ix.program_id != COMPUTE_BUDGET_PROGRAM_ID
        or len(data) != 9
        or data[0] != _SET_COMPUTE_UNIT_PRICE
    ):
        raise _layout(
            "instruction 2 must be SetComputeUnitPrice",
            "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction",
        )
    price = int(struct.unpack_from("<Q", data, 1)[0])
    if price > MAX_COMPUTE_UNIT_PRICE_MICROLAMPORTS:
        raise _layout(
            f"compute unit price {price} micro-lamports is above 5 lamports per CU",
            "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction_too_high",
        )
    return price


def decode_exact_svm_transaction(transaction_b64: str) -> ExactSvmTransfer:
    """Decode and check the layout of a base64 wire transaction (not yet the terms)."""
    try:
        raw = base64.b64decode(transaction_b64, validate=True)
        tx = VersionedTransaction.from_bytes(raw)
        tx.sanitize()
    except (binascii.Error, ValueError, SanitizeError) as exc:
        raise _undecodable(str(exc) or type(exc).__name__) from None
    if len(tx.signatures) != tx.message.header.num_required_signatures:
        raise _undecodable("the signature count differs from the message's signer count")
    message = tx.message
    if not isinstance(message, Message | MessageV0):
        raise _undecodable(f"unsupported message version {type(message).__name__}")
    if isinstance(message, MessageV0) and message.address_table_lookups:
        raise _layout("address lookup tables are not accepted", "invalid_exact_svm_payload_alt")
    keys = message.account_keys
    signed_bytes = to_bytes_versioned(message)
    ixs = _decompile(message)
    if not 3 <= len(ixs) <= 6:
        raise _layout(
            f"{len(ixs)} instructions (3 to 6 expected)",
            "invalid_exact_svm_payload_transaction_instructions_length",
        )
    limit = _compute_limit(ixs[0])
    price = _compute_price(ixs[1])
    transfer_ix = ixs[2]
    data = bytes(transfer_ix.data)
    if transfer_ix.program_id not in TOKEN_PROGRAMS or not data or data[0] != _TRANSFER_CHECKED:
        raise _layout(
            "instruction 3 must be a TransferChecked",
            "invalid_exact_svm_payload_no_transfer_instruction",
        )
    try:
        transfer = decode_transfer_checked(transfer_ix)
    except Exception as exc:  # construct's parse errors have no common public base
        raise _layout(
            f"TransferChecked: {exc}", "invalid_exact_svm_payload_no_transfer_instruction"
        ) from None
    memo: str | None = None
    for i, ix in enumerate(ixs[3:], start=4):
        if ix.program_id not in _OPTIONAL_PROGRAMS:
            raise _layout(
                f"instruction {i} ({ix.program_id}) is neither a Memo nor Lighthouse",
                "invalid_exact_svm_payload_unknown_optional_instruction",
            )
        if ix.program_id == MEMO_PROGRAM_ID:
            if memo is not None:
                raise _layout("more than one memo", "invalid_exact_svm_payload_memo_count")
            try:
                memo = bytes(ix.data).decode("utf-8")
            except UnicodeDecodeError:
                raise _layout(
                    "memo is not UTF-8", "invalid_exact_svm_payload_memo_mismatch"
                ) from None
    fee_payer = keys[0]
    for ix in ixs:
        if fee_payer == ix.program_id or any(m.pubkey == fee_payer for m in ix.accounts):
            raise _layout(
                "the fee payer appears in an instruction",
                "invalid_exact_svm_payload_transaction_fee_payer_included_in_instruction_accounts",
            )
    signers = keys[: message.header.num_required_signatures]
    if transfer.owner not in signers or transfer.owner == fee_payer:
        raise _layout(
            "the transfer authority must sign and must not be the fee payer",
            "invalid_exact_svm_payload_transaction_fee_payer_transferring_funds",
        )
    signature = tx.signatures[signers.index(transfer.owner)]
    if not signature.verify(transfer.owner, signed_bytes):
        raise _layout(
            "the transfer authority's signature does not verify",
            "invalid_exact_svm_payload_transaction_signature",
        )
    for i, key in enumerate(signers[1:], start=1):
        if key != transfer.owner and tx.signatures[i] == Signature.default():
            raise _layout(
                f"signer {key} did not sign", "invalid_exact_svm_payload_transaction_signature"
            )
    return ExactSvmTransfer(
        payment_id=hashlib.sha256(signed_bytes).hexdigest(),
        fee_payer=fee_payer,
        payer=transfer.owner,
        source=transfer.source,
        destination=transfer.dest,
        mint=transfer.mint,
        amount=transfer.amount,
        decimals=transfer.decimals,
        token_program=transfer.program_id,
        compute_unit_limit=limit,
        compute_unit_price=price,
        memo=memo,
        blockhash=message.recent_blockhash,
    )


def check_transfer(transfer: ExactSvmTransfer, terms: PaymentTerms) -> None:
    """Raise :class:`PaymentMismatch` unless the transfer pays exactly these terms."""
    if transfer.mint != terms.asset:
        raise PaymentMismatch(
            f"pays in mint {transfer.mint}, the price is in {terms.asset}",
            reason="invalid_exact_svm_payload_mint_mismatch",
        )
    expected = get_associated_token_address(terms.pay_to, terms.asset, transfer.token_program)
    if transfer.destination != expected:
        raise PaymentMismatch(
            f"pays into {transfer.destination}, not ATA(payTo, asset) = {expected}",
            reason="invalid_exact_svm_payload_recipient_mismatch",
        )
    if transfer.amount != terms.amount:
        raise PaymentMismatch(
            f"pays {transfer.amount}, the price is {terms.amount}",
            reason="invalid_exact_svm_payload_amount_mismatch",
        )
    if transfer.fee_payer != terms.fee_payer:
        raise PaymentMismatch(
            f"fee payer {transfer.fee_payer} is not the facilitator's {terms.fee_payer}",
            reason="fee_payer_not_managed_by_facilitator",
        )
    if terms.memo is not None and transfer.memo != terms.memo:
        raise PaymentMismatch(
            "memo differs from extra.memo", reason="invalid_exact_svm_payload_memo_mismatch"
        )


@dataclass(frozen=True)
class InspectedPayment:
    """What the rail needs from any mechanism: the replay key, who paid, how much."""

    payment_id: str
    payer: str
    amount: int


class ExactSvmMechanism:
    """The exact scheme on Solana, written here (the ``x402`` package's SVM mechanism needs
    solana < 0.40; when its pin lifts it can take this place behind :class:`PaymentMechanism`)."""

    scheme = EXACT

    def inspect(self, payment: PresentedPayment, terms: PaymentTerms) -> InspectedPayment:
        transfer = decode_exact_svm_transaction(payment.transaction)
        check_transfer(transfer, terms)
        return InspectedPayment(transfer.payment_id, str(transfer.payer), transfer.amount)
