"""The settlement API the gateway imports: holds, settlement of usage, release, and batch
settlement of paid calls — each one idempotent.

* :meth:`Settlement.open_hold` derives the order nonce from an idempotency key, so a call
  retried after a timeout finds the order the first call opened instead of opening another; it
  signs a ``max_hold`` (the quoted hold), and an order found at the key's address must be the
  one this request would open (same model, provider, hold for these max tokens, TTL).
* :meth:`Settlement.settle` / :meth:`Settlement.release` close the order; a retry after the
  order was closed returns what the original transaction recorded (its ``OrderSettled`` /
  ``OrderCancelled`` event, found through the order address's transaction history), never
  charging twice. Neither ever creates a payer's token account (so the settler pays no rent a
  payer can take back, and a payer's reassigned account cannot block them).
* :meth:`Settlement.settle_batch` settles any number of paid calls of one (model, provider)
  in one ``settle_batch`` instruction: the batch's total is split once, its Merkle root
  (``bourse_chain.merkle``) goes on-chain, and the stream account's sequence makes a retried
  batch (even after a crash between send and confirm) return the recorded result instead of
  paying twice. :meth:`BatchResult.prove` gives a call's inclusion proof.

All amounts are micro-USDC; the money rules are ``bourse_chain.money``. Every
:class:`~bourse_chain.results.Split` checks that its parts sum to the gross, and order splits
that ``gross + refund == hold``. See ``docs/settlement.md`` for runnable examples.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from bourse_chain import merkle
from bourse_chain.client import BourseClient
from bourse_chain.errors import BourseError
from bourse_chain.generated.compute_market import errors as cm_errors
from bourse_chain.generated.compute_market.accounts import (
    Config,
    Model,
    Offer,
    Order,
    Provider,
    SettlementStream,
)
from bourse_chain.generated.compute_market.events import (
    BatchSettled,
    OrderCancelled,
    OrderOpened,
    OrderSettled,
)
from bourse_chain.market import Market, order_nonce, payment_id_bytes
from bourse_chain.money import Parts, attribute, usage_charge
from bourse_chain.pda import config_pda, model_pda, offer_pda, order_address
from bourse_chain.receipts import CallProof, batch_event
from bourse_chain.results import Hold, Split, TxResult

logger = logging.getLogger(__name__)


#: Errors meaning the order account is gone (closed by an earlier settle/cancel).
_ORDER_GONE = (cm_errors.InvalidAccountOwner, cm_errors.InvalidDiscriminator)


class SettlementError(BourseError):
    """Base of the settlement API's own errors."""


class SettlerMismatch(SettlementError):
    """The keypair given as settler is not the config's settler."""


class IdempotencyConflict(SettlementError):
    """An idempotency key (or payment id) was reused for a different request."""


class OrderNotFound(SettlementError):
    """No open order at this address, and none in its transaction history."""


class BatchSequenceTaken(SettlementError):
    """A batch pinned to a stream sequence that another batch holds: it can never land."""


class HoldAlreadyUsed(SettlementError):
    """The idempotency key's order was already opened and closed (settled or released)."""


class HoldAlreadyReleased(SettlementError):
    """settle() on an order that was released: nothing was charged (``split.refund`` went back)."""

    def __init__(self, order: Pubkey, split: Split) -> None:
        self.order = order
        self.split = split
        super().__init__(f"order {order} was released (refund {split.refund})")


class HoldAlreadySettled(SettlementError):
    """release() on an order that was settled: ``split`` is what was charged."""

    def __init__(self, order: Pubkey, split: Split) -> None:
        self.order = order
        self.split = split
        super().__init__(f"order {order} was already settled (gross {split.gross})")


class PayerTokenClosed(SettlementError):
    """release() while the payer's USDC account is closed: the hold stays in the order and the
    payer gets it back with cancel_order once its account exists again (after expiry)."""


def split_of_settled(event: OrderSettled) -> Split:
    return Split(
        gross=event.gross,
        provider=event.provider_amount,
        creator=event.creator_fee,
        protocol=event.protocol_fee,
        refund=event.refund,
    )


