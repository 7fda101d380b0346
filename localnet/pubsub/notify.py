"""Notification payloads, shaped exactly as a validator's PubSub sends them.

Every ``…Notification`` is ``{"jsonrpc":"2.0","method":…,"params":{"result":…,
"subscription":id}}``; results with a context carry ``{"slot": n}`` only (no apiVersion).
"""

from __future__ import annotations

import json
from typing import Any

from solders.account import Account

from localnet import wire
from localnet.chain import Chain
from localnet.methods.accounts import ui_account
from localnet.records import TxRecord


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def message(method: str, result_json: str, subscription: int) -> str:
    """The notification frame around an already-encoded result."""
    return (
        f'{{"jsonrpc":"2.0","method":"{method}",'
        f'"params":{{"result":{result_json},"subscription":{subscription}}}}}'
    )


def with_context(slot: int, value: Any) -> str:
    return dumps({"context": {"slot": slot}, "value": value})


def signature_result(record: TxRecord) -> str:
    return with_context(record.slot, {"err": wire.transaction_error_json(record.err)})


def received_result(slot: int) -> str:
    return with_context(slot, "receivedSignature")


def logs_result(slot: int, record: TxRecord) -> str:
    return with_context(
        slot,
        {
            "signature": str(record.signature),
            "err": wire.transaction_error_json(record.err),
            "logs": record.logs,
        },
    )


def account_value(
    chain: Chain, account: Account, encoding: str, data_slice: tuple[int, int] | None
) -> dict[str, Any]:
    return ui_account(chain, account, encoding, data_slice)


def slot_result(slot: int, root: int) -> str:
    return dumps({"parent": max(0, slot - 1), "root": root, "slot": slot})
