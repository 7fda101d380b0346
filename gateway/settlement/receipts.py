"""One call's settlement receipt: its ledger row, the batch it was settled in (stream,
sequence, root, transaction) and its inclusion proof — what the admin API
(``GET /api/admin/calls/{id}/receipt``) and ``bourse-gateway receipt`` show; the proof is the
document ``bourse receipt verify`` checks against the chain
(``bourse_chain.receipts.verify_on_chain``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bourse_chain.market import payment_id_bytes
from bourse_chain.receipts import CallProof
from gateway.db.engine import reading
from gateway.db.schema import batches, calls
from gateway.settlement.chain_port import payment_id


@dataclass(frozen=True)
class CallReceipt:
    call: dict[str, Any]
    batch: dict[str, Any] | None
    proof: dict[str, Any] | None

    @property
    def settled(self) -> bool:
        return bool(self.call["state"] == "settled")

    def call_proof(self) -> CallProof | None:
        return None if self.proof is None else CallProof.from_json(self.proof)

    def disagreements(self) -> list[str]:
        """Where the proof does not say what the ledger row says (empty: it agrees)."""
        proof = self.call_proof()
        if proof is None:
            return ["no proof"] if self.call["gross"] > 0 else []
        c, out = self.call, []
        if proof.payment_id != payment_id_bytes(payment_id(c["id"])):
            out.append("payment id is not this call's")
        if proof.amount != c["gross"]:
            out.append(f"amount {proof.amount} != gross {c['gross']}")
        if tuple(proof.share) != (c["provider_amount"], c["creator_fee"], c["protocol_fee"]):
            out.append(f"share {tuple(proof.share)} != the row's split")
        b = self.batch
        if b is not None and (proof.sequence, proof.root.hex()) != (b["sequence"], b["root"]):
            out.append("sequence or root is not the batch's")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "call": self.call,
            "settled": self.settled,
            "batch": self.batch,
            "proof": self.proof,
        }


_CALL = (
    calls.c.id,
    calls.c.state,
    calls.c.rail,
    calls.c.model,
    calls.c.provider,
    calls.c.prompt_tokens,
    calls.c.completion_tokens,
    calls.c.gross,
    calls.c.provider_amount,
    calls.c.creator_fee,
    calls.c.protocol_fee,
    calls.c.created_at,
    calls.c.settled_at,
    calls.c.tx_signature,
)
_BATCH = (
    batches.c.id,
    batches.c.stream,
    batches.c.sequence,
    batches.c.root,
    batches.c.count,
    batches.c.total,
    batches.c.state,
    batches.c.tx_signature,
)


async def call_receipt(engine: AsyncEngine, call_id: str) -> CallReceipt | None:
    """The receipt of ``call_id``; None if no such call."""
    async with reading(engine) as conn:
        row = (
            await conn.execute(
                select(*_CALL, calls.c.batch_id, calls.c.proof).where(calls.c.id == call_id)
            )
        ).first()
        if row is None:
            return None
        batch = None
        if row.batch_id is not None:
            b = (await conn.execute(select(*_BATCH).where(batches.c.id == row.batch_id))).first()
            batch = (
                dict(b._mapping)
                if b is not None
                else {"id": row.batch_id}  # free calls (nothing to pay) have no on-chain batch
            )
    call = {c.name: row._mapping[c.name] for c in _CALL}
    proof = json.loads(row.proof) if row.proof else None
    return CallReceipt(call, batch, proof)
