"""The node's view, as explorers ask for it: cluster nodes, vote accounts, block production
and commitment, shred slots, snapshots. The embedded chain is a single leader (the faucet
identity, `getIdentity`) without a vote account, so stake figures are zero."""

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
from localnet.params import Params
from localnet.rpc_errors import RpcError, invalid_params

METHODS, method = registry()

NO_SNAPSHOT = -32008


@method("getClusterNodes")
def get_cluster_nodes(chain: Chain, p: Params) -> Any:
    return [
        {
            "pubkey": str(chain.faucet_pubkey),
            "gossip": None,
            "tpu": None,
            "tpuQuic": None,
            "rpc": chain.endpoints.get("rpc"),
            "pubsub": chain.endpoints.get("pubsub"),
            "version": SOLANA_CORE_VERSION,
            "featureSet": FEATURE_SET,
            "shredVersion": 0,
        }
    ]


@method("getVoteAccounts")
def get_vote_accounts(chain: Chain, p: Params) -> Any:
    p.config(0)
    return {"current": [], "delinquent": []}


@method("getBlockCommitment")
def get_block_commitment(chain: Chain, p: Params) -> Any:
    slot = p.u64(0, "slot")
    rooted = chain.reached(slot, "finalized") and slot <= chain.slot
    return {"commitment": None if rooted else [0] * 32, "totalStake": 0}


@method("getBlockProduction")
def get_block_production(chain: Chain, p: Params) -> Any:
    config = checked_config(chain, p, 0)
    current = chain.slot
    info = chain.epoch_info()
    first, last = current - info["slotIndex"], current
    raw_range = config.get("range")
    if raw_range is not None:
        if not isinstance(raw_range, dict) or not isinstance(raw_range.get("firstSlot"), int):
            raise invalid_params("Invalid params: range needs firstSlot.")
        first = raw_range["firstSlot"]
        last = raw_range.get("lastSlot", current)
        if not isinstance(last, int) or last < first:
            raise invalid_params("lastSlot must be greater than or equal to firstSlot")
        last = min(last, current)
    identity = str(chain.faucet_pubkey)
    wanted = config.get("identity")
    produced = max(0, last - first + 1)
    by_identity = {} if wanted not in (None, identity) else {identity: [produced, produced]}
    return with_context(
        chain, {"byIdentity": by_identity, "range": {"firstSlot": first, "lastSlot": last}}
    )


@method("getMaxRetransmitSlot")
def get_max_retransmit_slot(chain: Chain, p: Params) -> Any:
    return chain.slot


@method("getMaxShredInsertSlot")
def get_max_shred_insert_slot(chain: Chain, p: Params) -> Any:
    return chain.slot


@method("getHighestSnapshotSlot")
def get_highest_snapshot_slot(chain: Chain, p: Params) -> Any:
    raise RpcError(NO_SNAPSHOT, "No snapshot")


SAMPLE_SLOTS = 150  # 60 s of 400 ms slots, a validator's sample period
MAX_PERFORMANCE_SAMPLES = 720


@method("getRecentPerformanceSamples")
def get_recent_performance_samples(chain: Chain, p: Params) -> Any:
    limit = p.get(0)
    if limit is None:
        limit = MAX_PERFORMANCE_SAMPLES
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise invalid_params("Invalid params: limit must be a non-negative integer.")
    if limit > MAX_PERFORMANCE_SAMPLES:
        raise invalid_params(f"Invalid limit; max {MAX_PERFORMANCE_SAMPLES}")
    samples: list[dict[str, int]] = []
    end = chain.slot
    while len(samples) < limit and end > 0:  # at most `limit` windows, newest first
        start = max(1, end - SAMPLE_SLOTS + 1)
        count = sum(len(chain.records_in_slot(s)) for s in range(start, end + 1))
        slots = end - start + 1
        samples.append(
            {
                "slot": end,
                "numTransactions": count,
                "numNonVoteTransactions": count,
                "numSlots": slots,
                "samplePeriodSecs": round(slots * chain.slot_duration),
            }
        )
        end = start - 1
    return samples
