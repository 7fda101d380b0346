"""Sending, simulating and looking up transactions; fees; airdrops."""

from __future__ import annotations

import base64
from typing import Any

from solders.message import from_bytes_versioned
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from localnet import wire
from localnet.b58 import b58encode
from localnet.chain import Chain
from localnet.methods.accounts import ui_account
from localnet.methods.common import checked_config, registry, with_context
from localnet.params import (
    MAX_BASE58_TX,
    MAX_BASE64_TX,
    Params,
    decode_payload,
    decode_transaction,
    parse_pubkey,
    parse_signature,
)
from localnet.records import Simulation, TokenBalance, TxRecord
from localnet.rpc_errors import (
    SEND_TRANSACTION_PREFLIGHT_FAILURE,
    TRANSACTION_SIGNATURE_VERIFICATION_FAILURE,
    UNSUPPORTED_TRANSACTION_VERSION,
    RpcError,
    invalid_params,
)
from localnet.wire_parsed import parsed_inner_instructions_json, parsed_transaction_json

METHODS, method = registry()

MAX_SIGNATURE_STATUSES = 256
MAX_SIGNATURES_FOR_ADDRESS = 1000
MAX_PRIORITIZATION_FEE_ACCOUNTS = 128
MEMO_PROGRAMS = frozenset(
    {"MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo"}
)


def _verify_signatures(tx: VersionedTransaction) -> None:
    if not all(tx.verify_with_results()):
        raise RpcError(
            TRANSACTION_SIGNATURE_VERIFICATION_FAILURE,
            "Transaction signature verification failure",
        )


def simulation_json(
    chain: Chain,
    sim: Simulation,
    accounts: list[Any] | None = None,
    inner_instructions: bool = False,
) -> dict[str, Any]:
    """``RpcSimulateTransactionResult``."""
    replacement = None
    if sim.replacement_blockhash is not None:
        blockhash, last_valid = sim.replacement_blockhash
        replacement = {"blockhash": str(blockhash), "lastValidBlockHeight": last_valid}
    return {
        "err": wire.transaction_error_json(sim.err),
        "logs": sim.logs,
        "accounts": accounts,
        "unitsConsumed": sim.units_consumed,
        "loadedAccountsDataSize": sim.loaded_accounts_data_size,
        "returnData": wire.return_data_json(sim.return_data),
        "innerInstructions": (
            wire.inner_instructions_json(sim.inner_instructions) if inner_instructions else None
        ),
        "replacementBlockhash": replacement,
        "fee": sim.fee if sim.pre_balances is not None else None,
        "preBalances": sim.pre_balances,
        "postBalances": sim.post_balances,
        "preTokenBalances": _maybe_token_balances(sim.pre_token_balances),
        "postTokenBalances": _maybe_token_balances(sim.post_token_balances),
        "loadedAddresses": (
            None
            if sim.pre_balances is None
            else {
                "writable": [str(k) for k in sim.loaded_writable],
                "readonly": [str(k) for k in sim.loaded_readonly],
            }
        ),
    }


def _maybe_token_balances(balances: list[TokenBalance] | None) -> list[Any] | None:
    return None if balances is None else _token_balances(balances)


@method("sendTransaction")
def send_transaction(chain: Chain, p: Params) -> Any:
    config = p.config(1)
    tx = decode_transaction(p.required(0, "transaction"), config.get("encoding") or "base58")
    if not config.get("skipPreflight"):
        checked_config(chain, p, 1)
        _verify_signatures(tx)
        sim = chain.simulate(tx, sig_verify=False)
        if sim.err is not None:
            raise RpcError(
                SEND_TRANSACTION_PREFLIGHT_FAILURE,
                f"Transaction simulation failed: {wire.transaction_error_text(sim.err)}",
                simulation_json(chain, sim),
            )
    return str(chain.submit(tx).signature)


def _simulation_accounts(chain: Chain, sim: Simulation, raw: Any) -> list[Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("addresses"), list):
        raise invalid_params("Invalid params: accounts needs a list of addresses.")
    encoding = raw.get("encoding") or "base64"
    if encoding in ("binary", "base58"):
        raise invalid_params("base58 encoding not supported")
    addresses = [parse_pubkey(a) for a in raw["addresses"]]
    if len(addresses) > len(sim.account_keys):
        raise invalid_params(f"Too many accounts provided; max {len(sim.account_keys)}")
    if sim.err is not None:
        return [None] * len(addresses)
    out: list[Any] = []
    for key in addresses:
        account = sim.post_accounts.get(key) or chain.get_account(key)
        out.append(
            None
            if account is None or account.lamports == 0
            else ui_account(chain, account, encoding, None)
        )
    return out


