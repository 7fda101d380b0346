"""The gateway's only door to on-chain settlement.

A batch of outbox rows of one (model, provider, rail) goes in as one
``Settlement.settle_batch``; one :class:`RowReceipt` per row comes out (its attributed split,
the transaction signature, the batch id and its inclusion proof as JSON, the document
``bourse receipt verify`` accepts).

Rails: ``'credits'`` rows are paid from the gateway's settlement account (``wallet``'s USDC
account, ``wallet`` signs); ``'x402'`` rows from the model's x402 inbox (``source=None``: the
program signs for the inbox).

Two steps, so a crash anywhere settles nothing twice: :meth:`ChainPort.plan` says where the
batch goes (stream, next sequence, Merkle root) — the outbox records that **before** anything
is sent — then :meth:`ChainPort.settle_batch` sends it pinned to that sequence. Re-sending a
pinned batch after a crash (between send and confirm, or any time later) asks the chain what
that sequence holds: this batch (recorded, nothing sent), nothing yet (sent there), or another
batch (this one can never land: its rows are void and go back to the outbox).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.events import BatchSettled
from bourse_chain.results import Split
from bourse_chain.settlement import BatchSequenceTaken, PaidCall, Settlement

PAYMENT_PREFIX = "bourse-gw:"


@dataclass(frozen=True)
class BatchRow:
    call_id: str
    amount: int


@dataclass(frozen=True)
class BatchPin:
    """Where a batch goes: recorded in ``gw_batches`` before its transaction is sent."""

    stream: str
    sequence: int
    root: str  # hex
    count: int
    total: int


@dataclass(frozen=True)
class RowReceipt:
    call_id: str
    split: Split | None  # None: this row is not settled (error says why)
    signature: str | None
    batch_id: str
    proof: str | None
    error: str | None = None
    #: With ``split=None``: True when the batch can never land (nothing was sent, or another
    #: batch holds its sequence), so the row goes back to the outbox; False when it may have
    #: landed, so the batch stays pinned and is re-sent at its sequence.
    void: bool = False


def payment_id(call_id: str) -> str:
    return PAYMENT_PREFIX + call_id


class ChainPort:
    def __init__(self, settlement: Settlement, wallet: Keypair) -> None:
        self.settlement = settlement
        self.wallet = wallet
        self.source = settlement.payer_token(wallet.pubkey())

    @staticmethod
    def _paid(model: str, provider: Pubkey, rows: Sequence[BatchRow]) -> list[PaidCall]:
        return [PaidCall(payment_id(r.call_id), r.amount, model, provider) for r in rows]

    async def plan(self, model: str, provider: Pubkey, rows: Sequence[BatchRow]) -> BatchPin:
        planned = await self.settlement.plan_batch(self._paid(model, provider, rows))
        return BatchPin(
            str(planned.stream), planned.sequence, planned.root.hex(), planned.count, planned.total
        )

    async def settle_batch(
        self,
        model: str,
        provider: Pubkey,
        batch_id: str,
        rows: Sequence[BatchRow],
        pin: BatchPin,
        *,
        rail: str = "credits",
    ) -> list[RowReceipt]:
        paid = self._paid(model, provider, rows)

        def failed(error: str, void: bool) -> list[RowReceipt]:
            return [RowReceipt(r.call_id, None, None, batch_id, None, error, void) for r in rows]

        try:
            planned = await self.settlement.plan_batch(paid)
            if planned.root.hex() != pin.root or str(planned.stream) != pin.stream:
                # the rows are not the batch that was recorded: never send them as it
                return failed(f"rows differ from recorded batch {batch_id}", False)
            if rail == "x402":
                result = await self.settlement.settle_batch(paid, sequence=pin.sequence)
            else:
                result = await self.settlement.settle_batch(
                    paid, source=self.source, source_authority=self.wallet, sequence=pin.sequence
                )
        except BatchSequenceTaken as e:
            return failed(str(e), True)
        except Exception as e:  # it may have landed: the batch stays pinned to its sequence
            return failed(f"{type(e).__name__}: {e}", False)
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
