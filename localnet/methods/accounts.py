"""getAccountInfo, getMultipleAccounts, getProgramAccounts, getBalance, rent."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from localnet import spl
from localnet.account_encoding import check_encoding, encode_account, parse_data_slice
from localnet.b58 import b58decode
from localnet.chain import Chain
from localnet.methods.common import checked_config, registry, with_context
from localnet.params import Params, parse_pubkey
from localnet.rpc_errors import invalid_params

METHODS, method = registry()

MAX_MULTIPLE_ACCOUNTS = 100
MAX_GET_PROGRAM_ACCOUNT_FILTERS = 4
MAX_MEMCMP_BYTES = 128
MAX_MEMCMP_BASE58 = 175


def ui_account(
    chain: Chain,
    account: Account,
    encoding: str,
    data_slice: tuple[int, int] | None,
) -> dict[str, Any]:
    decimals = None
    if encoding == "jsonParsed" and account.owner in spl.TOKEN_PROGRAMS:
        data = bytes(account.data)
        if spl.is_token_account_data(account.owner, data):
            decimals = chain.mint_decimals(spl.parse_token_account(data).mint)
    return encode_account(account, encoding, data_slice, decimals)


def _encoding(config: dict[str, Any], default: str) -> tuple[str, tuple[int, int] | None]:
    encoding = config.get("encoding") or default
    data_slice = parse_data_slice(config)
    check_encoding(encoding, data_slice)
    return encoding, data_slice


@method("getAccountInfo")
def get_account_info(chain: Chain, p: Params) -> Any:
    key = p.pubkey(0)
    config = checked_config(chain, p, 1)
    encoding, data_slice = _encoding(config, "binary")
    account = chain.get_account(key)
    value = None if account is None else ui_account(chain, account, encoding, data_slice)
    return with_context(chain, value)


@method("getMultipleAccounts")
def get_multiple_accounts(chain: Chain, p: Params) -> Any:
    keys = p.str_list(0, "pubkeys")
    if len(keys) > MAX_MULTIPLE_ACCOUNTS:
        raise invalid_params(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
    pubkeys = [parse_pubkey(k) for k in keys]
    config = checked_config(chain, p, 1)
    encoding, data_slice = _encoding(config, "base64")
    values = []
    for key in pubkeys:
        account = chain.get_account(key)
        values.append(None if account is None else ui_account(chain, account, encoding, data_slice))
    return with_context(chain, values)


@method("getBalance")
def get_balance(chain: Chain, p: Params) -> Any:
    key = p.pubkey(0)
    checked_config(chain, p, 1)
    account = chain.get_account(key)
    return with_context(chain, 0 if account is None else account.lamports)


@method("getMinimumBalanceForRentExemption")
def get_minimum_balance_for_rent_exemption(chain: Chain, p: Params) -> Any:
    size = p.u64(0, "data length")
    p.config(1)
    return chain.minimum_balance_for_rent_exemption(size)


def _memcmp_bytes(memcmp: Any) -> tuple[int, bytes]:
    if not isinstance(memcmp, dict) or "offset" not in memcmp or "bytes" not in memcmp:
        raise invalid_params("Invalid params: memcmp needs offset and bytes.")
    offset, text = memcmp["offset"], memcmp["bytes"]
    encoding = memcmp.get("encoding") or "base58"
    if not isinstance(offset, int) or not isinstance(text, str):
        raise invalid_params("Invalid params: invalid memcmp filter.")
    try:
        if encoding == "base58":
            if len(text) > MAX_MEMCMP_BASE58:
                raise invalid_params("Invalid param: Base58DataTooLarge")
            raw = b58decode(text)
        elif encoding == "base64":
            raw = base64.b64decode(text, validate=True)
        else:
            raise invalid_params(f"Invalid params: unknown memcmp encoding `{encoding}`.")
    except (ValueError, binascii.Error):
        raise invalid_params(f"Invalid param: DecodeError({encoding})") from None
    if len(raw) > MAX_MEMCMP_BYTES:
        raise invalid_params("Invalid param: DataTooLarge")
    return offset, raw


def compile_filters(filters: Any) -> list[tuple[str, Any]]:
    """Validate getProgramAccounts filters into ``(kind, arg)`` pairs."""
    if filters is None:
        return []
    if not isinstance(filters, list):
        raise invalid_params("Invalid params: filters must be a list.")
    if len(filters) > MAX_GET_PROGRAM_ACCOUNT_FILTERS:
        raise invalid_params(f"Too many filters provided; max {MAX_GET_PROGRAM_ACCOUNT_FILTERS}")
    out: list[tuple[str, Any]] = []
    for item in filters:
        if isinstance(item, dict) and "dataSize" in item:
            out.append(("dataSize", int(item["dataSize"])))
        elif isinstance(item, dict) and "memcmp" in item:
            out.append(("memcmp", _memcmp_bytes(item["memcmp"])))
        elif isinstance(item, dict) and "tokenAccountState" in item:
            out.append(("tokenAccountState", None))
        else:
            raise invalid_params(f"Invalid params: unknown filter {item!r}.")
    return out


def matches(owner: Pubkey, data: bytes, filters: list[tuple[str, Any]]) -> bool:
    for kind, arg in filters:
        if kind == "dataSize" and len(data) != arg:
            return False
        if kind == "memcmp":
            offset, raw = arg
            if data[offset : offset + len(raw)] != raw:
                return False
        if kind == "tokenAccountState" and not spl.is_token_account_data(owner, data):
            return False
    return True


@method("getProgramAccounts")
def get_program_accounts(chain: Chain, p: Params) -> Any:
    program = p.pubkey(0, "program id")
    config = checked_config(chain, p, 1)
    encoding, data_slice = _encoding(config, "binary")
    filters = compile_filters(config.get("filters"))
    found = [
        {"pubkey": str(key), "account": ui_account(chain, account, encoding, data_slice)}
        for key, account in chain.program_accounts(program)
        if matches(account.owner, bytes(account.data), filters)
    ]
    return with_context(chain, found) if config.get("withContext") else found
