"""Proofs that one paid call was settled: its Merkle inclusion in a batch the program recorded.

:class:`CallProof` is what ``Settlement.prove`` / ``BatchResult.prove`` hand out (JSON with
:meth:`CallProof.to_json`); :func:`verify_on_chain` checks it against the chain: the stream
account of (model, provider) must have passed the proof's sequence, and the ``BatchSettled``
event of that sequence (found in the stream's transaction history) must carry the root the
proof folds to, the batch's count and total. The call's share of the split is recomputed from
the event (``bourse_chain.money.call_share``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey

from bourse_chain import merkle
from bourse_chain.client import BourseClient
from bourse_chain.generated.compute_market.accounts import SettlementStream
from bourse_chain.generated.compute_market.events import BatchSettled
from bourse_chain.money import Parts, call_share
from bourse_chain.pda import stream_pda


@dataclass(frozen=True)
class CallProof:
    """One call's place in a settled batch."""

    payment_id: bytes
    amount: int
    prefix: int
    index: int
    count: int
    total: int
    siblings: tuple[bytes, ...]
    root: bytes
    sequence: int
    model: Pubkey
    provider: Pubkey
    share: Parts

    @property
    def leaf(self) -> bytes:
        return merkle.leaf_hash(self.payment_id, self.amount, self.prefix)

    def folds_to_root(self) -> bool:
        return merkle.verify(self.leaf, self.index, self.count, self.siblings, self.root)

    def to_json(self) -> dict[str, Any]:
        return {
            "payment_id": self.payment_id.hex(),
            "amount": self.amount,
            "prefix": self.prefix,
            "index": self.index,
            "count": self.count,
            "total": self.total,
            "siblings": [s.hex() for s in self.siblings],
            "root": self.root.hex(),
            "sequence": self.sequence,
            "model": str(self.model),
            "provider": str(self.provider),
            "share": self.share._asdict(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CallProof:
        """Raises ``ValueError`` (or ``KeyError``/``TypeError``) on a malformed proof."""
        share = d["share"]
        return cls(
            payment_id=bytes.fromhex(d["payment_id"]),
            amount=int(d["amount"]),
            prefix=int(d["prefix"]),
            index=int(d["index"]),
            count=int(d["count"]),
            total=int(d["total"]),
            siblings=tuple(bytes.fromhex(s) for s in d["siblings"]),
            root=bytes.fromhex(d["root"]),
            sequence=int(d["sequence"]),
            model=Pubkey.from_string(d["model"]),
            provider=Pubkey.from_string(d["provider"]),
            share=Parts(int(share["provider"]), int(share["creator"]), int(share["protocol"])),
        )


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str
    stream: Pubkey
    share: Parts | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.ok,
            "reason": self.reason,
            "stream": str(self.stream),
            "share": self.share._asdict() if self.share is not None else None,
        }


async def batch_event(client: BourseClient, stream: Pubkey, sequence: int) -> BatchSettled | None:
    """The ``BatchSettled`` event of ``sequence`` on ``stream`` (from its history)."""
    for signature, ok in await client.signatures_for_address(stream):
        if not ok:
            continue
        for event in await client.get_events(signature):
            if (
                isinstance(event, BatchSettled)
                and event.stream == stream
                and event.sequence == sequence
            ):
                return event
    return None


async def verify_on_chain(client: BourseClient, proof: CallProof) -> Verification:
    stream = stream_pda(proof.model, proof.provider, client.program_id)[0]

    def fail(reason: str) -> Verification:
        return Verification(False, reason, stream)

    if not proof.folds_to_root():
        return fail("the call does not fold to the proof's root (tampered id, amount or path)")
    account = await client.fetch(stream, SettlementStream)
    if account is None:
        return fail(f"no settlement stream at {stream}")
    if proof.sequence >= account.next_sequence:
        return fail(f"sequence {proof.sequence} not settled (stream is at {account.next_sequence})")
    event = await batch_event(client, stream, proof.sequence)
    if event is None:
        return fail(f"no BatchSettled event for sequence {proof.sequence} on {stream}")
    if bytes(event.root) != proof.root:
        return fail(f"batch {proof.sequence} has root {bytes(event.root).hex()}, not the proof's")
    if (event.count, event.total) != (proof.count, proof.total):
        return fail(f"batch {proof.sequence} has {event.count} calls / {event.total}")
    split = Parts(event.provider_amount, event.creator_fee, event.protocol_fee)
    share = call_share(proof.prefix, proof.amount, proof.total, split)
    if share != proof.share:
        return fail(f"the call's share is {tuple(share)}, not {tuple(proof.share)}")
    return Verification(True, "included in a settled batch", stream, share)
