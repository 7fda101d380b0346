"""Transaction fees as agave charges them: 5,000 lamports per signature (transaction and
precompile signatures) plus ceil(compute-unit price x compute-unit limit / 1e6), where the
limit is the requested one or, by default, 200,000 CU per instruction (3,000 for builtins)."""

from __future__ import annotations

import math
import struct

from solders.message import Message, MessageV0, MessageV1
from solders.pubkey import Pubkey

AnyMessage = Message | MessageV0 | MessageV1

LAMPORTS_PER_SIGNATURE = 5_000
MAX_COMPUTE_UNIT_LIMIT = 1_400_000
DEFAULT_INSTRUCTION_COMPUTE_UNIT_LIMIT = 200_000
MAX_BUILTIN_ALLOCATION_COMPUTE_UNIT_LIMIT = 3_000

COMPUTE_BUDGET_PROGRAM_ID = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
_PRECOMPILES = frozenset(
    Pubkey.from_string(s)
    for s in (
        "KeccakSecp256k11111111111111111111111111111",
        "Ed25519SigVerify111111111111111111111111111",
        "Secp256r1SigVerify1111111111111111111111111",
    )
)
#: Programs whose instructions get the small default compute allocation.
_BUILTINS = frozenset(
    Pubkey.from_string(s)
    for s in (
        "11111111111111111111111111111111",
        "ComputeBudget111111111111111111111111111111",
        "Vote111111111111111111111111111111111111111",
        "BPFLoader1111111111111111111111111111111111",
        "BPFLoader2111111111111111111111111111111111",
        "BPFLoaderUpgradeab1e11111111111111111111111",
        "LoaderV411111111111111111111111111111111111",
        "NativeLoader1111111111111111111111111111111",
    )
)


def compute_budget_settings(
    message: AnyMessage,
) -> tuple[int | None, int]:
    """``(compute unit limit or None, compute unit price in micro-lamports)`` of a message."""
    keys = message.account_keys
    limit: int | None = None
    price = 0
    for ix in message.instructions:
        if keys[ix.program_id_index] != COMPUTE_BUDGET_PROGRAM_ID:
            continue
        data = bytes(ix.data)
        if data[:1] == b"\x02" and len(data) >= 5:
            limit = struct.unpack_from("<I", data, 1)[0]
        elif data[:1] == b"\x03" and len(data) >= 9:
            price = struct.unpack_from("<Q", data, 1)[0]
    return limit, price


def _num_signatures(message: AnyMessage) -> int:
    """Transaction signatures plus those checked by precompile instructions."""
    keys = message.account_keys
    total = message.header.num_required_signatures
    for ix in message.instructions:
        if keys[ix.program_id_index] in _PRECOMPILES:
            data = bytes(ix.data)
            total += data[0] if data else 0
    return total


def message_fee(message: AnyMessage) -> int:
    """5,000 lamports per signature + ceil(price x limit / 1e6) (agave's fee structure)."""
    limit, price = compute_budget_settings(message)
    if limit is None:
        keys = message.account_keys
        limit = sum(
            MAX_BUILTIN_ALLOCATION_COMPUTE_UNIT_LIMIT
            if keys[ix.program_id_index] in _BUILTINS
            or keys[ix.program_id_index] == COMPUTE_BUDGET_PROGRAM_ID
            else DEFAULT_INSTRUCTION_COMPUTE_UNIT_LIMIT
            for ix in message.instructions
        )
    limit = min(limit, MAX_COMPUTE_UNIT_LIMIT)
    priority = math.ceil(price * limit / 1_000_000)
    return LAMPORTS_PER_SIGNATURE * _num_signatures(message) + priority
