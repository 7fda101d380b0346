"""``bourse_*``: controls for tests, embedded backend only (a real validator has none)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from solders.account import Account

from localnet.chain import Chain
from localnet.methods.common import registry
from localnet.params import Params, parse_pubkey
from localnet.rpc_errors import invalid_params

METHODS, method = registry()


def clock_json(chain: Chain) -> dict[str, Any]:
    return {"slot": chain.slot, "epoch": chain.epoch, "unixTimestamp": chain.unix_timestamp}


def _optional_int(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid_params(f"Invalid params: {key} must be a non-negative integer.")
    return value


@method("bourse_getClock")
def get_clock(chain: Chain, p: Params) -> Any:
    return clock_json(chain)


@method("bourse_setClock")
def set_clock(chain: Chain, p: Params) -> Any:
    """``[{"unixTimestamp"?, "slot"?, "epoch"?}]`` -> the clock after the change."""
    raw = p.required(0, "clock")
    if not isinstance(raw, dict):
        raise invalid_params("Invalid params: expected {unixTimestamp, slot, epoch}.")
    try:
        chain.set_clock(
            unix_timestamp=_optional_int(raw, "unixTimestamp"),
            slot=_optional_int(raw, "slot"),
            epoch=_optional_int(raw, "epoch"),
        )
    except ValueError as exc:
        raise invalid_params(f"Invalid params: {exc}.") from None
    return clock_json(chain)


@method("bourse_warpTime")
def warp_time(chain: Chain, p: Params) -> Any:
    """``[seconds]`` or ``[{"seconds": n}]`` -> the clock after letting that much time pass."""
    seconds = p.required(0, "seconds")
    if isinstance(seconds, dict):
        seconds = seconds.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise invalid_params("Invalid params: seconds must be a non-negative number.")
    try:
        chain.warp_time(seconds)
    except (ValueError, OverflowError) as exc:
        raise invalid_params(f"Invalid params: {exc}.") from None
    return clock_json(chain)


@method("bourse_expireBlockhash")
def expire_blockhash(chain: Chain, p: Params) -> Any:
    """Invalidate every blockhash handed out so far; returns the new latest one."""
    chain.expire_blockhash()
    blockhash, last_valid = chain.latest_blockhash()
    return {"blockhash": str(blockhash), "lastValidBlockHeight": last_valid}


@method("bourse_setAccount")
def set_account(chain: Chain, p: Params) -> Any:
    """``[pubkey, {lamports, data: [b64, "base64"] | b64, owner, executable?, rentEpoch?}]``."""
    key = parse_pubkey(p.required(0, "pubkey"))
    raw = p.required(1, "account")
    if not isinstance(raw, dict):
        raise invalid_params("Invalid params: expected an account object.")
    data_field = raw.get("data", "")
    text = data_field[0] if isinstance(data_field, list) else data_field
    try:
        data = base64.b64decode(text or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise invalid_params("Invalid params: data must be base64.") from None
    lamports = _optional_int(raw, "lamports") or 0
    owner = parse_pubkey(raw.get("owner", "11111111111111111111111111111111"))
    account = Account(
        lamports,
        data,
        owner,
        bool(raw.get("executable", False)),
        _optional_int(raw, "rentEpoch") or 0,
    )
    chain.set_account(key, account)
    return None
