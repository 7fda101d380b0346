"""Building and signing the exact-scheme payment transaction (the paying side of svm_exact).

A v0 transaction whose fee payer is the facilitator (``extra.feePayer``; its signature slot is
left empty for it to sign), with SetComputeUnitLimit, SetComputeUnitPrice (≤ 5 lamports/CU),
TransferChecked from the payer's ATA to ATA(payTo, asset), and a Memo (``extra.memo``, or 16
random bytes in hex so that two payments of the same price are two different transactions).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import get_associated_token_address, transfer_checked
from spl.token.models import TransferCheckedParams

from gateway.x402.svm_exact import MAX_COMPUTE_UNIT_PRICE_MICROLAMPORTS, MEMO_PROGRAM_ID

DEFAULT_COMPUTE_UNIT_LIMIT = 20_000  # what @x402/svm's client asks for
DEFAULT_COMPUTE_UNIT_PRICE = 1  # micro-lamports per CU


@dataclass(frozen=True)
class ExactPayment:
    """What to pay: ``amount`` base units of ``asset`` to ATA(``pay_to``, ``asset``)."""

    asset: Pubkey
    amount: int
    pay_to: Pubkey
    fee_payer: Pubkey
    decimals: int
    token_program: Pubkey = TOKEN_PROGRAM_ID
    memo: str | None = None


def build_payment_transaction(
    payer: Keypair,
    payment: ExactPayment,
    blockhash: Hash,
    *,
    compute_unit_limit: int = DEFAULT_COMPUTE_UNIT_LIMIT,
    compute_unit_price: int = DEFAULT_COMPUTE_UNIT_PRICE,
    destination: Pubkey | None = None,
) -> VersionedTransaction:
    """Sign the payment with ``payer`` (the facilitator co-signs as fee payer).

    ``destination`` overrides ATA(payTo, asset): only tests use it, to show it is refused.
    """
    if not 0 <= compute_unit_price <= MAX_COMPUTE_UNIT_PRICE_MICROLAMPORTS:
        raise ValueError("compute unit price must be at most 5 lamports per CU")
    if payment.fee_payer == payer.pubkey():
        raise ValueError("the payer cannot be the facilitator's fee payer")
    mint, program = payment.asset, payment.token_program
    memo = payment.memo if payment.memo is not None else secrets.token_hex(16)
    instructions = [
        set_compute_unit_limit(compute_unit_limit),
        set_compute_unit_price(compute_unit_price),
        transfer_checked(
            TransferCheckedParams(
                program_id=program,
                source=get_associated_token_address(payer.pubkey(), mint, program),
                mint=mint,
                dest=destination or get_associated_token_address(payment.pay_to, mint, program),
                owner=payer.pubkey(),
                amount=payment.amount,
                decimals=payment.decimals,
            )
        ),
        Instruction(MEMO_PROGRAM_ID, memo.encode("utf-8"), []),
    ]
    message = MessageV0.try_compile(payment.fee_payer, instructions, [], blockhash)
    signature = payer.sign_message(to_bytes_versioned(message))
    signers = message.account_keys[: message.header.num_required_signatures]
    signatures = [signature if key == payer.pubkey() else Signature.default() for key in signers]
    return VersionedTransaction.populate(message, signatures)


def encode_transaction(tx: VersionedTransaction) -> str:
    return base64.b64encode(bytes(tx)).decode("ascii")
