"""The async client: fetch and decode program accounts, and send transactions well.

:class:`BourseClient` wraps a solana-py ``AsyncClient`` (injected, or created by
:meth:`BourseClient.connect` from a cluster name or URL).  Sending a transaction
(:meth:`BourseClient.send`):

1. asks ``getRecentPrioritizationFees`` about the writable accounts and takes a percentile
   of the answers, capped, as the compute-unit price;
2. simulates with the maximum compute-unit limit and sets the limit to the units consumed
   times a margin, capped (a failed simulation raises the program's typed error, logs
   attached);
3. signs a v0 transaction (optionally with address lookup tables), sends it, and polls its
   status against the transaction's own ``lastValidBlockHeight``, rebroadcasting until then;
4. when that height passes without the transaction landing, checks once more that no
   earlier signature landed, then re-signs with a fresh blockhash (a bounded number of times);
5. reads the landed transaction (``getTransaction``) for slot, fee, compute units, logs and
   the program's events, or raises the typed error it failed with.

Every RPC answer is awaited with the AsyncClient's own timeout; nothing here keeps module
state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar, Protocol, Self, TypeVar

from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Commitment, Confirmed
from solana.rpc.core import RPCException
from solana.rpc.models import MemcmpOpts, TxOpts
from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTable, AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.rpc.responses import RpcSimulateTransactionResult
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_status import TransactionStatus

from bourse_chain.cluster import resolve_cluster
from bourse_chain.errors import AccountDecodeError, BourseError, TransactionFailed, from_tx_error
from bourse_chain.generated.compute_market import PROGRAM_ID
from bourse_chain.generated.compute_market.accounts import Model, Offer, Order, Provider
from bourse_chain.generated.compute_market.accounts.offer import OFFSETS as OFFER_OFFSETS
from bourse_chain.generated.compute_market.accounts.order import OFFSETS as ORDER_OFFSETS
from bourse_chain.generated.compute_market.accounts.provider import OFFSETS as PROVIDER_OFFSETS
from bourse_chain.generated.compute_market.events import events_from_logs
from bourse_chain.results import Simulation, TxResult
from bourse_chain.tx import (
    MAX_COMPUTE_UNIT_LIMIT,
    ComputeBudget,
    compile_message,
    cu_limit_from_simulation,
    priority_fee_percentile,
    read_compute_budget,
    sign_message,
    unsigned_transaction,
    with_compute_budget,
    writable_accounts,
)

logger = logging.getLogger(__name__)

#: The address lookup table program.
ADDRESS_LOOKUP_TABLE_PROGRAM_ID = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")

#: ``getMultipleAccounts`` takes at most this many addresses per call.
MULTIPLE_ACCOUNTS_BATCH = 100


class AccountType(Protocol):
    """What :meth:`BourseClient.fetch` needs of a generated account class."""

    DISCRIMINATOR: ClassVar[bytes]
    LEN: ClassVar[int]

    @classmethod
    def decode(cls, data: bytes) -> Self: ...


A = TypeVar("A", bound=AccountType)


class TransactionExpired(BourseError):
    """No signing of the transaction landed before its blockhash expired, re-signs included."""

    def __init__(self, signatures: Sequence[Signature]) -> None:
        self.signatures = tuple(signatures)
        super().__init__(
            f"transaction expired after {len(self.signatures)} signing(s); "
            f"last signature {self.signatures[-1] if self.signatures else None}"
        )


class TransactionNotFound(BourseError):
    """A signature the node does not know (or has not yet made readable)."""


@dataclass(frozen=True)
class SendOptions:
    """Defaults of :meth:`BourseClient.send`; each may be overridden per call.

    ``priority_percentile`` (0-100) of the recent prioritization fees of the writable
    accounts, capped at ``max_priority_micro_lamports`` (0 disables the priority fee);
    ``max_resigns`` bounds re-signing after blockhash expiry; ``rebroadcast_interval`` and
    ``poll_interval`` are seconds.
    """

    cu_margin: float = 1.1
    cu_cap: int = MAX_COMPUTE_UNIT_LIMIT
    priority_percentile: float = 75.0
    max_priority_micro_lamports: int = 1_000_000
    simulate: bool = True
    skip_preflight: bool | None = None  # None: skip when we simulated ourselves
    max_resigns: int = 3
    poll_interval: float = 0.25
    rebroadcast_interval: float = 2.0
    tx_fetch_timeout: float = 10.0


def _custom_program_ids(instructions: Sequence[Instruction]) -> list[Pubkey]:
    return [ix.program_id for ix in instructions]


def _b58encode(data: bytes) -> str:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = alphabet[r] + out
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + out


def memcmp(offset: int, value: bytes | Pubkey) -> MemcmpOpts:
    """A ``getProgramAccounts`` memcmp filter matching ``value`` at ``offset``."""
    raw = bytes(value)
    return MemcmpOpts(offset=offset, bytes=_b58encode(raw))


def _commitment_rank(c: Commitment) -> int:
    return {"processed": 0, "confirmed": 1, "finalized": 2}[str(c)]


def _status_rank(status: TransactionStatus) -> int:
    s = status.confirmation_status
    if s is None:  # rooted (finalized) statuses may omit it
        return 2
    return int(s)  # Processed 0, Confirmed 1, Finalized 2


class BourseClient:
    """Async access to the compute-market program over any Solana JSON-RPC endpoint."""

    def __init__(
        self,
        rpc: AsyncClient,
        *,
        program_id: Pubkey = PROGRAM_ID,
        commitment: Commitment = Confirmed,
        options: SendOptions | None = None,
        owns_rpc: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rpc = rpc
        self.program_id = program_id
        self.commitment = commitment
        self.options = options or SendOptions()
        self._owns_rpc = owns_rpc
        self._clock = clock

    @classmethod
    def connect(
        cls,
        cluster: str,
        *,
        program_id: Pubkey = PROGRAM_ID,
        commitment: Commitment = Confirmed,
        timeout: float = 30.0,
        options: SendOptions | None = None,
    ) -> BourseClient:
        """A client on its own ``AsyncClient`` for a cluster name (``localnet``, ``devnet``,
        ``mainnet-beta``...) or an RPC URL; close it with :meth:`close` (or ``async with``)."""
        url = resolve_cluster(cluster).url
        rpc = AsyncClient(url, commitment=commitment, timeout=timeout)
        return cls(
            rpc, program_id=program_id, commitment=commitment, options=options, owns_rpc=True
        )

    async def close(self) -> None:
        if self._owns_rpc:
            await self.rpc.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ accounts

    async def get_account(self, address: Pubkey) -> Account | None:
        resp = await self.rpc.get_account_info(address, commitment=self.commitment)
        return resp.value

    async def get_accounts(self, addresses: Sequence[Pubkey]) -> list[Account | None]:
        """Raw accounts in the order asked, ``None`` for missing ones; ``getMultipleAccounts``
        in concurrent batches of 100."""
        batches = [
            list(addresses[i : i + MULTIPLE_ACCOUNTS_BATCH])
            for i in range(0, len(addresses), MULTIPLE_ACCOUNTS_BATCH)
        ]
        answers = await asyncio.gather(
            *(self.rpc.get_multiple_accounts(b, commitment=self.commitment) for b in batches)
        )
        out: list[Account | None] = []
        for batch, resp in zip(batches, answers, strict=True):
            if len(resp.value) != len(batch):
                raise BourseError(
                    f"getMultipleAccounts returned {len(resp.value)} accounts for {len(batch)}"
                )
            out.extend(resp.value)
        return out

    def decode(self, account: Account, account_type: type[A]) -> A:
        """Decode a fetched account as ``account_type``, checking the owner is the program."""
        if account.owner != self.program_id:
            raise AccountDecodeError(
                f"{account_type.__name__}: owner {account.owner} is not {self.program_id}"
            )
        return account_type.decode(bytes(account.data))

    async def fetch(self, address: Pubkey, account_type: type[A]) -> A | None:
        """The decoded account, or ``None`` if it does not exist.

        Raises ``AccountDecodeError`` for an account of another owner or type.
        """
        account = await self.get_account(address)
        return None if account is None else self.decode(account, account_type)

    async def fetch_many(
        self, addresses: Sequence[Pubkey], account_type: type[A]
    ) -> list[A | None]:
        """Decoded accounts in the order asked, ``None`` for missing ones (batches of 100)."""
        accounts = await self.get_accounts(addresses)
        return [None if a is None else self.decode(a, account_type) for a in accounts]

    async def fetch_lookup_table(self, address: Pubkey) -> AddressLookupTableAccount | None:
        """An address lookup table, ready for ``send(..., lookup_tables=[...])``; None if absent."""
        account = await self.get_account(address)
        if account is None:
            return None
        if account.owner != ADDRESS_LOOKUP_TABLE_PROGRAM_ID:
            raise AccountDecodeError(f"{address} is not an address lookup table")
        try:
            table = AddressLookupTable.deserialize(bytes(account.data))
        except ValueError as e:
            raise AccountDecodeError(f"{address}: {e}") from None
        return AddressLookupTableAccount(address, list(table.addresses))

    async def list_accounts(
        self, account_type: type[A], filters: Sequence[MemcmpOpts] = ()
    ) -> list[tuple[Pubkey, A]]:
        """Every program account of ``account_type`` matching the memcmp ``filters``
        (``getProgramAccounts`` with a dataSize filter and the discriminator at offset 0)."""
        resp = await self.rpc.get_program_accounts(
            self.program_id,
            commitment=self.commitment,
            encoding="base64",
            filters=[account_type.LEN, memcmp(0, account_type.DISCRIMINATOR), *filters],
        )
        return [(ka.pubkey, account_type.decode(bytes(ka.account.data))) for ka in resp.value]

    async def list_models(self) -> list[tuple[Pubkey, Model]]:
        return await self.list_accounts(Model)

    async def list_providers(
        self, *, authority: Pubkey | None = None
    ) -> list[tuple[Pubkey, Provider]]:
        filters = [] if authority is None else [memcmp(PROVIDER_OFFSETS["authority"], authority)]
        return await self.list_accounts(Provider, filters)

    async def list_offers(
        self, *, model: Pubkey | None = None, provider: Pubkey | None = None
    ) -> list[tuple[Pubkey, Offer]]:
        filters = []
        if model is not None:
            filters.append(memcmp(OFFER_OFFSETS["model"], model))
        if provider is not None:
            filters.append(memcmp(OFFER_OFFSETS["provider"], provider))
        return await self.list_accounts(Offer, filters)

    async def list_orders(
        self,
        *,
        payer: Pubkey | None = None,
        model: Pubkey | None = None,
        provider: Pubkey | None = None,
    ) -> list[tuple[Pubkey, Order]]:
        filters = []
        if payer is not None:
            filters.append(memcmp(ORDER_OFFSETS["payer"], payer))
        if model is not None:
            filters.append(memcmp(ORDER_OFFSETS["model"], model))
        if provider is not None:
            filters.append(memcmp(ORDER_OFFSETS["provider"], provider))
        return await self.list_accounts(Order, filters)

    # ------------------------------------------------------------- transactions

    async def priority_fee(
        self, instructions: Sequence[Instruction], percentile: float, cap: int
    ) -> int:
        """Micro-lamports per CU: the ``percentile`` of recent fees on the writable accounts,
        at most ``cap`` (no RPC call when ``cap`` is 0)."""
        if cap <= 0:
            return 0
        resp = await self.rpc.get_recent_prioritization_fees(writable_accounts(instructions))
        fees = [f.prioritization_fee for f in resp.value]
        return min(cap, priority_fee_percentile(fees, percentile))

    async def latest_blockhash(self) -> tuple[Hash, int]:
        resp = await self.rpc.get_latest_blockhash(self.commitment)
        return resp.value.blockhash, resp.value.last_valid_block_height

    async def simulate(
        self,
        instructions: Sequence[Instruction],
        signers: Sequence[Keypair] = (),
        *,
        payer: Keypair | Pubkey | None = None,
        lookup_tables: Sequence[AddressLookupTableAccount] = (),
    ) -> Simulation:
        """Simulate ``instructions`` as given (no compute-budget instructions are added).

        Signatures are not verified, so ``signers`` may be omitted when ``payer`` is given.
        Raises the typed program error (logs attached) when the simulation fails.
        """
        fee_payer = self._payer_key(payer, signers)
        blockhash, _ = await self.latest_blockhash()
        message = compile_message(fee_payer, instructions, blockhash, lookup_tables)
        return await self._simulate_message(message, list(instructions))

    async def _simulate_message(
        self, message: MessageV0, instructions: list[Instruction]
    ) -> Simulation:
        resp = await self.rpc.simulate_transaction(
            unsigned_transaction(message),
            sig_verify=False,
            commitment=self.commitment,
        )
        value = resp.value
        logs = tuple(value.logs or ())
        if value.err is not None:
            raise self._error(value.err, instructions, logs)
        return Simulation(
            units_consumed=value.units_consumed,
            logs=logs,
            events=tuple(events_from_logs(logs, self.program_id)),
        )

    def _error(
        self,
        err: object,
        instructions: Sequence[Instruction],
        logs: Sequence[str],
        signature: Signature | None = None,
    ) -> BourseError:
        mapped = from_tx_error(err, _custom_program_ids(instructions), logs)
        if mapped is None:  # err was None: not a failure, never called so
            return TransactionFailed(err, logs)
        if isinstance(mapped, TransactionFailed) and signature is not None:
            mapped.signature = str(signature)
        return mapped

    @staticmethod
    def _payer_key(payer: Keypair | Pubkey | None, signers: Sequence[Keypair]) -> Pubkey:
        if isinstance(payer, Keypair):
            return payer.pubkey()
        if isinstance(payer, Pubkey):
            return payer
        if not signers:
            raise ValueError("a fee payer is needed: pass payer= or at least one signer")
        return signers[0].pubkey()

    async def send(
        self,
        instructions: Sequence[Instruction],
        signers: Sequence[Keypair],
        *,
        payer: Keypair | None = None,
        cu_margin: float | None = None,
        cu_cap: int | None = None,
        priority_percentile: float | None = None,
        max_priority_micro_lamports: int | None = None,
        simulate: bool | None = None,
        skip_preflight: bool | None = None,
        max_resigns: int | None = None,
        lookup_tables: Sequence[AddressLookupTableAccount] = (),
    ) -> TxResult:
        """Send ``instructions`` signed by ``signers`` (the fee payer is ``payer`` or the first
        signer) and wait for confirmation; see the module docstring for the steps.

        Compute-budget instructions already in ``instructions`` are kept and not duplicated.
        Raises the program's typed error (``bourse_chain.errors``) when simulation, preflight
        or execution fails, :class:`TransactionExpired` when no signing landed in time.
        """
        o = self.options
        opts = replace(
            o,
            cu_margin=o.cu_margin if cu_margin is None else cu_margin,
            cu_cap=o.cu_cap if cu_cap is None else cu_cap,
            priority_percentile=(
                o.priority_percentile if priority_percentile is None else priority_percentile
            ),
            max_priority_micro_lamports=(
                o.max_priority_micro_lamports
                if max_priority_micro_lamports is None
                else max_priority_micro_lamports
            ),
            simulate=o.simulate if simulate is None else simulate,
            skip_preflight=o.skip_preflight if skip_preflight is None else skip_preflight,
            max_resigns=o.max_resigns if max_resigns is None else max_resigns,
        )
        all_signers = [*([payer] if payer is not None else []), *signers]
        fee_payer = self._payer_key(payer, signers)
        user_ixs = list(instructions)
        given = read_compute_budget(user_ixs)

        price_task = (
            self.priority_fee(user_ixs, opts.priority_percentile, opts.max_priority_micro_lamports)
            if given.unit_price is None
            else _value(given.unit_price)
        )
        price, (blockhash, last_valid) = await asyncio.gather(price_task, self.latest_blockhash())
        cu_price = price if price > 0 else None

        cu_limit = given.unit_limit
        if opts.simulate:
            probe = with_compute_budget(user_ixs, ComputeBudget(opts.cu_cap, cu_price))
            sim_message = compile_message(fee_payer, probe, blockhash, lookup_tables)
            sim = await self._simulate_message(sim_message, probe)
            if cu_limit is None and sim.units_consumed is not None:
                cu_limit = cu_limit_from_simulation(sim.units_consumed, opts.cu_margin, opts.cu_cap)
        final_ixs = with_compute_budget(user_ixs, ComputeBudget(cu_limit, cu_price))
        skip = opts.simulate if opts.skip_preflight is None else opts.skip_preflight

        signatures: list[Signature] = []
        for attempt in range(opts.max_resigns + 1):
            if attempt > 0:
                landed = await self._find_landed(signatures, final_ixs)
                if landed is not None:
                    return await self._result(landed, final_ixs, cu_limit, cu_price, attempt)
                blockhash, last_valid = await self.latest_blockhash()
                logger.info(
                    "blockhash expired for %s; re-signing (attempt %d)", signatures[-1], attempt + 1
                )
            message = compile_message(fee_payer, final_ixs, blockhash, lookup_tables)
            tx = sign_message(message, all_signers)
            signature = tx.signatures[0]
            signatures.append(signature)
            await self._send_raw(tx, final_ixs, skip_preflight=skip)
            logger.debug("sent %s (last valid block height %d)", signature, last_valid)
            status = await self._confirm(tx, signatures, last_valid, opts)
            if status is not None:
                landed_sig, landed_status = status
                if landed_status.err is not None:
                    logs = await self._logs_of(landed_sig)
                    raise self._error(landed_status.err, final_ixs, logs, landed_sig)
                return await self._result(landed_sig, final_ixs, cu_limit, cu_price, attempt + 1)
        landed = await self._find_landed(signatures, final_ixs)
        if landed is not None:
            return await self._result(landed, final_ixs, cu_limit, cu_price, len(signatures))
        raise TransactionExpired(signatures)

    async def _send_raw(
        self, tx: VersionedTransaction, instructions: Sequence[Instruction], *, skip_preflight: bool
    ) -> None:
        opts = TxOpts(
            skip_confirmation=True,
            skip_preflight=skip_preflight,
            preflight_commitment=self.commitment,
            max_retries=0,
        )
        try:
            await self.rpc.send_raw_transaction(bytes(tx), opts=opts)
        except RPCException as e:
            detail = e.args[0] if e.args else None
            if isinstance(detail, SendTransactionPreflightFailureMessage):
                data = detail.data
                logs: tuple[str, ...] = ()
                err: object = detail.message
                if isinstance(data, RpcSimulateTransactionResult):
                    logs = tuple(data.logs or ())
                    err = data.err if data.err is not None else detail.message
                raise self._error(err, instructions, logs, tx.signatures[0]) from e
            raise TransactionFailed(detail, signature=str(tx.signatures[0])) from e

    async def _rebroadcast(self, tx: VersionedTransaction) -> None:
        opts = TxOpts(skip_confirmation=True, skip_preflight=True, max_retries=0)
        try:
            await self.rpc.send_raw_transaction(bytes(tx), opts=opts)
        except (RPCException, SolanaRpcException) as e:
            # Already processed, or a transient failure: the status poll decides.
            logger.debug("rebroadcast of %s refused: %s", tx.signatures[0], e)

    async def _statuses(
        self, signatures: Sequence[Signature], *, history: bool = False
    ) -> list[TransactionStatus | None]:
        resp = await self.rpc.get_signature_statuses(
            list(signatures), search_transaction_history=history
        )
        return list(resp.value)

    async def _confirm(
        self,
        tx: VersionedTransaction,
        signatures: Sequence[Signature],
        last_valid: int,
        opts: SendOptions,
    ) -> tuple[Signature, TransactionStatus] | None:
        """Poll every signature so far until one reaches our commitment (returned), or until
        the block height passes ``last_valid`` (None)."""
        want = _commitment_rank(self.commitment)
        last_send = self._clock()
        while True:
            statuses = await self._statuses(signatures)
            for sig, status in zip(signatures, statuses, strict=True):
                if status is not None and (status.err is not None or _status_rank(status) >= want):
                    return sig, status
            height = (await self.rpc.get_block_height(self.commitment)).value
            if height > last_valid:
                return None
            if self._clock() - last_send >= opts.rebroadcast_interval:
                await self._rebroadcast(tx)
                last_send = self._clock()
            await asyncio.sleep(opts.poll_interval)

    async def _find_landed(
        self, signatures: Sequence[Signature], instructions: Sequence[Instruction]
    ) -> Signature | None:
        """A signature among ``signatures`` that landed successfully (history searched);
        raises the typed error if one landed and failed."""
        if not signatures:
            return None
        statuses = await self._statuses(signatures, history=True)
        for sig, status in zip(signatures, statuses, strict=True):
            if status is not None:
                if status.err is not None:
                    logs = await self._logs_of(sig)
                    raise self._error(status.err, instructions, logs, sig)
                return sig
        return None

    async def _transaction(self, signature: Signature, wait_seconds: float) -> _LandedTx:
        deadline = self._clock() + wait_seconds
        while True:
            resp = await self.rpc.get_transaction(
                signature,
                encoding="base64",
                commitment=self.commitment,
                max_supported_transaction_version=0,
            )
            value = resp.value
            if value is not None and value.transaction.meta is not None:
                meta = value.transaction.meta
                return _LandedTx(
                    slot=value.slot,
                    fee=meta.fee,
                    compute_units=meta.compute_units_consumed,
                    logs=tuple(meta.log_messages or ()),
                    err=meta.err,
                    transaction=_decode_tx(value.transaction.transaction),
                )
            if self._clock() >= deadline:
                raise TransactionNotFound(f"transaction {signature} not found")
            await asyncio.sleep(self.options.poll_interval)

    async def _logs_of(self, signature: Signature) -> tuple[str, ...]:
        try:
            landed = await self._transaction(signature, self.options.tx_fetch_timeout)
        except TransactionNotFound:
            return ()
        return landed.logs

    async def _result(
        self,
        signature: Signature,
        instructions: Sequence[Instruction],
        cu_limit: int | None,
        cu_price: int | None,
        attempts: int,
    ) -> TxResult:
        landed = await self._transaction(signature, self.options.tx_fetch_timeout)
        if landed.err is not None:
            raise self._error(landed.err, instructions, landed.logs, signature)
        return TxResult(
            signature=signature,
            slot=landed.slot,
            compute_units=landed.compute_units,
            fee=landed.fee,
            logs=landed.logs,
            events=tuple(events_from_logs(landed.logs, self.program_id)),
            cu_limit=cu_limit,
            cu_price=cu_price,
            attempts=attempts,
        )

    async def get_transaction(self, signature: Signature) -> TxResult:
        """A landed transaction as a :class:`TxResult` (compute-budget settings read from its
        instructions); raises the typed error if it failed."""
        landed = await self._transaction(signature, self.options.tx_fetch_timeout)
        ixs = landed.instructions()
        if landed.err is not None:
            raise self._error(landed.err, ixs, landed.logs, signature)
        budget = read_compute_budget(ixs)
        return TxResult(
            signature=signature,
            slot=landed.slot,
            compute_units=landed.compute_units,
            fee=landed.fee,
            logs=landed.logs,
            events=tuple(events_from_logs(landed.logs, self.program_id)),
            cu_limit=budget.unit_limit,
            cu_price=budget.unit_price,
        )

    async def get_events(self, signature: Signature) -> list[object]:
        """The program's events in a landed transaction (its own logs), in order."""
        landed = await self._transaction(signature, self.options.tx_fetch_timeout)
        return list(events_from_logs(landed.logs, self.program_id))

    async def landed_transaction(self, signature: Signature) -> VersionedTransaction | None:
        """The landed transaction itself (to inspect its instructions)."""
        landed = await self._transaction(signature, self.options.tx_fetch_timeout)
        return landed.transaction

    async def signatures_for_address(
        self, address: Pubkey, *, limit: int = 1000
    ) -> list[tuple[Signature, bool]]:
        """``(signature, succeeded)`` of transactions touching ``address``, newest first."""
        resp = await self.rpc.get_signatures_for_address(
            address, limit=limit, commitment=self.commitment
        )
        return [(s.signature, s.err is None) for s in resp.value]


