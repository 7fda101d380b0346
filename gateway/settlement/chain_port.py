"""The gateway's only door to on-chain settlement.

Batch-shaped on purpose: a batch of outbox rows of one (model, provider) goes in, one
:class:`RowReceipt` per row comes out (its split, transaction signature, batch id and proof).
Today each row is a ``settle_payment`` (one receipt PDA per call, packed several per
transaction by ``Settlement.settle_payments``) and there is no Merkle proof; when the batch
instruction lands (``Settlement.settle_batch`` / ``prove``), only this module changes.

Idempotent per row: a row's payment id is derived from its call id, and the program refuses
a second settlement of the same payment id (the receipt PDA exists), answering with the
recorded split; so a batch re-sent after a crash never settles a call twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.results import Split
from bourse_chain.settlement import BatchSettlementError, PaymentItem, Settlement

PAYMENT_PREFIX = "bourse-gw:"


@dataclass(frozen=True)
class BatchRow:
    call_id: str
    amount: int


@dataclass(frozen=True)
class RowReceipt:
    call_id: str
    split: Split | None  # None: this row failed (error says why); the others stand
    signature: str | None
    batch_id: str
    proof: str | None
    error: str | None = None


def payment_id(call_id: str) -> str:
    return PAYMENT_PREFIX + call_id


class ChainPort:
    def __init__(self, settlement: Settlement, wallet: Keypair) -> None:
        self.settlement = settlement
        self.wallet = wallet
        self.source = settlement.payer_token(wallet.pubkey())

    async def settle_batch(
        self, model: str, provider: Pubkey, batch_id: str, rows: Sequence[BatchRow]
    ) -> list[RowReceipt]:
        items = [
            PaymentItem(model, provider, r.amount, payment_id(r.call_id), self.source, self.wallet)
            for r in rows
        ]
        errors: dict[int, str] = {}
        try:
            splits: list[Split | None] = list(await self.settlement.settle_payments(items))
        except BatchSettlementError as e:
            splits = e.splits
            errors = {i: str(err) for i, err in e.errors.items()}
        out = []
        for i, (row, split) in enumerate(zip(rows, splits, strict=True)):
            signature = await self._signature(row.call_id) if split is not None else None
            out.append(RowReceipt(row.call_id, split, signature, batch_id, None, errors.get(i)))
        return out

    async def _signature(self, call_id: str) -> str | None:
        """The transaction that created the call's receipt (the oldest on its address)."""
        address = self.settlement.receipt_address(payment_id(call_id))
        sigs = await self.settlement.client.signatures_for_address(address, limit=50)
        ok = [s for s, success in sigs if success]
        return str(ok[-1]) if ok else None
