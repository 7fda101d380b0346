"""Slots, blockhashes, epochs and node info."""

from __future__ import annotations

from typing import Any

from localnet.chain import Chain
from localnet.methods.common import (
    FEATURE_SET,
    SOLANA_CORE_VERSION,
    checked_config,
    registry,
    with_context,
)
from localnet.params import Params, parse_hash

METHODS, method = registry()


@method("getSlot")
def get_slot(chain: Chain, p: Params) -> Any:
    checked_config(chain, p, 0)
    return chain.slot


@method("getBlockHeight")
def get_block_height(chain: Chain, p: Params) -> Any:
    checked_config(chain, p, 0)
    return chain.block_height


@method("getEpochInfo")
def get_epoch_info(chain: Chain, p: Params) -> Any:
    checked_config(chain, p, 0)
    return chain.epoch_info()


@method("getEpochSchedule")
def get_epoch_schedule(chain: Chain, p: Params) -> Any:
    s = chain.epoch_schedule
    return {
        "slotsPerEpoch": s.slots_per_epoch,
        "leaderScheduleSlotOffset": s.leader_schedule_slot_offset,
        "warmup": s.warmup,
        "firstNormalEpoch": s.first_normal_epoch,
        "firstNormalSlot": s.first_normal_slot,
    }


@method("getLatestBlockhash")
def get_latest_blockhash(chain: Chain, p: Params) -> Any:
    checked_config(chain, p, 0)
    blockhash, last_valid = chain.latest_blockhash()
    return with_context(chain, {"blockhash": str(blockhash), "lastValidBlockHeight": last_valid})


@method("isBlockhashValid")
def is_blockhash_valid(chain: Chain, p: Params) -> Any:
    blockhash = parse_hash(p.required(0, "blockhash"))
    checked_config(chain, p, 1)
    return with_context(chain, chain.is_blockhash_valid(blockhash))


@method("getHealth")
def get_health(chain: Chain, p: Params) -> Any:
    return "ok"


@method("getVersion")
def get_version(chain: Chain, p: Params) -> Any:
    return {"solana-core": SOLANA_CORE_VERSION, "feature-set": FEATURE_SET}


@method("getGenesisHash")
def get_genesis_hash(chain: Chain, p: Params) -> Any:
    return str(chain.genesis_hash)


@method("getIdentity")
def get_identity(chain: Chain, p: Params) -> Any:
    return {"identity": str(chain.faucet_pubkey)}


@method("getSlotLeader")
def get_slot_leader(chain: Chain, p: Params) -> Any:
    checked_config(chain, p, 0)
    return str(chain.faucet_pubkey)


@method("getTransactionCount")
def get_transaction_count(chain: Chain, p: Params) -> Any:
    checked_config(chain, p, 0)
    return chain.transaction_count


@method("getFirstAvailableBlock")
def get_first_available_block(chain: Chain, p: Params) -> Any:
    return 0


@method("minimumLedgerSlot")
def minimum_ledger_slot(chain: Chain, p: Params) -> Any:
    return 0