async def _value(v: int) -> int:
    return v


def _decode_tx(encoded: object) -> VersionedTransaction | None:
    """The ``VersionedTransaction`` of a base64-encoded ``getTransaction`` answer."""
    if isinstance(encoded, VersionedTransaction):
        return encoded
    return None


@dataclass(frozen=True)
class _LandedTx:
    slot: int
    fee: int | None
    compute_units: int | None
    logs: tuple[str, ...]
    err: object
    transaction: VersionedTransaction | None

    def instructions(self) -> list[Instruction]:
        """Top-level instructions of the landed transaction (static keys only)."""
        if self.transaction is None:
            return []
        msg = self.transaction.message
        keys = list(msg.account_keys)
        h = msg.header
        signed = h.num_required_signatures
        writable_signed = signed - h.num_readonly_signed_accounts
        writable_unsigned = len(keys) - h.num_readonly_unsigned_accounts

        def meta(i: int) -> AccountMeta:
            writable = i < writable_signed if i < signed else i < writable_unsigned
            return AccountMeta(keys[i], i < signed, writable)

        out: list[Instruction] = []
        for ci in msg.instructions:
            metas = [meta(i) for i in bytes(ci.accounts) if i < len(keys)]
            out.append(Instruction(keys[ci.program_id_index], bytes(ci.data), metas))
        return out


__all__ = [
    "MULTIPLE_ACCOUNTS_BATCH",
    "AccountType",
    "BourseClient",
    "SendOptions",
    "TransactionExpired",
    "TransactionNotFound",
    "memcmp",
]