@method("simulateTransaction")
def simulate_transaction(chain: Chain, p: Params) -> Any:
    config = checked_config(chain, p, 1)
    tx = decode_transaction(p.required(0, "transaction"), config.get("encoding") or "base58")
    sig_verify = bool(config.get("sigVerify"))
    replace = bool(config.get("replaceRecentBlockhash"))
    if sig_verify and replace:
        raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
    if sig_verify:
        _verify_signatures(tx)
    sim = chain.simulate(tx, sig_verify=sig_verify, replace_recent_blockhash=replace)
    accounts = _simulation_accounts(chain, sim, config.get("accounts"))
    value = simulation_json(chain, sim, accounts, bool(config.get("innerInstructions")))
    return with_context(chain, value)


def _status_json(chain: Chain, record: TxRecord) -> dict[str, Any]:
    status = chain.confirmation_status(record.slot)
    return {
        "slot": record.slot,
        "confirmations": None if status == "finalized" else max(0, chain.slot - record.slot),
        "err": wire.transaction_error_json(record.err),
        "status": wire.status_json(record.err),
        "confirmationStatus": status,
    }


@method("getSignatureStatuses")
def get_signature_statuses(chain: Chain, p: Params) -> Any:
    raw = p.str_list(0, "signatures")
    if len(raw) > MAX_SIGNATURE_STATUSES:
        raise invalid_params(f"Too many inputs provided; max {MAX_SIGNATURE_STATUSES}")
    signatures = [parse_signature(s) for s in raw]
    p.config(1)
    values = []
    for sig in signatures:
        record = chain.get_transaction(sig)
        values.append(None if record is None else _status_json(chain, record))
    return with_context(chain, values)


def _token_balances(balances: list[TokenBalance]) -> list[Any]:
    return [
        wire.token_balance_json(
            b.account_index, b.mint, b.owner, b.program_id, b.amount, b.decimals
        )
        for b in balances
    ]


def transaction_meta_json(record: TxRecord) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "err": wire.transaction_error_json(record.err),
        "status": wire.status_json(record.err),
        "fee": record.fee,
        "preBalances": record.pre_balances,
        "postBalances": record.post_balances,
        "innerInstructions": wire.inner_instructions_json(record.inner_instructions),
        "logMessages": record.logs,
        "preTokenBalances": _token_balances(record.pre_token_balances),
        "postTokenBalances": _token_balances(record.post_token_balances),
        "rewards": [],
        "loadedAddresses": {
            "writable": [str(k) for k in record.loaded_writable],
            "readonly": [str(k) for k in record.loaded_readonly],
        },
        "computeUnitsConsumed": record.compute_units,
    }
    return_data = wire.return_data_json(record.return_data)
    if return_data is not None:
        meta["returnData"] = return_data
    return meta


def _encode_transaction(record: TxRecord, encoding: str) -> Any:
    tx = record.transaction
    if encoding == "json":
        return wire.transaction_json(tx)
    if encoding == "jsonParsed":
        return parsed_transaction_json(record)
    raw = bytes(tx)
    if encoding == "base64":
        return [base64.b64encode(raw).decode(), "base64"]
    if encoding == "base58":
        return [b58encode(raw), "base58"]
    if encoding == "binary":
        return b58encode(raw)
    raise invalid_params(
        f"Invalid params: unknown variant `{encoding}`, expected one of `binary`, `base64`, "
        "`base58`, `json`, `jsonParsed`."
    )


def check_version(record: TxRecord, max_version: Any) -> None:
    """Refuse a versioned transaction the client did not say it supports (-32015)."""
    version = record.version
    if isinstance(version, int) and (not isinstance(max_version, int) or version > max_version):
        raise RpcError(
            UNSUPPORTED_TRANSACTION_VERSION,
            f"Transaction version ({version}) is not supported by the requesting client. "
            "Please try the request again with the following configuration parameter: "
            f'"maxSupportedTransactionVersion": {version}',
        )