@dataclass(frozen=True)
class PaidCall:
    """One paid call to settle in a batch: a unique ``payment_id`` (32 bytes, or any id that
    is hashed to 32 with :func:`payment_id_bytes`), its ``amount`` in micro-USDC, the
    ``model`` (slug, or model account) and ``provider`` (provider account, not authority)."""

    payment_id: bytes | str
    amount: int
    model: str | Pubkey
    provider: Pubkey

    @property
    def id32(self) -> bytes:
        return payment_id_bytes(self.payment_id)


@dataclass(frozen=True)
class BatchResult:
    """A settled batch: ``split`` is what the program paid for its ``total``; ``shares[i]`` is
    call ``i``'s attribution (``bourse_chain.money.attribute``). ``signature`` is None when the
    batch was found already settled (a retry)."""

    stream: Pubkey
    model: Pubkey
    provider: Pubkey
    sequence: int
    root: bytes
    running_hash: bytes
    split: Split
    calls: tuple[PaidCall, ...]
    shares: tuple[Parts, ...]
    signature: Signature | None = None
    _leaves: tuple[bytes, ...] = field(default=(), repr=False, compare=False)

    @property
    def count(self) -> int:
        return len(self.calls)

    @property
    def total(self) -> int:
        return self.split.gross

    def prove(self, call: PaidCall | bytes | str) -> CallProof:
        """The inclusion proof of one call of this batch (by call or payment id)."""
        pid = call.id32 if isinstance(call, PaidCall) else payment_id_bytes(call)
        ids = [c.id32 for c in self.calls]
        if pid not in ids:
            raise KeyError(f"payment {pid.hex()} is not in batch {self.sequence} of {self.stream}")
        i = ids.index(pid)
        leaves = list(self._leaves) or merkle.leaves([(c.id32, c.amount) for c in self.calls])
        prefix = sum(c.amount for c in self.calls[:i])
        return CallProof(
            payment_id=pid,
            amount=self.calls[i].amount,
            prefix=prefix,
            index=i,
            count=self.count,
            total=self.total,
            siblings=tuple(merkle.proof(leaves, i)),
            root=self.root,
            sequence=self.sequence,
            model=self.model,
            provider=self.provider,
            share=self.shares[i],
        )


