"""The gateway's only door to on-chain settlement.

A batch of outbox rows of one (model, provider, rail) goes in as one
``Settlement.settle_batch``; one :class:`RowReceipt` per row comes out (its attributed split,
the transaction signature, the batch id and its inclusion proof as JSON, the document
``bourse receipt verify`` accepts).

Rails: ``'credits'`` rows are paid from the gateway's settlement account (``wallet``'s USDC
account, ``wallet`` signs); ``'x402'`` rows from the model's x402 inbox (``source=None``: the
program signs for the inbox).

Idempotent: a batch is identified by its Merkle root, so re-sending the same rows after a
crash (between send and confirm) returns the batch the chain recorded and sends nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.events import BatchSettled
from bourse_chain.results import Split
from bourse_chain.settlement import PaidCall, Settlement

PAYMENT_PREFIX = "bourse-gw:"


@dataclass(frozen=True)
class BatchRow:
    call_id: str
    amount: int


@dataclass(frozen=True)
class RowReceipt:
    call_id: str
    split: Split | None  # None: this row failed (error says why)
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
        self,
        model: str,
        provider: Pubkey,
        batch_id: str,
        rows: Sequence[BatchRow],
        *,
        rail: str = "credits",
    ) -> list[RowReceipt]:
        paid = [PaidCall(payment_id(r.call_id), r.amount, model, provider) for r in rows]
        try:
            if rail == "x402":
                result = await self.settlement.settle_batch(paid)
            else:
                result = await self.settlement.settle_batch(
                    paid, source=self.source, source_authority=self.wallet
                )
        except Exception as e:  # the whole batch failed: every row goes back to pending
            return [RowReceipt(r.call_id, None, None, batch_id, None, str(e)) for r in rows]
        signature = (
            str(result.signature)
            if result.signature is not None
            else await self._recorded_signature(result.stream, result.sequence)
        )
        out = []
        for row, call, share in zip(rows, paid, result.shares, strict=True):
            proof = json.dumps(result.prove(call).to_json(), sort_keys=True)
            split = Split(
                gross=row.amount,
                provider=share.provider,
                creator=share.creator,
                protocol=share.protocol,
            )
            out.append(RowReceipt(row.call_id, split, signature, batch_id, proof))
        return out

    async def _recorded_signature(self, stream: Pubkey, sequence: int) -> str | None:
        """The transaction of batch ``sequence`` on ``stream`` (a retry found it settled)."""
        client = self.settlement.client
        for signature, ok in await client.signatures_for_address(stream):
            if ok and any(
                isinstance(e, BatchSettled) and e.sequence == sequence
                for e in await client.get_events(signature)
            ):
                return str(signature)
        return None
