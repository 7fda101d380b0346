"""Parsing JSON-RPC positional params the way agave validates them."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import SanitizeError, VersionedTransaction

from localnet.b58 import b58decode
from localnet.rpc_errors import MIN_CONTEXT_SLOT_NOT_REACHED, RpcError, invalid_params

COMMITMENTS = frozenset(
    {"processed", "confirmed", "finalized", "recent", "single", "singleGossip", "root", "max"}
)
PACKET_DATA_SIZE = 1232
MAX_BASE58_TX = 1683
MAX_BASE64_TX = 1644
_TX_TYPE = "solana_transaction::versioned::VersionedTransaction"


class Params:
    """Positional params with typed accessors raising ``-32602`` like the real RPC."""

    def __init__(self, raw: list[Any]) -> None:
        self.raw = raw

    def __len__(self) -> int:
        return len(self.raw)

    def get(self, index: int) -> Any:
        return self.raw[index] if index < len(self.raw) else None

    def required(self, index: int, what: str) -> Any:
        if index >= len(self.raw) or self.raw[index] is None:
            raise invalid_params(f"Invalid params: missing {what}.")
        return self.raw[index]

    def pubkey(self, index: int, what: str = "pubkey") -> Pubkey:
        return parse_pubkey(self.required(index, what))

    def signature(self, index: int) -> Signature:
        return parse_signature(self.required(index, "signature"))

    def u64(self, index: int, what: str) -> int:
        value = self.required(index, what)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise invalid_params(f"Invalid params: invalid type for {what}, expected u64.")
        return value

    def str_list(self, index: int, what: str) -> list[str]:
        value = self.required(index, what)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid_params(f"Invalid params: invalid type for {what}, expected a sequence.")
        return value

    def config(self, index: int) -> dict[str, Any]:
        value = self.get(index)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise invalid_params("Invalid params: invalid type: expected a config map.")
        commitment = value.get("commitment")
        if commitment is not None and commitment not in COMMITMENTS:
            raise invalid_params(
                f"Invalid params: unknown variant `{commitment}`, expected one of "
                "`processed`, `confirmed`, `finalized`."
            )
        return value


def parse_pubkey(value: Any) -> Pubkey:
    if not isinstance(value, str):
        raise invalid_params("Invalid param: Invalid")
    try:
        return Pubkey.from_string(value)
    except ValueError:
        raise invalid_params("Invalid param: Invalid") from None


def parse_signature(value: Any) -> Signature:
    if not isinstance(value, str):
        raise invalid_params("Invalid param: Invalid")
    try:
        return Signature.from_string(value)
    except ValueError:
        raise invalid_params("Invalid param: Invalid") from None


def parse_hash(value: Any) -> Hash:
    if not isinstance(value, str):
        raise invalid_params("Invalid param: Invalid")
    try:
        return Hash.from_string(value)
    except ValueError:
        raise invalid_params("Invalid param: Invalid") from None


def check_min_context_slot(config: dict[str, Any], slot: int) -> None:
    wanted = config.get("minContextSlot")
    if isinstance(wanted, int) and wanted > slot:
        raise RpcError(
            MIN_CONTEXT_SLOT_NOT_REACHED,
            "Minimum context slot has not been reached",
            {"contextSlot": slot},
        )


def decode_payload(text: Any, encoding: str, limits: tuple[int, int], what: str) -> bytes:
    """Base58/base64 text -> bytes with the RPC's size checks and messages."""
    if not isinstance(text, str):
        raise invalid_params("Invalid params: invalid type: expected a string.")
    b58_max, b64_max = limits
    if encoding == "base58":
        if len(text) > b58_max:
            raise invalid_params(
                f"base58 encoded {what} too large: {len(text)} bytes "
                f"(max: encoded/raw {b58_max}/{PACKET_DATA_SIZE})"
            )
        try:
            raw = b58decode(text)
        except ValueError as exc:
            raise invalid_params(f"invalid base58 encoding: {exc}") from None
    elif encoding == "base64":
        if len(text) > b64_max:
            raise invalid_params(
                f"base64 encoded {what} too large: {len(text)} bytes "
                f"(max: encoded/raw {b64_max}/{PACKET_DATA_SIZE})"
            )
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise invalid_params(f"invalid base64 encoding: {exc}") from None
    else:
        raise invalid_params(
            f"unsupported encoding: {encoding}. Supported encodings: base58, base64"
        )
    if len(raw) > PACKET_DATA_SIZE:
        raise invalid_params(
            f"decoded {what} too large: {len(raw)} bytes (max: {PACKET_DATA_SIZE} bytes)"
        )
    return raw


def decode_transaction(text: Any, encoding: str) -> VersionedTransaction:
    raw = decode_payload(text, encoding, (MAX_BASE58_TX, MAX_BASE64_TX), _TX_TYPE)
    try:
        tx = VersionedTransaction.from_bytes(raw)
    except (ValueError, TypeError) as exc:
        raise invalid_params(f"failed to deserialize {_TX_TYPE}: {exc}") from None
    try:
        tx.sanitize()
    except SanitizeError:
        raise invalid_params(
            "invalid transaction: Transaction failed to sanitize accounts offsets correctly"
        ) from None
    return tx