class Settlement:
    """Settlement of orders and paid calls by the config's settler key.

    Build it with :meth:`load` (fetches the config); ``treasury`` defaults to the treasury
    authority's associated USDC account. Instructions come from :class:`Market` (the one
    builder per instruction).
    """

    def __init__(
        self,
        client: BourseClient,
        settler: Keypair | None,
        config: Config,
        *,
        treasury: Pubkey | None = None,
    ) -> None:
        """``settler=None`` builds a payer-side instance that can only open holds."""
        if settler is not None and config.settler != settler.pubkey():
            raise SettlerMismatch(
                f"{settler.pubkey()} is not the config's settler {config.settler}"
            )
        self.client = client
        self._settler = settler
        self.config = config
        self.program_id = client.program_id
        self.market = Market(
            usdc_mint=config.usdc_mint,
            treasury_authority=config.treasury_authority,
            usdc_token_program=config.usdc_token_program,
            program_id=client.program_id,
            treasury_account=treasury,
        )
        self.treasury = self.market.treasury
        self._models: dict[str, tuple[Pubkey, Model]] = {}
        self._providers: dict[Pubkey, Provider] = {}
        self._batches: dict[bytes, BatchResult] = {}
        self._stream_locks: dict[Pubkey, asyncio.Lock] = {}

    @property
    def settler(self) -> Keypair:
        if self._settler is None:
            raise SettlerMismatch("this Settlement has no settler key (it only opens holds)")
        return self._settler

    @classmethod
    async def load(
        cls, client: BourseClient, settler: Keypair, *, treasury: Pubkey | None = None
    ) -> Settlement:
        """Fetch the program's config and build the settlement API on it."""
        address = config_pda(client.program_id)[0]
        config = await client.fetch(address, Config)
        if config is None:
            raise SettlementError(f"config {address} not found: is the program initialized?")
        return cls(client, settler, config, treasury=treasury)

    # --------------------------------------------------------------- lookups

    async def model(self, model_slug: str | Pubkey) -> tuple[Pubkey, Model]:
        """The model's address and account (cached: the fields used never change)."""
        key = str(model_slug)
        cached = self._models.get(key)
        if cached is not None:
            return cached
        address = (
            model_slug
            if isinstance(model_slug, Pubkey)
            else model_pda(model_slug, self.program_id)[0]
        )
        model = await self.client.fetch(address, Model)
        if model is None:
            raise SettlementError(f"model {model_slug!r} ({address}) is not registered")
        self._models[key] = (address, model)
        return address, model

    async def provider(self, provider: Pubkey) -> Provider:
        """The provider account (``provider`` is its PDA, not its authority); cached."""
        cached = self._providers.get(provider)
        if cached is not None:
            return cached
        account = await self.client.fetch(provider, Provider)
        if account is None:
            raise SettlementError(f"provider {provider} is not registered")
        self._providers[provider] = account
        return account

    def payer_token(self, payer: Pubkey) -> Pubkey:
        """The payer's associated USDC account (the source of holds)."""
        return self.market.usdc_account(payer)

    def order_address(self, payer: Pubkey, idempotency_key: str) -> Pubkey:
        return order_address(payer, order_nonce(idempotency_key), self.program_id)

    def inbox(self, model: Pubkey) -> Pubkey:
        """The model's x402 payment inbox (``payTo`` = :meth:`inbox_authority`)."""
        return self.market.inbox(model)

    def inbox_authority(self, model: Pubkey) -> Pubkey:
        return self.market.inbox_authority(model)

    async def ensure_inbox(self, model_slug: str | Pubkey) -> Pubkey:
        """Create the model's inbox if it does not exist yet (once per model; nobody can
        close it, so its rent is never taken back)."""
        model_addr, _ = await self.model(model_slug)
        inbox = self.inbox(model_addr)
        if await self.client.get_account(inbox) is None:
            await self.client.send(
                [self.market.create_inbox(self.settler.pubkey(), model_addr)], [self.settler]
            )
        return inbox

    # ----------------------------------------------------------------- holds

    async def open_hold(
        self,
        payer: Keypair,
        model_slug: str,
        provider: Pubkey,
        max_input_tokens: int,
        max_output_tokens: int,
        ttl_secs: int,
        idempotency_key: str,
        *,
        max_hold: int | None = None,
    ) -> Hold:
        """Escrow the upper-bound charge of a call (``open_order``, signed and paid by
        ``payer``); returns the existing order when this idempotency key already opened one.

        The payer signs ``max_hold`` (default: the hold quoted from the offer now), so a price
        raised before the order lands fails with ``HoldAboveMax`` and moves nothing.
        Raises ``HoldAlreadyUsed`` if the key's order was already opened and closed, and
        ``IdempotencyConflict`` if the key's open order is not the one this request opens
        (another model, provider, hold or a shorter TTL).
        """
        payer_key = payer.pubkey()
        nonce = order_nonce(idempotency_key)
        order_addr = order_address(payer_key, nonce, self.program_id)
        model_addr, _ = await self.model(model_slug)
        offer_addr = offer_pda(model_addr, provider, self.program_id)[0]
        request = (model_addr, provider, max_input_tokens, max_output_tokens, ttl_secs)

        existing = await self.client.fetch(order_addr, Order)
        if existing is not None:
            return self._existing_hold(order_addr, existing, request, max_hold)
        if await self._has_history(order_addr):
            raise HoldAlreadyUsed(
                f"idempotency key {idempotency_key!r}: order {order_addr} was already closed"
            )
        if max_hold is None:
            offer = await self.client.fetch(offer_addr, Offer)
            if offer is None:
                raise SettlementError(f"no offer {offer_addr} of provider {provider}")
            max_hold = usage_charge(
                offer.price_input_per_mtok,
                offer.price_output_per_mtok,
                max_input_tokens,
                max_output_tokens,
            )
        ix = self.market.open_order(
            payer_key,
            model_slug,
            None,
            nonce,
            max_input_tokens,
            max_output_tokens,
            ttl_secs,
            max_hold=max_hold,
            offer=offer_addr,
        )
        try:
            result = await self.client.send([ix], [payer])
        except cm_errors.AlreadyInitialized:
            # A concurrent or earlier attempt opened it after our look-up.
            found = await self.client.fetch(order_addr, Order)
            if found is None:
                raise
            return self._existing_hold(order_addr, found, request, max_hold)
        order = await self.client.fetch(order_addr, Order)
        if order is None:  # settled already between landing and our read
            opened = [
                e for e in result.events if isinstance(e, OrderOpened) and e.order == order_addr
            ]
            raise HoldAlreadyUsed(f"order {order_addr} closed right after opening ({opened})")
        return _hold(order_addr, order, result.signature)

    def _existing_hold(
        self,
        order_addr: Pubkey,
        order: Order,
        request: tuple[Pubkey, Pubkey, int, int, int],
        max_hold: int | None,
    ) -> Hold:
        model, provider, max_in, max_out, ttl = request
        expected = usage_charge(
            order.price_input_per_mtok, order.price_output_per_mtok, max_in, max_out
        )
        problems = []
        if order.model != model or order.provider != provider:
            problems.append(f"model {order.model} / provider {order.provider}")
        if order.hold != expected or order.refund_pending:
            problems.append(f"hold {order.hold} (this request holds {expected})")
        if max_hold is not None and order.hold > max_hold:
            problems.append(f"hold {order.hold} above max_hold {max_hold}")
        if order.expires_at - order.opened_at < ttl:
            problems.append(f"ttl {order.expires_at - order.opened_at}s (asked {ttl}s)")
        if problems:
            raise IdempotencyConflict(
                f"order {order_addr} is not this request's: " + ", ".join(problems)
            )
        logger.info("open_hold: order %s already open (idempotent retry)", order_addr)
        return _hold(order_addr, order, None)

    async def _has_history(self, address: Pubkey) -> bool:
        return any(ok for _, ok in await self.client.signatures_for_address(address, limit=10))

    async def settle(self, hold: Hold | Pubkey, input_tokens: int, output_tokens: int) -> Split:
        """Charge actual usage (capped at the hold), pay provider / creator / protocol, refund
        the rest and close the order (if the payer closed its USDC account the refund waits in
        the order for the payer to claim).

        A retry after the order was settled returns the split recorded by the transaction that
        settled it.  Raises ``HoldAlreadyReleased`` if it was released instead, and
        ``OrderNotFound`` if the address never held an order.
        """
        order_addr = hold.order if isinstance(hold, Hold) else hold
        order = await self.client.fetch(order_addr, Order)
        if order is None or order.refund_pending:
            return await self._recorded_settlement(order_addr)
        ix = await self._settle_order_ix(order_addr, order, input_tokens, output_tokens)
        try:
            result = await self.client.send([ix], [self.settler])
        except (*_ORDER_GONE, cm_errors.OrderAlreadySettled):
            return await self._recorded_settlement(order_addr)
        return self._settled_split(result, order_addr).check_hold(order.hold)

    async def _settle_order_ix(
        self, order_addr: Pubkey, order: Order, input_tokens: int, output_tokens: int
    ) -> Instruction:
        model = await self.client.fetch(order.model, Model)
        if model is None:
            raise SettlementError(f"model {order.model} of order {order_addr} not found")
        provider = await self.provider(order.provider)
        return self.market.settle_order(
            self.settler.pubkey(),
            order=order_addr,
            payer=order.payer,
            payer_token=order.payer_token,
            model=order.model,
            provider=order.provider,
            provider_payout=provider.payout,
            revenue_vault=model.revenue_vault,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    @staticmethod
    def _settled_split(result: TxResult, order_addr: Pubkey) -> Split:
        for event in result.events:
            if isinstance(event, OrderSettled) and event.order == order_addr:
                return split_of_settled(event)
        raise SettlementError(f"no OrderSettled event for {order_addr} in {result.signature}")

    async def release(self, hold: Hold | Pubkey) -> Split:
        """Cancel the order as settler (upstream failure): the whole hold goes back to the
        payer.  Idempotent; raises ``HoldAlreadySettled`` if the order was settled, and
        ``PayerTokenClosed`` if the payer closed the account the refund goes to."""
        order_addr = hold.order if isinstance(hold, Hold) else hold
        order = await self.client.fetch(order_addr, Order)
        if order is None:
            return await self._recorded_release(order_addr)
        if order.refund_pending:
            raise HoldAlreadySettled(order_addr, await self._recorded_settlement(order_addr))
        if await self.client.get_account(order.payer_token) is None:
            raise PayerTokenClosed(
                f"payer token {order.payer_token} of order {order_addr} is closed; the payer "
                "can cancel after expiry once it exists again"
            )
        ix = self.market.cancel_order(
            self.settler.pubkey(),
            order=order_addr,
            payer=order.payer,
            payer_token=order.payer_token,
        )
        try:
            result = await self.client.send([ix], [self.settler])
        except _ORDER_GONE:
            return await self._recorded_release(order_addr)
        for event in result.events:
            if isinstance(event, OrderCancelled) and event.order == order_addr:
                return Split.refund_only(event.refund).check_hold(order.hold)
        raise SettlementError(f"no OrderCancelled event for {order_addr} in {result.signature}")

    async def recorded_outcome(self, order_addr: Pubkey) -> OrderSettled | OrderCancelled | None:
        """The event of the newest transaction that settled or closed ``order_addr``, from the
        address's history; None if it was never settled or closed."""
        for signature, ok in await self.client.signatures_for_address(order_addr):
            if not ok:
                continue
            for event in await self.client.get_events(signature):
                if isinstance(event, OrderSettled | OrderCancelled) and event.order == order_addr:
                    return event
        return None

    async def _recorded_settlement(self, order_addr: Pubkey) -> Split:
        event = await self.recorded_outcome(order_addr)
        if isinstance(event, OrderSettled):
            logger.info("settle: order %s was already settled; returning its split", order_addr)
            return split_of_settled(event)
        if isinstance(event, OrderCancelled):
            raise HoldAlreadyReleased(order_addr, Split.refund_only(event.refund))
        raise OrderNotFound(f"no order at {order_addr} and none in its history")

    async def _recorded_release(self, order_addr: Pubkey) -> Split:
        event = await self.recorded_outcome(order_addr)
        if isinstance(event, OrderCancelled):
            logger.info("release: order %s was already released", order_addr)
            return Split.refund_only(event.refund)
        if isinstance(event, OrderSettled):
            raise HoldAlreadySettled(order_addr, split_of_settled(event))
        raise OrderNotFound(f"no order at {order_addr} and none in its history")

    # --------------------------------------------------------------- batches

    async def settle_batch(
        self,
        calls: Sequence[PaidCall],
        *,
        source: Pubkey | None = None,
        source_authority: Keypair | None = None,
        sequence: int | None = None,
    ) -> BatchResult:
        """Settle ``calls`` (all of one model and provider, distinct payment ids) in one
        ``settle_batch`` instruction, from the model's x402 inbox, or from ``source`` (a USDC
        account ``source_authority`` — default the settler — controls: the credits rail).

        Idempotent and resumable: the batch is identified by its Merkle root, so calling again
        with the same calls (after a timeout, or a crash between send and confirm) returns the
        batch the stream recorded, and sends nothing. Retry a batch before sending the next
        one of the same (model, provider).

        ``sequence`` (from :meth:`plan_batch`, recorded by the caller before sending) pins the
        batch to that stream sequence: if the stream has passed it, the batch recorded there is
        returned when it is this one, and :class:`BatchSequenceTaken` is raised when another
        batch holds it (this one can then never land); it is never sent at another sequence.
        A crashed caller resumes safely however many batches the stream settled since.
        """
        planned = await self.plan_batch(calls)
        plan, stream = planned.plan, planned.stream
        model_addr, model = await self.model(calls[0].model)
        provider = await self.provider(calls[0].provider)
        lock = self._stream_locks.setdefault(stream, asyncio.Lock())
        async with lock:
            for _ in range(3):
                state = await self.client.fetch(stream, SettlementStream)
                next_sequence = state.next_sequence if state is not None else 0
                if sequence is not None and next_sequence > sequence:
                    return await self._batch_at(stream, sequence, plan, model_addr)
                if sequence is not None and next_sequence < sequence:
                    raise SettlementError(
                        f"stream {stream} is at {next_sequence}: batch {sequence} cannot be sent"
                    )
                if sequence is None:
                    recorded = await self._recorded_batch(stream, state, plan, model_addr)
                    if recorded is not None:
                        return recorded
                ix = self.market.settle_batch(
                    self.settler.pubkey(),
                    model=model_addr,
                    provider=calls[0].provider,
                    provider_payout=provider.payout,
                    revenue_vault=model.revenue_vault,
                    sequence=next_sequence,
                    count=len(calls),
                    total=plan.total,
                    root=plan.root,
                    source=source,
                    source_authority=source_authority.pubkey() if source_authority else None,
                )
                signers = [self.settler]
                if source_authority is not None and source_authority != self.settler:
                    signers.append(source_authority)
                try:
                    result = await self.client.send([ix], signers)
                except cm_errors.WrongSequence:
                    logger.info("settle_batch: stream %s moved on; re-reading it", stream)
                    continue
                for event in result.events:
                    if isinstance(event, BatchSettled) and bytes(event.root) == plan.root:
                        return self._result(stream, model_addr, plan, event, result.signature)
                raise SettlementError(f"no BatchSettled event in {result.signature}")
        raise SettlementError(f"stream {stream} kept moving; batch not settled")

    async def plan_batch(self, calls: Sequence[PaidCall]) -> PlannedBatch:
        """Check ``calls`` as :meth:`settle_batch` does and say where they would go: the
        stream, its next sequence, the Merkle root and the total (what a caller records
        before sending, to resume with ``settle_batch(calls, sequence=…)``)."""
        if not calls:
            raise ValueError("a batch has at least one call")
        first = calls[0]
        if any(str(c.model) != str(first.model) or c.provider != first.provider for c in calls):
            raise ValueError("a batch settles the calls of one (model, provider)")
        ids = [c.id32 for c in calls]
        if len(set(ids)) != len(ids):
            raise IdempotencyConflict("a payment id appears twice in the batch")
        if any(c.amount <= 0 for c in calls):
            raise ValueError("every call amount must be positive")
        model_addr, _ = await self.model(first.model)
        await self.provider(first.provider)
        leaves = merkle.leaves([(pid, c.amount) for pid, c in zip(ids, calls, strict=True)])
        plan = _Plan(tuple(calls), tuple(leaves), merkle.root(leaves), sum(c.amount for c in calls))
        stream = self.market.stream(model_addr, first.provider)
        state = await self.client.fetch(stream, SettlementStream)
        return PlannedBatch(stream, state.next_sequence if state is not None else 0, plan)

    async def _batch_at(
        self, stream: Pubkey, sequence: int, plan: _Plan, model: Pubkey
    ) -> BatchResult:
        """The batch the stream recorded at ``sequence``, if it is ``plan``'s."""
        event = await batch_event(self.client, stream, sequence)
        if event is None:
            raise SettlementError(f"stream {stream} has no event for batch {sequence}")
        if bytes(event.root) != plan.root:
            raise BatchSequenceTaken(
                f"batch {sequence} of stream {stream} is another batch (root "
                f"{bytes(event.root).hex()}): this one never landed"
            )
        if (event.count, event.total) != (len(plan.calls), plan.total):
            raise IdempotencyConflict(f"root {plan.root.hex()} recorded with other totals")
        logger.info("settle_batch: batch %d already settled; returning it", sequence)
        return self._result(stream, model, plan, event, None)

    async def settle_batches(
        self,
        calls: Sequence[PaidCall],
        *,
        source: Pubkey | None = None,
        source_authority: Keypair | None = None,
    ) -> list[BatchResult]:
        """:meth:`settle_batch` for calls of several (model, provider) pairs: one batch per
        pair (in the order each pair first appears, calls keeping their order), one after
        the other. Same idempotency: calling again with the same calls sends nothing."""
        groups: dict[tuple[str, Pubkey], list[PaidCall]] = {}
        for call in calls:
            groups.setdefault((str(call.model), call.provider), []).append(call)
        return [
            await self.settle_batch(group, source=source, source_authority=source_authority)
            for group in groups.values()
        ]

    async def _recorded_batch(
        self, stream: Pubkey, state: SettlementStream | None, plan: _Plan, model: Pubkey
    ) -> BatchResult | None:
        """The batch already recorded with this root (the stream's last one), if any."""
        if state is None or state.next_sequence == 0 or bytes(state.last_root) != plan.root:
            return None
        if (state.last_count, state.last_total) != (len(plan.calls), plan.total):
            raise IdempotencyConflict(f"root {plan.root.hex()} recorded with other totals")
        event = await batch_event(self.client, stream, state.next_sequence - 1)
        if event is None:
            raise SettlementError(f"stream {stream} has no event for its last batch")
        logger.info("settle_batch: batch %d already settled; returning it", event.sequence)
        return self._result(stream, model, plan, event, None)

    def _result(
        self,
        stream: Pubkey,
        model: Pubkey,
        plan: _Plan,
        event: BatchSettled,
        signature: Signature | None,
    ) -> BatchResult:
        parts = Parts(event.provider_amount, event.creator_fee, event.protocol_fee)
        split = Split(
            gross=event.total,
            provider=event.provider_amount,
            creator=event.creator_fee,
            protocol=event.protocol_fee,
        )
        result = BatchResult(
            stream=stream,
            model=model,
            provider=event.provider,
            sequence=event.sequence,
            root=plan.root,
            running_hash=bytes(event.running_hash),
            split=split,
            calls=plan.calls,
            shares=tuple(attribute([c.amount for c in plan.calls], parts)),
            signature=signature,
            _leaves=plan.leaves,
        )
        for call in plan.calls:
            self._batches[call.id32] = result
        return result

    def prove(self, call: PaidCall | bytes | str) -> CallProof:
        """The inclusion proof of a call settled by this instance (see
        :meth:`BatchResult.prove` for calls settled elsewhere)."""
        pid = call.id32 if isinstance(call, PaidCall) else payment_id_bytes(call)
        batch = self._batches.get(pid)
        if batch is None:
            raise KeyError(f"payment {pid.hex()} was not settled by this Settlement")
        return batch.prove(pid)


@dataclass(frozen=True)
class _Plan:
    calls: tuple[PaidCall, ...]
    leaves: tuple[bytes, ...]
    root: bytes
    total: int


@dataclass(frozen=True)
class PlannedBatch:
    """Where a batch would go (:meth:`Settlement.plan_batch`): its stream and that stream's
    next sequence, and the batch's Merkle root and total."""

    stream: Pubkey
    sequence: int
    plan: _Plan

    @property
    def root(self) -> bytes:
        return self.plan.root

    @property
    def total(self) -> int:
        return self.plan.total

    @property
    def count(self) -> int:
        return len(self.plan.calls)


def _hold(order_addr: Pubkey, order: Order, signature: Signature | None) -> Hold:
    return Hold(
        order=order_addr,
        payer=order.payer,
        payer_token=order.payer_token,
        model=order.model,
        provider=order.provider,
        offer=order.offer,
        nonce=order.nonce,
        amount=order.hold,
        price_input_per_mtok=order.price_input_per_mtok,
        price_output_per_mtok=order.price_output_per_mtok,
        opened_at=order.opened_at,
        expires_at=order.expires_at,
        signature=signature,
    )


__all__ = [
    "BatchResult",
    "BatchSequenceTaken",
    "CallProof",
    "Hold",
    "HoldAlreadyReleased",
    "HoldAlreadySettled",
    "HoldAlreadyUsed",
    "IdempotencyConflict",
    "OrderNotFound",
    "PaidCall",
    "PayerTokenClosed",
    "PlannedBatch",
    "Settlement",
    "SettlementError",
    "SettlerMismatch",
    "Split",
    "order_nonce",
    "payment_id_bytes",
]
