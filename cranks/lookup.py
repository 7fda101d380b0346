"""Address lookup tables for buybacks whose route does not fit a transaction by its keys.

A v0 transaction lists 32 bytes per account it does not load from a lookup table, so a
buyback with a route of more than ~20 accounts is over the 1,232-byte packet limit without
tables. A venue may answer with tables of its own (Jupiter on mainnet); the keys they do not
hold go into the crank's own table:

* one table per crank key at a time, its address kept in the crank state
  (:meth:`cranks.state.CrankState.lookup_table`), recorded *before* the transaction creating
  it is sent, so a killed crank finds it again (a recorded table missing on chain is
  replaced by a new one);
* created with a recent finalized slot and extended with the missing keys,
  :data:`EXTEND_CHUNK` per transaction, paid by the crank key (rent: 56 + 32 bytes per
  address; the transaction fees count against the daily fee budget);
* addresses added in slot *S* are usable from slot *S* + 1: the crank waits for it;
* a table that cannot take the missing keys (256 addresses at most) is left as it is and a
  fresh one replaces it in the state.

Only keys a transaction may load from a table are put there: not the signers and not the
programs the transaction invokes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from solana.rpc.commitment import Finalized, Processed
from solders.address_lookup_table_account import (
    LOOKUP_TABLE_MAX_ADDRESSES,
    AddressLookupTableAccount,
)
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import (
    CreateLookupTableParams,
    ExtendLookupTableParams,
    create_lookup_table,
    extend_lookup_table,
)
from solders.transaction import VersionedTransaction

from bourse_chain.errors import AccountDecodeError, BourseError
from bourse_chain.tx import MAX_COMPUTE_UNIT_LIMIT, MAX_TX_ACCOUNT_LOCKS, PACKET_DATA_SIZE

if TYPE_CHECKING:
    from cranks.sender import Sender

log = logging.getLogger(__name__)

#: Addresses per extending transaction (a first one also carries the create instruction).
EXTEND_CHUNK = 24
FIRST_CHUNK = 20


class TransactionTooLarge(BourseError):
    """Even through lookup tables the transaction exceeds a limit of the runtime."""

    def __init__(self, message: str, *, size: int, locks: int) -> None:
        self.size = size
        self.locks = locks
        super().__init__(message)


def compile_probe(
    payer: Pubkey,
    instructions: Sequence[Instruction],
    tables: Sequence[AddressLookupTableAccount],
) -> MessageV0:
    """The message as it will be sent: with a compute-unit limit and price (the sender adds
    both) and a placeholder blockhash (same size)."""
    probe = [set_compute_unit_limit(MAX_COMPUTE_UNIT_LIMIT), set_compute_unit_price(1)]
    return MessageV0.try_compile(payer, [*probe, *instructions], list(tables), Hash.default())


def transaction_size(message: MessageV0) -> int:
    """Serialized size of the signed transaction carrying ``message``."""
    signatures = [Signature.default()] * message.header.num_required_signatures
    return len(bytes(VersionedTransaction.populate(message, signatures)))


def account_locks(message: MessageV0) -> int:
    """Distinct accounts the transaction locks (its keys plus those loaded from tables)."""
    loaded = sum(
        len(bytes(t.writable_indexes)) + len(bytes(t.readonly_indexes))
        for t in message.address_table_lookups
    )
    return len(message.account_keys) + loaded


def fits(
    payer: Pubkey,
    instructions: Sequence[Instruction],
    tables: Sequence[AddressLookupTableAccount],
) -> bool:
    message = compile_probe(payer, instructions, tables)
    return transaction_size(message) <= PACKET_DATA_SIZE


def loadable_keys(payer: Pubkey, instructions: Sequence[Instruction]) -> list[Pubkey]:
    """Keys a transaction of ``instructions`` may load from a table, in first-use order:
    every account but the fee payer, the signers and the invoked programs."""
    programs = {ix.program_id for ix in instructions}
    signers = {m.pubkey for ix in instructions for m in ix.accounts if m.is_signer}
    out: dict[Pubkey, None] = {}
    for ix in instructions:
        for m in ix.accounts:
            if m.pubkey != payer and m.pubkey not in programs and m.pubkey not in signers:
                out.setdefault(m.pubkey)
    return list(out)


SleepFn = Callable[[float], Awaitable[None]]


class LookupTables:
    """The crank's own lookup table, extended on demand (see the module docstring)."""

    def __init__(
        self,
        sender: Sender,
        *,
        job: str,
        warmup_timeout_s: float = 30.0,
        poll_s: float = 0.2,
        sleep: SleepFn = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sender = sender
        self.job = job
        self.warmup_timeout_s = warmup_timeout_s
        self.poll_s = poll_s
        self._sleep = sleep
        self._clock = clock

    @property
    def payer(self) -> Pubkey:
        return self.sender.payer.pubkey()

    async def for_instructions(
        self,
        instructions: Sequence[Instruction],
        given: Sequence[AddressLookupTableAccount] = (),
        *,
        extend: bool = True,
    ) -> list[AddressLookupTableAccount]:
        """Tables with which ``instructions`` fit one transaction: ``given`` when enough,
        else ``given`` and the crank's own table, extended with what ``given`` lacks (with
        ``extend=False``, a dry run, the own table only as it is). Raises
        :class:`TransactionTooLarge` when no table can make it fit."""
        tables = list(given)
        if fits(self.payer, instructions, tables):
            return tables
        held = {k for t in tables for k in t.addresses}
        wanted = [k for k in loadable_keys(self.payer, instructions) if k not in held]
        own = await self._own(wanted) if extend else await self._current()
        if own is not None:
            tables.append(own)
        message = compile_probe(self.payer, instructions, tables)
        size, locks = transaction_size(message), account_locks(message)
        if size > PACKET_DATA_SIZE or locks > MAX_TX_ACCOUNT_LOCKS:
            raise TransactionTooLarge(
                f"the transaction is {size} bytes (limit {PACKET_DATA_SIZE}) and locks "
                f"{locks} accounts (limit {MAX_TX_ACCOUNT_LOCKS}) with "
                f"{len(tables)} lookup table(s)",
                size=size,
                locks=locks,
            )
        return tables

    async def _current(self) -> AddressLookupTableAccount | None:
        recorded = self.sender.state.lookup_table()
        if recorded is None:
            return None
        try:
            return await self.sender.client.fetch_lookup_table(Pubkey.from_string(recorded))
        except AccountDecodeError:
            log.warning("recorded lookup table %s is not a lookup table; replacing it", recorded)
            return None

    async def _own(self, wanted: Sequence[Pubkey]) -> AddressLookupTableAccount:
        current = await self._current()
        have = set(current.addresses) if current is not None else set()
        missing = [k for k in wanted if k not in have]
        if current is not None and not missing:
            return current
        if current is None or len(have) + len(missing) > LOOKUP_TABLE_MAX_ADDRESSES:
            if len(missing) > LOOKUP_TABLE_MAX_ADDRESSES:
                raise TransactionTooLarge(
                    f"{len(missing)} addresses do not fit one lookup table",
                    size=0,
                    locks=len(missing),
                )
            address, last_slot = await self._create(missing)
        else:
            address, last_slot = current.key, await self._extend(current.key, missing)
        await self._wait_past(last_slot)
        table = await self.sender.client.fetch_lookup_table(address)
        if table is None or not set(missing) <= set(table.addresses):
            raise BourseError(f"lookup table {address} does not hold the addresses just added")
        return table

    async def _create(self, addresses: Sequence[Pubkey]) -> tuple[Pubkey, int]:
        rpc = self.sender.client.rpc
        recent = (await rpc.get_slot(Finalized)).value
        create, address = create_lookup_table(
            CreateLookupTableParams(
                authority_address=self.payer, payer_address=self.payer, recent_slot=recent
            )
        )
        # Recorded first: a crank killed while this lands extends the same table next time.
        self.sender.state.set_lookup_table(str(address))
        first = list(addresses[:FIRST_CHUNK])
        ixs = [create, self._extend_ix(address, first)] if first else [create]
        sent = await self.sender.send(ixs, job=self.job, kind="lookup_table")
        log.info(
            "created lookup table %s with %d addresses",
            address,
            len(first),
            extra={"event": "lookup_table_created", "table": str(address)},
        )
        last = sent.slot
        if len(addresses) > len(first):
            last = await self._extend(address, addresses[len(first) :])
        return address, last

    async def _extend(self, address: Pubkey, addresses: Sequence[Pubkey]) -> int:
        last = 0
        for i in range(0, len(addresses), EXTEND_CHUNK):
            chunk = list(addresses[i : i + EXTEND_CHUNK])
            sent = await self.sender.send(
                [self._extend_ix(address, chunk)], job=self.job, kind="lookup_table"
            )
            last = sent.slot
        log.info(
            "extended lookup table %s by %d addresses",
            address,
            len(addresses),
            extra={"event": "lookup_table_extended", "table": str(address)},
        )
        return last

    def _extend_ix(self, address: Pubkey, addresses: list[Pubkey]) -> Instruction:
        return extend_lookup_table(
            ExtendLookupTableParams(
                payer_address=self.payer,
                lookup_table_address=address,
                authority_address=self.payer,
                new_addresses=addresses,
            )
        )

    async def _wait_past(self, slot: int) -> None:
        """Addresses added in ``slot`` are usable once the cluster is past it."""
        rpc = self.sender.client.rpc
        deadline = self._clock() + self.warmup_timeout_s
        while (await rpc.get_slot(Processed)).value <= slot:
            if self._clock() > deadline:
                raise BourseError(f"the cluster did not pass slot {slot} within the timeout")
            await self._sleep(self.poll_s)
