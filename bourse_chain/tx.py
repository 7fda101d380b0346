"""Pure transaction pieces: compute-budget instructions, the priority-fee percentile,
message compilation, signing, and the serialized size that decides what fits.

Nothing here talks to the network; :mod:`bourse_chain.client` composes these with RPC calls.

>>> from solders.pubkey import Pubkey
>>> priority_fee_percentile([0, 10, 20, 30, 40, 50, 60, 70, 80, 90], 75)
70
>>> priority_fee_percentile([], 75)
0
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.compute_budget import ID as COMPUTE_BUDGET_PROGRAM_ID
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

#: Solana's maximum serialized transaction size (IPv6 MTU minus headers).
PACKET_DATA_SIZE = 1232
#: The most compute units one transaction may request.
MAX_COMPUTE_UNIT_LIMIT = 1_400_000
#: The most accounts one transaction may lock.
MAX_TX_ACCOUNT_LOCKS = 64
#: Compute units a ComputeBudget instruction itself costs.
COMPUTE_BUDGET_IX_COST = 150

_SET_COMPUTE_UNIT_LIMIT = 2
_SET_COMPUTE_UNIT_PRICE = 3


@dataclass(frozen=True)
class ComputeBudget:
    """The compute-budget settings a transaction carries (None: not set by us)."""

    unit_limit: int | None
    unit_price: int | None  # micro-lamports per compute unit

    def instructions(self) -> list[Instruction]:
        out: list[Instruction] = []
        if self.unit_limit is not None:
            out.append(set_compute_unit_limit(self.unit_limit))
        if self.unit_price is not None:
            out.append(set_compute_unit_price(self.unit_price))
        return out


def compute_budget_kinds(instructions: Iterable[Instruction]) -> set[int]:
    """Which compute-budget instruction tags (2 = unit limit, 3 = unit price) are present."""
    return {
        ix.data[0]
        for ix in instructions
        if ix.program_id == COMPUTE_BUDGET_PROGRAM_ID and len(ix.data) > 0
    }


def with_compute_budget(
    instructions: Sequence[Instruction], budget: ComputeBudget
) -> list[Instruction]:
    """Prepend ``budget``'s instructions, except the kinds the caller already included."""
    present = compute_budget_kinds(instructions)
    limit = None if _SET_COMPUTE_UNIT_LIMIT in present else budget.unit_limit
    price = None if _SET_COMPUTE_UNIT_PRICE in present else budget.unit_price
    return [*ComputeBudget(limit, price).instructions(), *instructions]


def read_compute_budget(instructions: Iterable[Instruction]) -> ComputeBudget:
    """The unit limit and price set by compute-budget instructions (None when absent)."""
    limit: int | None = None
    price: int | None = None
    for ix in instructions:
        if ix.program_id != COMPUTE_BUDGET_PROGRAM_ID or not ix.data:
            continue
        data = bytes(ix.data)
        if data[0] == _SET_COMPUTE_UNIT_LIMIT and len(data) == 5:
            (limit,) = struct.unpack_from("<I", data, 1)
        elif data[0] == _SET_COMPUTE_UNIT_PRICE and len(data) == 9:
            (price,) = struct.unpack_from("<Q", data, 1)
    return ComputeBudget(limit, price)


def cu_limit_from_simulation(units_consumed: int, margin: float, cap: int) -> int:
    """``units_consumed * margin`` rounded up, at least 1 and at most ``cap``."""
    if margin < 1.0:
        raise ValueError(f"cu margin must be >= 1.0, got {margin}")
    return max(1, min(cap, math.ceil(units_consumed * margin)))


def priority_fee_percentile(fees: Sequence[int], percentile: float) -> int:
    """The nearest-rank ``percentile`` (0-100) of recent prioritization fees; 0 when none."""
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile must be within 0-100, got {percentile}")
    if not fees:
        return 0
    ordered = sorted(fees)
    rank = max(1, math.ceil(percentile / 100 * len(ordered)))
    return int(ordered[rank - 1])


def writable_accounts(instructions: Iterable[Instruction]) -> list[Pubkey]:
    """The distinct writable accounts of ``instructions``, in first-seen order (what
    ``getRecentPrioritizationFees`` should be asked about)."""
    seen: dict[Pubkey, None] = {}
    for ix in instructions:
        for meta in ix.accounts:
            if meta.is_writable:
                seen.setdefault(meta.pubkey, None)
    return list(seen)


def compile_message(
    payer: Pubkey,
    instructions: Sequence[Instruction],
    blockhash: Hash,
    lookup_tables: Sequence[AddressLookupTableAccount] = (),
) -> MessageV0:
    return MessageV0.try_compile(payer, list(instructions), list(lookup_tables), blockhash)


def required_signers(message: MessageV0) -> list[Pubkey]:
    n = message.header.num_required_signatures
    return list(message.account_keys[:n])


def sign_message(message: MessageV0, signers: Iterable[Keypair]) -> VersionedTransaction:
    """Sign with exactly the keypairs the message requires (extra ones are ignored);
    ``ValueError`` naming the missing public keys when one is absent."""
    by_key = {kp.pubkey(): kp for kp in signers}
    needed = required_signers(message)
    missing = [str(k) for k in needed if k not in by_key]
    if missing:
        raise ValueError(f"missing signers: {', '.join(missing)}")
    return VersionedTransaction(message, [by_key[k] for k in needed])


def unsigned_transaction(message: MessageV0) -> VersionedTransaction:
    """The message with placeholder signatures (for simulation and sizing)."""
    n = message.header.num_required_signatures
    return VersionedTransaction.populate(message, [Signature.default()] * n)


def serialized_size(message: MessageV0) -> int:
    """Wire size of the signed transaction (signatures are fixed-size)."""
    return len(bytes(unsigned_transaction(message)))


def account_count(payer: Pubkey, instructions: Iterable[Instruction]) -> int:
    """Distinct accounts a transaction of ``instructions`` locks (programs included)."""
    keys = {payer}
    for ix in instructions:
        keys.add(ix.program_id)
        keys.update(meta.pubkey for meta in ix.accounts)
    return len(keys)


def fits(
    payer: Pubkey,
    instructions: Sequence[Instruction],
    lookup_tables: Sequence[AddressLookupTableAccount] = (),
    limit: int = PACKET_DATA_SIZE,
    max_accounts: int = MAX_TX_ACCOUNT_LOCKS,
) -> bool:
    """Whether the instructions (compute-budget ones included by the caller) fit one
    transaction: at most ``limit`` bytes and ``max_accounts`` account locks."""
    if account_count(payer, instructions) > max_accounts:
        return False
    message = compile_message(payer, instructions, Hash.default(), lookup_tables)
    return serialized_size(message) <= limit
