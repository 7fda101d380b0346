"""getBlock, getBlocks, getBlocksWithLimit, getBlockTime: one block per slot, as on a
single-node cluster; blocks are served once confirmed (a validator's rule)."""

from __future__ import annotations

from typing import Any

from localnet.chain import Chain
from localnet.methods.common import registry
from localnet.methods.transactions import (
    check_version,
    transaction_meta_json,
    transaction_with_meta,
)
from localnet.params import Params
from localnet.rpc_errors import BLOCK_NOT_AVAILABLE, RpcError, invalid_params
from localnet.wire_parsed import parsed_account_keys

METHODS, method = registry()

MAX_GET_CONFIRMED_BLOCKS_RANGE = 500_000
TRANSACTION_DETAILS = ("full", "accounts", "signatures", "none")


def _newest_block(chain: Chain, config: dict[str, Any]) -> int:
    if config.get("commitment") in ("processed", "recent"):
        raise invalid_params("Method does not support commitment below `confirmed`")
    return chain.commitment_slot(config.get("commitment"))


def _not_available(slot: int) -> RpcError:
    return RpcError(BLOCK_NOT_AVAILABLE, f"Block not available for slot {slot}")


@method("getBlock")
def get_block(chain: Chain, p: Params) -> Any:
    slot = p.u64(0, "slot")
    raw_config = p.get(1)
    config = {"encoding": raw_config} if isinstance(raw_config, str) else p.config(1)
    if slot > _newest_block(chain, config):
        raise _not_available(slot)
    encoding = config.get("encoding") or "json"
    details = config.get("transactionDetails") or "full"
    if details not in TRANSACTION_DETAILS:
        raise invalid_params(
            f"Invalid params: unknown variant `{details}`, expected one of `full`, "
            "`signatures`, `none`, `accounts`."
        )
    max_version = config.get("maxSupportedTransactionVersion")
    records = chain.records_in_slot(slot)
    block: dict[str, Any] = {
        "blockHeight": slot,
        "blockTime": chain.block_time(slot),
        "blockhash": str(chain.blockhash_at(slot)),
        "parentSlot": max(0, slot - 1),
        "previousBlockhash": str(chain.blockhash_at(max(0, slot - 1))),
    }
    if details == "full":
        block["transactions"] = [transaction_with_meta(r, encoding, max_version) for r in records]
    elif details == "accounts":
        block["transactions"] = []
        for r in records:
            check_version(r, max_version)
            meta = transaction_meta_json(r)
            for key in ("innerInstructions", "logMessages", "loadedAddresses", "returnData"):
                meta.pop(key, None)
            entry: dict[str, Any] = {
                "transaction": {
                    "signatures": [str(s) for s in r.transaction.signatures],
                    "accountKeys": parsed_account_keys(r),
                },
                "meta": meta,
            }
            if max_version is not None:
                entry["version"] = r.version
            block["transactions"].append(entry)
    elif details == "signatures":
        block["signatures"] = [str(r.signature) for r in records]
    if config.get("rewards", True):
        block["rewards"] = []
    return block


@method("getBlocks")
def get_blocks(chain: Chain, p: Params) -> Any:
    start = p.u64(0, "start slot")
    raw_end = p.get(1)
    config = p.config(2) if not isinstance(raw_end, dict) else p.config(1)
    newest = _newest_block(chain, config)
    end = newest if raw_end is None or isinstance(raw_end, dict) else p.u64(1, "end slot")
    if end - start > MAX_GET_CONFIRMED_BLOCKS_RANGE:
        raise invalid_params(f"Slot range too large; max {MAX_GET_CONFIRMED_BLOCKS_RANGE}")
    return list(range(start, min(end, newest) + 1))


@method("getBlocksWithLimit")
def get_blocks_with_limit(chain: Chain, p: Params) -> Any:
    start = p.u64(0, "start slot")
    limit = p.u64(1, "limit")
    if limit > MAX_GET_CONFIRMED_BLOCKS_RANGE:
        raise invalid_params(f"Limit too large; max {MAX_GET_CONFIRMED_BLOCKS_RANGE}")
    newest = _newest_block(chain, p.config(2))
    return list(range(start, min(start + limit - 1, newest) + 1)) if limit else []


@method("getBlockTime")
def get_block_time(chain: Chain, p: Params) -> Any:
    slot = p.u64(0, "slot")
    block_time = chain.block_time(slot)
    if block_time is None:
        raise _not_available(slot)
    return block_time