def transaction_with_meta(record: TxRecord, encoding: str, max_version: Any) -> dict[str, Any]:
    """``{"transaction", "meta"[, "version"]}`` (getTransaction, getBlock's full details)."""
    check_version(record, max_version)
    meta = transaction_meta_json(record)
    if encoding == "jsonParsed":
        meta["innerInstructions"] = parsed_inner_instructions_json(
            record.account_keys, record.inner_instructions
        )
    out: dict[str, Any] = {
        "transaction": _encode_transaction(record, encoding),
        "meta": meta,
    }
    if max_version is not None:
        out["version"] = record.version
    return out


@method("getTransaction")
def get_transaction(chain: Chain, p: Params) -> Any:
    sig = p.signature(0)
    raw_config = p.get(1)
    config = {"encoding": raw_config} if isinstance(raw_config, str) else p.config(1)
    if config.get("commitment") in ("processed", "recent"):
        raise invalid_params("Method does not support commitment below `confirmed`")
    encoding = config.get("encoding") or "json"
    record = chain.get_transaction(sig)
    if record is None:
        return None
    body = transaction_with_meta(record, encoding, config.get("maxSupportedTransactionVersion"))
    return {"slot": record.slot, **body, "blockTime": record.block_time}


def _memo(record: TxRecord) -> str | None:
    message = record.transaction.message
    keys = message.account_keys
    memos = []
    for ix in message.instructions:
        if str(keys[ix.program_id_index]) in MEMO_PROGRAMS:
            text = bytes(ix.data).decode("utf-8", errors="replace")
            memos.append(f"[{len(text)}] {text}")
    return "; ".join(memos) if memos else None


@method("getSignaturesForAddress")
def get_signatures_for_address(chain: Chain, p: Params) -> Any:
    address = p.pubkey(0, "address")
    config = checked_config(chain, p, 1)
    if config.get("commitment") in ("processed", "recent"):
        raise invalid_params("Method does not support commitment below `confirmed`")
    limit = config.get("limit") or MAX_SIGNATURES_FOR_ADDRESS
    if not isinstance(limit, int) or not 1 <= limit <= MAX_SIGNATURES_FOR_ADDRESS:
        raise invalid_params(f"Invalid limit; max {MAX_SIGNATURES_FOR_ADDRESS}")
    before: Signature | None = None
    until: Signature | None = None
    if config.get("before"):
        before = parse_signature(config["before"])
    if config.get("until"):
        until = parse_signature(config["until"])
    return [
        {
            "signature": str(r.signature),
            "slot": r.slot,
            "err": wire.transaction_error_json(r.err),
            "memo": _memo(r),
            "blockTime": r.block_time,
            "confirmationStatus": chain.confirmation_status(r.slot),
        }
        for r in chain.signatures_for_address(address, limit=limit, before=before, until=until)
    ]


@method("getFeeForMessage")
def get_fee_for_message(chain: Chain, p: Params) -> Any:
    raw = decode_payload(
        p.required(0, "message"),
        "base64",
        (MAX_BASE58_TX, MAX_BASE64_TX),
        "solana_message::versions::VersionedMessage",
    )
    checked_config(chain, p, 1)
    try:
        message = from_bytes_versioned(raw)
    except (ValueError, TypeError) as exc:
        raise invalid_params(f"invalid message: {exc}") from None
    return with_context(chain, chain.fee_for_message(message))


@method("getRecentPrioritizationFees")
def get_recent_prioritization_fees(chain: Chain, p: Params) -> Any:
    raw = p.get(0) or []
    if not isinstance(raw, list):
        raise invalid_params("Invalid params: expected a list of addresses.")
    if len(raw) > MAX_PRIORITIZATION_FEE_ACCOUNTS:
        raise invalid_params(f"Too many inputs provided; max {MAX_PRIORITIZATION_FEE_ACCOUNTS}")
    keys = [parse_pubkey(k) for k in raw]
    return [
        {"slot": slot, "prioritizationFee": fee}
        for slot, fee in chain.recent_prioritization_fees(keys)
    ]


@method("requestAirdrop")
def request_airdrop(chain: Chain, p: Params) -> Any:
    to = p.pubkey(0)
    lamports = p.u64(1, "lamports")
    p.config(2)
    submission = chain.airdrop(to, lamports)
    if not submission.landed:
        raise invalid_params(
            f"airdrop failed: {wire.transaction_error_text(submission.err)}"
            if submission.err is not None
            else "airdrop failed"
        )
    return str(submission.signature)
