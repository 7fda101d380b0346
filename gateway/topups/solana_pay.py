"""Finding and validating a Solana Pay transfer (the spec's ``findReference`` and
``validateTransfer``): the wallet adds the request's ``reference`` as a read-only,
non-signer key to the SPL ``Transfer`` / ``TransferChecked`` instruction paying the
recipient's associated token account; the gateway finds it with ``getSignaturesForAddress``
and checks the landed transaction before crediting.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote, urlencode

from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from spl.token.instructions import get_associated_token_address

from bourse_chain.client import BourseClient

TRANSFER = 3
TRANSFER_CHECKED = 12


class InvalidTransfer(Exception):
    """The transaction found is not a valid payment of this request."""


@dataclass(frozen=True)
class Request:
    recipient: Pubkey
    mint: Pubkey
    token_program: Pubkey
    amount: int  # base units
    reference: Pubkey


@dataclass(frozen=True)
class Payment:
    signature: str
    received: int


def transfer_url(req: Request, decimals: int, label: str, message: str) -> str:
    ui = Decimal(req.amount).scaleb(-decimals).normalize()
    params = {
        "amount": f"{ui:f}",
        "spl-token": str(req.mint),
        "reference": str(req.reference),
        "label": label,
        "message": message,
    }
    return f"solana:{req.recipient}?{urlencode(params, quote_via=quote)}"


async def find(client: BourseClient, reference: Pubkey) -> list[Signature]:
    """Successful transactions naming ``reference``, oldest first."""
    sigs = await client.signatures_for_address(reference, limit=100)
    return [s for s, ok in reversed(sigs) if ok]


async def validate(client: BourseClient, req: Request, signature: Signature) -> Payment:
    resp = await client.rpc.get_transaction(
        signature,
        encoding="base64",
        commitment=client.commitment,
        max_supported_transaction_version=0,
    )
    value = resp.value
    if value is None or value.transaction.meta is None:
        raise InvalidTransfer(f"transaction {signature} not found")
    meta = value.transaction.meta
    if meta.err is not None:
        raise InvalidTransfer(f"transaction {signature} failed: {meta.err}")
    tx = value.transaction.transaction
    if not isinstance(tx, VersionedTransaction):
        raise InvalidTransfer("undecodable transaction")
    msg = tx.message
    keys = list(msg.account_keys)
    destination = get_associated_token_address(req.recipient, req.mint, req.token_program)
    transfer = None
    for ci in msg.instructions:
        accounts = [keys[i] for i in bytes(ci.accounts)]
        if req.reference in accounts:
            transfer = (keys[ci.program_id_index], bytes(ci.data), accounts)
    if transfer is None:
        raise InvalidTransfer("no instruction carries the reference")
    program, data, accounts = transfer
    if program not in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID) or not data:
        raise InvalidTransfer("the reference is not on an SPL token transfer")
    if data[0] == TRANSFER_CHECKED and len(data) >= 10:
        mint, dest = accounts[1], accounts[2]
        if mint != req.mint:
            raise InvalidTransfer(f"wrong mint {mint}")
    elif data[0] == TRANSFER and len(data) >= 9:
        dest = accounts[1]
    else:
        raise InvalidTransfer("the reference is not on a Transfer / TransferChecked")
    (amount,) = struct.unpack_from("<Q", data, 1)
    if dest != destination:
        raise InvalidTransfer(f"wrong recipient: paid {dest}, expected {destination}")
    received = _delta(meta, keys.index(dest), req.mint)
    if received is None:
        raise InvalidTransfer("wrong mint: the destination holds another token")
    if received < req.amount or amount < req.amount:
        raise InvalidTransfer(f"amount {received} is less than the requested {req.amount}")
    return Payment(str(signature), received)


def _delta(meta: object, index: int, mint: Pubkey) -> int | None:
    def amount(balances: object) -> int | None:
        for b in balances or []:  # type: ignore[attr-defined]
            if b.account_index == index:
                if b.mint != mint:
                    return None
                return int(b.ui_token_amount.amount)
        return 0

    pre = amount(getattr(meta, "pre_token_balances", None))
    post = amount(getattr(meta, "post_token_balances", None))
    if pre is None or post is None:
        return None
    return post - pre
