"""``UiAccount`` encodings: base58 (and legacy "binary"), base64, base64+zstd, jsonParsed.

No zstd library ships with Python 3.11, so base64+zstd frames are written with raw
(stored) blocks: valid zstd that every decoder reads, just not smaller.
jsonParsed covers SPL Token / Token-2022 accounts and mints without extensions; anything
else falls back to base64, as agave does for data it cannot parse.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from localnet import spl
from localnet.b58 import b58encode
from localnet.rpc_errors import INVALID_REQUEST, RpcError, invalid_params

ENCODINGS = frozenset({"binary", "base58", "base64", "base64+zstd", "jsonParsed"})
MAX_BASE58_BYTES = 128
_ZSTD_MAGIC = 0xFD2FB528
_ZSTD_MAX_BLOCK = 128 * 1024


def zstd_stored(data: bytes) -> bytes:
    """A zstd frame holding ``data`` in raw blocks (single segment, 8-byte content size)."""
    out = bytearray(struct.pack("<IB", _ZSTD_MAGIC, 0xE0))
    out += struct.pack("<Q", len(data))
    chunks = [data[i : i + _ZSTD_MAX_BLOCK] for i in range(0, len(data), _ZSTD_MAX_BLOCK)] or [b""]
    for n, chunk in enumerate(chunks):
        last = 1 if n == len(chunks) - 1 else 0
        header = last | (0 << 1) | (len(chunk) << 3)
        out += header.to_bytes(3, "little") + chunk
    return bytes(out)


def check_encoding(encoding: str, data_slice: tuple[int, int] | None) -> None:
    if encoding not in ENCODINGS:
        raise invalid_params(
            f"Invalid params: unknown variant `{encoding}`, expected one of `binary`, "
            "`base58`, `base64`, `jsonParsed`, `base64+zstd`."
        )
    if encoding == "jsonParsed" and data_slice is not None:
        raise invalid_params(
            "Sliced account data can only be encoded using binary (base 58) or base64 encoding."
        )


def parse_data_slice(config: dict[str, Any]) -> tuple[int, int] | None:
    raw = config.get("dataSlice")
    if raw is None:
        return None
    try:
        offset, length = int(raw["offset"]), int(raw["length"])
    except (KeyError, TypeError, ValueError):
        raise invalid_params("Invalid params: dataSlice needs offset and length.") from None
    return offset, length


def _pubkey_or_none(key: Pubkey | None) -> str | None:
    return None if key is None else str(key)


def parsed_token_data(owner: Pubkey, data: bytes, mint_decimals: int | None) -> Any:
    """agave's jsonParsed shape for a plain token account or mint, else None."""
    program = "spl-token" if owner == spl.TOKEN_PROGRAM_ID else "spl-token-2022"
    if len(data) == spl.ACCOUNT_LEN and spl.is_token_account_data(owner, data):
        if mint_decimals is None:
            return None
        acc = spl.parse_token_account(data)
        info: dict[str, Any] = {
            "isNative": acc.is_native is not None,
            "mint": str(acc.mint),
            "owner": str(acc.owner),
            "state": {1: "initialized", 2: "frozen"}.get(acc.state, "uninitialized"),
            "tokenAmount": spl.ui_token_amount(acc.amount, mint_decimals),
        }
        if acc.delegate is not None:
            info["delegate"] = str(acc.delegate)
            info["delegatedAmount"] = spl.ui_token_amount(acc.delegated_amount, mint_decimals)
        if acc.is_native is not None:
            info["rentExemptReserve"] = spl.ui_token_amount(acc.is_native, mint_decimals)
        if acc.close_authority is not None:
            info["closeAuthority"] = str(acc.close_authority)
        return {"program": program, "parsed": {"info": info, "type": "account"}, "space": len(data)}
    if len(data) == spl.MINT_LEN and spl.is_mint_data(owner, data):
        mint = spl.parse_mint(data)
        return {
            "program": program,
            "parsed": {
                "info": {
                    "decimals": mint.decimals,
                    "freezeAuthority": _pubkey_or_none(mint.freeze_authority),
                    "isInitialized": mint.is_initialized,
                    "mintAuthority": _pubkey_or_none(mint.mint_authority),
                    "supply": str(mint.supply),
                },
                "type": "mint",
            },
            "space": len(data),
        }
    return None


def encode_account(
    account: Account,
    encoding: str,
    data_slice: tuple[int, int] | None = None,
    mint_decimals: int | None = None,
) -> dict[str, Any]:
    """``UiAccount``. ``mint_decimals`` is needed to jsonParse a token account."""
    data = bytes(account.data)
    body: Any = None
    if encoding == "jsonParsed" and account.owner in spl.TOKEN_PROGRAMS:
        body = parsed_token_data(account.owner, data, mint_decimals)
    if body is None:
        if data_slice is not None:
            offset, length = data_slice
            data = data[offset : offset + length]
        if encoding in ("binary", "base58"):
            if len(data) > MAX_BASE58_BYTES:
                raise RpcError(
                    INVALID_REQUEST,
                    f"Encoded binary (base 58) data should be less than {MAX_BASE58_BYTES} "
                    "bytes, please use Base64 encoding.",
                )
            body = b58encode(data) if encoding == "binary" else [b58encode(data), "base58"]
        elif encoding == "base64+zstd":
            body = [base64.b64encode(zstd_stored(data)).decode(), "base64+zstd"]
        else:
            body = [base64.b64encode(data).decode(), "base64"]
    return {
        "lamports": account.lamports,
        "data": body,
        "owner": str(account.owner),
        "executable": account.executable,
        "rentEpoch": account.rent_epoch,
        "space": len(account.data),
    }
