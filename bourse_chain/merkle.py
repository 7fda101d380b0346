"""Merkle roots and inclusion proofs over the calls of a settlement batch.

A leaf commits to one call and its place in the batch::

    leaf = sha256(0x00 || payment_id (32) || amount || prefix)

(u64 little-endian; ``prefix`` is the sum of the amounts before it), so a call's share of the
batch's on-chain split follows from its leaf and the batch's event alone
(``bourse_chain.money.call_share``).  Inner nodes are ``sha256(0x01 || left || right)``; a level
with an odd count carries its last node up unchanged.  The domain bytes keep a leaf from ever
passing as an inner node.  A proof is the sibling hashes from leaf to root; the verifier
recomputes which side each sibling sits on from the leaf's index and the batch's count, so a
proof cannot be moved to another position.

>>> leaves = [leaf_hash(bytes([i]) * 32, 10, 10 * i) for i in range(5)]
>>> r = root(leaves)
>>> all(verify(leaves[i], i, 5, proof(leaves, i), r) for i in range(5))
True
>>> verify(leaves[1], 2, 5, proof(leaves, 1), r)
False
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

LEAF = b"\x00"
NODE = b"\x01"
_U64X2 = struct.Struct("<2Q")


def leaf_hash(payment_id: bytes, amount: int, prefix: int) -> bytes:
    if len(payment_id) != 32:
        raise ValueError(f"payment_id must be 32 bytes, got {len(payment_id)}")
    return hashlib.sha256(LEAF + payment_id + _U64X2.pack(amount, prefix)).digest()


def leaves(calls: Sequence[tuple[bytes, int]]) -> list[bytes]:
    """The leaves of a batch of ``(payment_id, amount)`` in order."""
    out: list[bytes] = []
    prefix = 0
    for payment_id, amount in calls:
        out.append(leaf_hash(payment_id, amount, prefix))
        prefix += amount
    return out


def running_hash(previous: bytes, root: bytes, sequence: int, count: int, total: int) -> bytes:
    """The stream's running hash after a batch (what settle_batch stores)."""
    return hashlib.sha256(previous + root + struct.pack("<3Q", sequence, count, total)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE + left + right).digest()


def _next_level(level: Sequence[bytes]) -> list[bytes]:
    out = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        out.append(level[-1])
    return out


def root(leaves: Sequence[bytes]) -> bytes:
    if not leaves:
        raise ValueError("a batch has at least one call")
    level = list(leaves)
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


def proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Sibling hashes of leaf ``index``, leaf level first (carried-up levels add none)."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} of {len(leaves)}")
    out: list[bytes] = []
    level = list(leaves)
    i = index
    while len(level) > 1:
        sibling = i ^ 1
        if sibling < len(level):
            out.append(level[sibling])
        level = _next_level(level)
        i //= 2
    return out


def fold(leaf: bytes, index: int, count: int, siblings: Sequence[bytes]) -> bytes | None:
    """The root that ``siblings`` lead to from ``leaf`` at ``index`` of ``count``; None if
    the proof has the wrong length for that position."""
    if not 0 <= index < count:
        return None
    h, i, n, k = leaf, index, count, 0
    while n > 1:
        sibling = i ^ 1
        if sibling < n:
            if k >= len(siblings):
                return None
            s = siblings[k]
            k += 1
            h = node_hash(s, h) if i & 1 else node_hash(h, s)
        i //= 2
        n = (n + 1) // 2
    return h if k == len(siblings) else None


def verify(leaf: bytes, index: int, count: int, siblings: Sequence[bytes], expected: bytes) -> bool:
    return fold(leaf, index, count, siblings) == expected
