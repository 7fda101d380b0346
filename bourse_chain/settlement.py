"""The settlement API the gateway imports: holds, settlement of usage, release, and settlement
of payments collected off-chain — each one idempotent.

* :meth:`Settlement.open_hold` derives the order nonce from an idempotency key, so a call
  retried after a timeout finds the order the first call opened instead of opening another.
* :meth:`Settlement.settle` / :meth:`Settlement.release` close the order; a retry after the
  order was closed returns what the original transaction recorded (its ``OrderSettled`` /
  ``OrderCancelled`` event, found through the order address's transaction history), never
  charging twice.
* :meth:`Settlement.settle_payment` relies on the program's receipt PDA
  ``["payment", sha256(payment_id)]``: a replay fails with ``AlreadyInitialized`` and the
  split stored in the receipt is returned.  :meth:`Settlement.settle_payments` packs many
  into as few transactions as fit (1,232 bytes, the compute-unit cap).

All amounts are micro-USDC.  Fees round up and the provider gets the remainder (see
``idl/compute_market_spec.py``); every :class:`~bourse_chain.results.Split` checks that its
parts sum to the gross, and order splits that ``gross + refund == hold``.
See ``docs/settlement.md`` for runnable examples.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
)

from bourse_chain.client import BourseClient, TransactionExpired
from bourse_chain.errors import BourseError, TransactionFailed
from bourse_chain.generated.compute_market import errors as cm_errors
from bourse_chain.generated.compute_market.accounts import (
    Config,
    Model,
    Order,
    PaymentReceipt,
    Provider,
)
from bourse_chain.generated.compute_market.constants import SYSTEM_PROGRAM_ID
from bourse_chain.generated.compute_market.events import (
    OrderCancelled,
    OrderOpened,
    OrderSettled,
    PaymentSettled,
)
from bourse_chain.generated.compute_market.instructions import (
    CancelOrderAccounts,
    OpenOrderAccounts,
    OpenOrderArgs,
    SettleOrderAccounts,
    SettleOrderArgs,
    SettlePaymentAccounts,
    SettlePaymentArgs,
    cancel_order,
    open_order,
    settle_order,
    settle_payment,
)
from bourse_chain.market import order_nonce, payment_id_bytes
from bourse_chain.pda import (
    config_pda,
    model_pda,
    offer_pda,
    order_pda,
    payment_receipt_pda,
)
from bourse_chain.results import Hold, Split, TxResult
from bourse_chain.tx import MAX_COMPUTE_UNIT_LIMIT, ComputeBudget, fits, with_compute_budget

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


class BatchSettlementError(SettlementError):
    """Some items of :meth:`Settlement.settle_payments` failed; the others are settled.

    ``splits[i]`` is the split of item ``i`` (None where it failed); ``errors`` maps the
    failed items' indexes to their errors.
    """

    def __init__(self, splits: list[Split | None], errors: dict[int, BourseError]) -> None:
        self.splits = splits
        self.errors = errors
        first = min(errors)
        super().__init__(
            f"{len(errors)} of {len(splits)} payments failed; item {first}: {errors[first]}"
        )


def split_of_settled(event: OrderSettled) -> Split:
    return Split(
        gross=event.gross,
        provider=event.provider_amount,
        creator=event.creator_fee,
        protocol=event.protocol_fee,
        refund=event.refund,
    )


def split_of_receipt(receipt: PaymentReceipt) -> Split:
    return Split(
        gross=receipt.amount,
        provider=receipt.provider_amount,
        creator=receipt.creator_fee,
        protocol=receipt.protocol_fee,
    )


def split_of_payment(event: PaymentSettled) -> Split:
    return Split(
        gross=event.gross,
        provider=event.provider_amount,
        creator=event.creator_fee,
        protocol=event.protocol_fee,
    )


@dataclass(frozen=True)
class PaymentItem:
    """One collected payment for :meth:`Settlement.settle_payments`."""

    model_slug: str
    provider: Pubkey
    amount: int
    payment_id: str | bytes
    source: Pubkey
    source_authority: Keypair


@dataclass(frozen=True)
class _Resolved:
    model: Pubkey
    revenue_vault: Pubkey
    provider_payout: Pubkey


class Settlement:
    """Settlement of orders and payments by the config's settler key.

    Build it with :meth:`load` (fetches the config); ``treasury`` defaults to the treasury
    authority's associated USDC account.
    """

    def __init__(
        self,
        client: BourseClient,
        settler: Keypair,
        config: Config,
        *,
        treasury: Pubkey | None = None,
        max_batch_concurrency: int = 4,
        lookup_tables: Sequence[AddressLookupTableAccount] = (),
    ) -> None:
        if config.settler != settler.pubkey():
            raise SettlerMismatch(
                f"{settler.pubkey()} is not the config's settler {config.settler}"
            )
        self.client = client
        self.settler = settler
        self.config = config
        self.program_id = client.program_id
        self.treasury = treasury or get_associated_token_address(
            config.treasury_authority, config.usdc_mint, config.usdc_token_program
        )
        self._concurrency = max(1, max_batch_concurrency)
        #: Address lookup tables used for payment transactions (see :meth:`lookup_addresses`).
        self.lookup_tables = tuple(lookup_tables)
        self._models: dict[str, tuple[Pubkey, Model]] = {}
        self._providers: dict[Pubkey, Provider] = {}

    @classmethod
    async def load(
        cls,
        client: BourseClient,
        settler: Keypair,
        *,
        treasury: Pubkey | None = None,
        max_batch_concurrency: int = 4,
        lookup_tables: Sequence[Pubkey] = (),
    ) -> Settlement:
        """Fetch the program's config (and the given address lookup tables) and build the
        settlement API on it."""
        address = config_pda(client.program_id)[0]
        config = await client.fetch(address, Config)
        if config is None:
            raise SettlementError(f"config {address} not found: is the program initialized?")
        tables = []
        for table_address in lookup_tables:
            table = await client.fetch_lookup_table(table_address)
            if table is None:
                raise SettlementError(f"address lookup table {table_address} not found")
            tables.append(table)
        return cls(
            client,
            settler,
            config,
            treasury=treasury,
            max_batch_concurrency=max_batch_concurrency,
            lookup_tables=tables,
        )

    # --------------------------------------------------------------- lookups

    async def model(self, model_slug: str) -> tuple[Pubkey, Model]:
        """The model's address and account (cached: the fields used never change)."""
        cached = self._models.get(model_slug)
        if cached is not None:
            return cached
        address = model_pda(model_slug, self.program_id)[0]
        model = await self.client.fetch(address, Model)
        if model is None:
            raise SettlementError(f"model {model_slug!r} ({address}) is not registered")
        self._models[model_slug] = (address, model)
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
        """The payer's associated USDC account (the default source of holds)."""
        return get_associated_token_address(
            payer, self.config.usdc_mint, self.config.usdc_token_program
        )

    def order_address(self, payer: Pubkey, idempotency_key: str) -> Pubkey:
        return order_pda(payer, order_nonce(idempotency_key), self.program_id)[0]

    def receipt_address(self, payment_id: str | bytes) -> Pubkey:
        return payment_receipt_pda(payment_id_bytes(payment_id), self.program_id)[0]

    async def lookup_addresses(
        self, model_slugs: Sequence[str], providers: Sequence[Pubkey], sources: Sequence[Pubkey]
    ) -> list[Pubkey]:
        """The accounts settle_payment transactions repeat, for an address lookup table:
        config, mint, token and system programs, treasury, each model and its revenue vault,
        each provider and its payout account, and the (non-signer) sources."""
        out: dict[Pubkey, None] = dict.fromkeys(
            [
                config_pda(self.program_id)[0],
                self.config.usdc_mint,
                self.config.usdc_token_program,
                SYSTEM_PROGRAM_ID,
                self.treasury,
            ]
        )
        for slug in model_slugs:
            address, model = await self.model(slug)
            out.update(dict.fromkeys([address, model.revenue_vault]))
        for provider in providers:
            out.update(dict.fromkeys([provider, (await self.provider(provider)).payout]))
        out.update(dict.fromkeys(sources))
        return list(out)

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
        payer_token: Pubkey | None = None,
    ) -> Hold:
        """Escrow the upper-bound charge of a call (``open_order``, signed and paid by
        ``payer``); returns the existing order when this idempotency key already opened one.

        Raises ``HoldAlreadyUsed`` if the key's order was already opened and closed, and
        ``IdempotencyConflict`` if the key's open order is for another model or provider.
        """
        payer_key = payer.pubkey()
        nonce = order_nonce(idempotency_key)
        order_addr = order_pda(payer_key, nonce, self.program_id)[0]
        model_addr, _ = await self.model(model_slug)
        offer_addr = offer_pda(model_addr, provider, self.program_id)[0]

        existing = await self.client.fetch(order_addr, Order)
        if existing is not None:
            return self._existing_hold(order_addr, existing, model_addr, provider)
        if await self._has_history(order_addr):
            raise HoldAlreadyUsed(
                f"idempotency key {idempotency_key!r}: order {order_addr} was already closed"
            )
        ix = open_order(
            OpenOrderArgs(
                nonce=nonce,
                max_input_tokens=max_input_tokens,
                max_output_tokens=max_output_tokens,
                ttl_secs=ttl_secs,
            ),
            OpenOrderAccounts(
                payer=payer_key,
                model=model_addr,
                offer=offer_addr,
                payer_token=payer_token or self.payer_token(payer_key),
                usdc_mint=self.config.usdc_mint,
                usdc_token_program=self.config.usdc_token_program,
            ),
            self.program_id,
        )
        try:
            result = await self.client.send([ix], [payer])
        except cm_errors.AlreadyInitialized:
            # A concurrent or earlier attempt opened it after our look-up.
            found = await self.client.fetch(order_addr, Order)
            if found is None:
                raise
            return self._existing_hold(order_addr, found, model_addr, provider)
        order = await self.client.fetch(order_addr, Order)
        if order is None:  # settled already between landing and our read
            opened = [
                e for e in result.events if isinstance(e, OrderOpened) and e.order == order_addr
            ]
            raise HoldAlreadyUsed(f"order {order_addr} closed right after opening ({opened})")
        return _hold(order_addr, order, result.signature)

    def _existing_hold(
        self, order_addr: Pubkey, order: Order, model: Pubkey, provider: Pubkey
    ) -> Hold:
        if order.model != model or order.provider != provider:
            raise IdempotencyConflict(
                f"order {order_addr} exists for model {order.model} / provider {order.provider}"
            )
        logger.info("open_hold: order %s already open (idempotent retry)", order_addr)
        return _hold(order_addr, order, None)

    async def _has_history(self, address: Pubkey) -> bool:
        return any(ok for _, ok in await self.client.signatures_for_address(address, limit=10))

    async def settle(self, hold: Hold | Pubkey, input_tokens: int, output_tokens: int) -> Split:
        """Charge actual usage (capped at the hold), pay provider / creator / protocol, refund
        the rest and close the order.

        A retry after the order was closed returns the split recorded by the transaction that
        closed it.  Raises ``HoldAlreadyReleased`` if it was released instead, and
        ``OrderNotFound`` if the address never held an order.
        """
        order_addr = hold.order if isinstance(hold, Hold) else hold
        order = await self.client.fetch(order_addr, Order)
        if order is None:
            return await self._recorded_settlement(order_addr)
        ix = await self._settle_order_ix(order_addr, order, input_tokens, output_tokens)
        try:
            result = await self.client.send([self._recreate_payer_token(order), ix], [self.settler])
        except _ORDER_GONE:
            return await self._recorded_settlement(order_addr)
        return self._settled_split(result, order_addr).check_hold(order.hold)

    async def _settle_order_ix(
        self, order_addr: Pubkey, order: Order, input_tokens: int, output_tokens: int
    ) -> Instruction:
        model = await self.client.fetch(order.model, Model)
        if model is None:
            raise SettlementError(f"model {order.model} of order {order_addr} not found")
        provider = await self.provider(order.provider)
        return settle_order(
            SettleOrderArgs(input_tokens=input_tokens, output_tokens=output_tokens),
            SettleOrderAccounts(
                settler=self.settler.pubkey(),
                order=order_addr,
                payer=order.payer,
                payer_token=order.payer_token,
                model=order.model,
                provider=order.provider,
                provider_payout=provider.payout,
                revenue_vault=model.revenue_vault,
                treasury=self.treasury,
                usdc_mint=self.config.usdc_mint,
                usdc_token_program=self.config.usdc_token_program,
            ),
            self.program_id,
        )

    def _recreate_payer_token(self, order: Order) -> Instruction:
        """Idempotently (re-)create the payer's associated USDC account, where the refund
        goes: a payer who closed it cannot block settlement (the program requires holds to
        come from that account, so it is always re-creatable)."""
        return create_idempotent_associated_token_account(
            self.settler.pubkey(),
            order.payer,
            self.config.usdc_mint,
            self.config.usdc_token_program,
        )

    @staticmethod
    def _settled_split(result: TxResult, order_addr: Pubkey) -> Split:
        for event in result.events:
            if isinstance(event, OrderSettled) and event.order == order_addr:
                return split_of_settled(event)
        raise SettlementError(f"no OrderSettled event for {order_addr} in {result.signature}")

    async def release(self, hold: Hold | Pubkey) -> Split:
        """Cancel the order as settler (upstream failure): the whole hold goes back to the
        payer.  Idempotent; raises ``HoldAlreadySettled`` if the order was settled."""
        order_addr = hold.order if isinstance(hold, Hold) else hold
        order = await self.client.fetch(order_addr, Order)
        if order is None:
            return await self._recorded_release(order_addr)
        ix = cancel_order(
            CancelOrderAccounts(
                authority=self.settler.pubkey(),
                order=order_addr,
                payer=order.payer,
                payer_token=order.payer_token,
                usdc_mint=self.config.usdc_mint,
                usdc_token_program=self.config.usdc_token_program,
            ),
            self.program_id,
        )
        try:
            result = await self.client.send([self._recreate_payer_token(order), ix], [self.settler])
        except _ORDER_GONE:
            return await self._recorded_release(order_addr)
        for event in result.events:
            if isinstance(event, OrderCancelled) and event.order == order_addr:
                return Split.refund_only(event.refund).check_hold(order.hold)
        raise SettlementError(f"no OrderCancelled event for {order_addr} in {result.signature}")

    async def recorded_outcome(self, order_addr: Pubkey) -> OrderSettled | OrderCancelled | None:
        """The event of the newest transaction that closed ``order_addr`` (settled or
        cancelled), from the address's history; None if it was never closed."""
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

    # -------------------------------------------------------------- payments

    async def _resolve(self, model_slug: str, provider: Pubkey) -> _Resolved:
        model_addr, model = await self.model(model_slug)
        provider_account = await self.provider(provider)
        return _Resolved(model_addr, model.revenue_vault, provider_account.payout)

    def _payment_ix(self, item: PaymentItem, pid: bytes, r: _Resolved) -> Instruction:
        return settle_payment(
            SettlePaymentArgs(payment_id=pid, amount=item.amount),
            SettlePaymentAccounts(
                settler=self.settler.pubkey(),
                model=r.model,
                provider=item.provider,
                source=item.source,
                source_authority=item.source_authority.pubkey(),
                provider_payout=r.provider_payout,
                revenue_vault=r.revenue_vault,
                treasury=self.treasury,
                usdc_mint=self.config.usdc_mint,
                usdc_token_program=self.config.usdc_token_program,
            ),
            self.program_id,
        )

    def _check_receipt(self, item: PaymentItem, model: Pubkey, receipt: PaymentReceipt) -> Split:
        if (
            receipt.amount != item.amount
            or receipt.model != model
            or receipt.provider != item.provider
        ):
            raise IdempotencyConflict(
                f"payment id {item.payment_id!r} was settled for amount {receipt.amount}, "
                f"model {receipt.model}, provider {receipt.provider}"
            )
        return split_of_receipt(receipt)

    async def settle_payment(
        self,
        model_slug: str,
        provider: Pubkey,
        amount: int,
        payment_id: str | bytes,
        source: Pubkey,
        source_authority: Keypair,
    ) -> Split:
        """Split ``amount`` already collected in ``source`` (a USDC account that
        ``source_authority`` controls) between provider, creator and protocol, once per
        ``payment_id``; a replay returns the split stored in the payment's receipt."""
        item = PaymentItem(model_slug, provider, amount, payment_id, source, source_authority)
        pid = payment_id_bytes(payment_id)
        resolved = await self._resolve(model_slug, provider)
        ix = self._payment_ix(item, pid, resolved)
        try:
            result = await self.client.send([ix], _signers(self.settler, [item]))
        except cm_errors.AlreadyInitialized:
            return await self._receipt_split(item, pid, resolved.model)
        split = _payment_splits(result).get(pid)
        if split is None:  # event lost to log truncation: the receipt has it
            return await self._receipt_split(item, pid, resolved.model)
        return split

    async def _receipt_split(self, item: PaymentItem, pid: bytes, model: Pubkey) -> Split:
        address = payment_receipt_pda(pid, self.program_id)[0]
        receipt = await self.client.fetch(address, PaymentReceipt)
        if receipt is None:
            raise SettlementError(f"AlreadyInitialized but no receipt at {address}")
        logger.info("settle_payment: %s already settled; returning its receipt", address)
        return self._check_receipt(item, model, receipt)

    async def settle_payments(self, items: Sequence[PaymentItem]) -> list[Split]:
        """Settle many payments in as few transactions as fit; idempotent per item (those
        already settled are answered from their receipts and not sent again).

        Returns one split per item, in order.  If some items fail, the rest are still
        settled and ``BatchSettlementError`` carries both.  A transport failure (timeout)
        propagates: calling again with the same items is safe.
        """
        pids = [payment_id_bytes(i.payment_id) for i in items]
        resolved = [await self._resolve(i.model_slug, i.provider) for i in items]
        splits: list[Split | None] = [None] * len(items)
        errors: dict[int, BourseError] = {}

        receipts = await self.client.fetch_many(
            [payment_receipt_pda(p, self.program_id)[0] for p in pids], PaymentReceipt
        )
        pending: dict[bytes, list[int]] = {}
        for i, (item, pid, receipt) in enumerate(zip(items, pids, receipts, strict=True)):
            try:
                if receipt is not None:
                    splits[i] = self._check_receipt(item, resolved[i].model, receipt)
                else:
                    first = pending.setdefault(pid, [])
                    if first:
                        _check_same(items[first[0]], item)
                    first.append(i)
            except IdempotencyConflict as e:
                errors[i] = e

        leaders = [idxs[0] for idxs in pending.values()]
        ixs = {i: self._payment_ix(items[i], pids[i], resolved[i]) for i in leaders}
        batches = self._pack(leaders, ixs, items)
        logger.info(
            "settle_payments: %d items, %d to send in %d transaction(s)",
            len(items),
            len(leaders),
            len(batches),
        )
        gate = asyncio.Semaphore(self._concurrency)

        async def run(batch: list[int]) -> None:
            async with gate:
                await self._send_batch(batch, ixs, items, pids, resolved, splits, errors)

        await asyncio.gather(*(run(b) for b in batches))
        for idxs in pending.values():
            for i in idxs[1:]:
                if splits[idxs[0]] is not None:
                    splits[i] = splits[idxs[0]]
                elif idxs[0] in errors:
                    errors[i] = errors[idxs[0]]
        if errors:
            raise BatchSettlementError(splits, errors)
        return [s for s in splits if s is not None]

    def _pack(
        self, order: list[int], ixs: dict[int, Instruction], items: Sequence[PaymentItem]
    ) -> list[list[int]]:
        """Greedy packing in order: a transaction takes items while it still fits one packet
        with its compute-budget instructions and all its signers."""
        budget = ComputeBudget(MAX_COMPUTE_UNIT_LIMIT, 1)
        payer = self.settler.pubkey()
        batches: list[list[int]] = []
        current: list[int] = []
        for i in order:
            candidate = [*current, i]
            body = with_compute_budget([ixs[j] for j in candidate], budget)
            if current and not fits(payer, body, self.lookup_tables):
                batches.append(current)
                current = [i]
            else:
                current = candidate
        if current:
            batches.append(current)
        return batches

    async def _send_batch(
        self,
        batch: list[int],
        ixs: dict[int, Instruction],
        items: Sequence[PaymentItem],
        pids: Sequence[bytes],
        resolved: Sequence[_Resolved],
        splits: list[Split | None],
        errors: dict[int, BourseError],
    ) -> None:
        signers = _signers(self.settler, [items[i] for i in batch])
        try:
            result = await self.client.send(
                [ixs[i] for i in batch], signers, lookup_tables=self.lookup_tables
            )
        except cm_errors.AlreadyInitialized:
            # Some were settled meanwhile: answer those from receipts, resend the rest.
            await self._after_replay(batch, ixs, items, pids, resolved, splits, errors)
            return
        except TransactionExpired as e:
            # Checked before raising: no signing of this batch landed.
            for i in batch:
                errors[i] = e
            return
        except (cm_errors.ComputeMarketError, TransactionFailed) as e:
            if len(batch) == 1:
                errors[batch[0]] = e
                return
            # Isolate the failing item(s): halve and retry (also covers a CU overrun).
            mid = len(batch) // 2
            for half in (batch[:mid], batch[mid:]):
                await self._send_batch(half, ixs, items, pids, resolved, splits, errors)
            return
        by_pid = _payment_splits(result)
        missing = [i for i in batch if pids[i] not in by_pid]
        if missing:
            # A node keeps at most 10 KB of logs per transaction: events past that are lost
            # ("Log truncated"); the receipts the transaction created hold the same splits.
            logger.info(
                "%d events truncated from %s; reading receipts", len(missing), result.signature
            )
            receipts = await self.client.fetch_many(
                [payment_receipt_pda(pids[i], self.program_id)[0] for i in missing],
                PaymentReceipt,
            )
            for i, receipt in zip(missing, receipts, strict=True):
                if receipt is None:
                    raise SettlementError(f"{result.signature} landed without receipt for item {i}")
                by_pid[pids[i]] = split_of_receipt(receipt)
        for i in batch:
            splits[i] = by_pid[pids[i]]

    async def _after_replay(
        self,
        batch: list[int],
        ixs: dict[int, Instruction],
        items: Sequence[PaymentItem],
        pids: Sequence[bytes],
        resolved: Sequence[_Resolved],
        splits: list[Split | None],
        errors: dict[int, BourseError],
    ) -> None:
        receipts = await self.client.fetch_many(
            [payment_receipt_pda(pids[i], self.program_id)[0] for i in batch], PaymentReceipt
        )
        rest: list[int] = []
        for i, receipt in zip(batch, receipts, strict=True):
            if receipt is None:
                rest.append(i)
                continue
            try:
                splits[i] = self._check_receipt(items[i], resolved[i].model, receipt)
            except IdempotencyConflict as e:
                errors[i] = e
        if len(rest) == len(batch):  # no receipt appeared: not a replay after all
            err = cm_errors.AlreadyInitialized()
            for i in rest:
                errors[i] = err
            return
        if rest:
            await self._send_batch(rest, ixs, items, pids, resolved, splits, errors)


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


def _signers(settler: Keypair, items: Sequence[PaymentItem]) -> list[Keypair]:
    out = {settler.pubkey(): settler}
    for item in items:
        out.setdefault(item.source_authority.pubkey(), item.source_authority)
    return list(out.values())


def _payment_splits(result: TxResult) -> dict[bytes, Split]:
    return {
        bytes(e.payment_id): split_of_payment(e)
        for e in result.events
        if isinstance(e, PaymentSettled)
    }


def _check_same(a: PaymentItem, b: PaymentItem) -> None:
    if (a.model_slug, a.provider, a.amount) != (b.model_slug, b.provider, b.amount):
        raise IdempotencyConflict(f"payment id {b.payment_id!r} appears twice with other values")


__all__ = [
    "BatchSettlementError",
    "Hold",
    "HoldAlreadyReleased",
    "HoldAlreadySettled",
    "HoldAlreadyUsed",
    "IdempotencyConflict",
    "OrderNotFound",
    "PaymentItem",
    "Settlement",
    "SettlementError",
    "SettlerMismatch",
    "Split",
    "order_nonce",
    "payment_id_bytes",
]
