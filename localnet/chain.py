"""A LiteSVM bank that behaves like a single-node cluster.

LiteSVM executes transactions but has no notion of time, blocks or history. ``Chain`` adds:

- **slots and clock that advance with wall time** (400 ms slots from slot 1: genesis is
  slot 0, so nothing lands there; the Clock sysvar follows);
  ``warp_time`` / ``set_clock`` move them on purpose;
- **a blockhash queue**: one new blockhash per slot, each valid for 150 blocks
  (``lastValidBlockHeight``), so transactions expire as on a cluster; block height == slot;
  the SlotHashes sysvar follows (address lookup tables need recent slots in it);
- **a status cache and transaction history**: signature -> slot, block time, fee, error, logs,
  compute units, inner instructions, return data, pre/post lamport and token balances;
  duplicate signatures are rejected with ``AlreadyProcessed`` while their blockhash lives;
- **"landed" semantics**: a transaction that fails during execution is committed with its fee
  charged (as on a cluster); one rejected before execution (bad blockhash, unknown fee payer,
  bad signature...) leaves no trace and never gets a status;
- an address -> signatures index, per-slot prioritization fees, and a faucet for airdrops.

Commitment follows the slots: a transaction is ``processed`` in the slot it landed in,
``confirmed`` once ``confirmation_depth`` more slots have started and ``finalized`` (rooted)
after ``finalization_depth``; the defaults (0, 1) keep clients that poll for `confirmed` as fast
as before, ``REALISTIC_DEPTHS`` (1, 2) make all three levels observable (the state itself is
the processed one for every commitment). Every landed transaction and ``set_account`` is
appended to ``journal`` (the feed of the PubSub server).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from solders.account import Account
from solders.clock import Clock
from solders.compute_budget import set_compute_unit_limit
from solders.epoch_schedule import EpochSchedule
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import (
    FailedTransactionMetadata,
    TransactionMetadata,
)
from solders.transaction_status import (
    TransactionErrorFieldless,
    TransactionErrorType,
)

from localnet import spl
from localnet.fees import AnyMessage, compute_budget_settings, message_fee
from localnet.journal import Journal
from localnet.loader import deploy_upgradeable
from localnet.records import Simulation, Submission, TokenBalance, TxRecord

log = logging.getLogger(__name__)

MAX_PROCESSING_AGE = 150
MAX_SLOT_HASHES = 512
DEFAULT_SLOT_DURATION = 0.4
DEFAULT_SLOTS_PER_EPOCH = 432_000
FAUCET_LAMPORTS = 500_000_000 * 10**9
_ALT_META_SIZE = 56

#: Slots after the one a transaction landed in until it counts as confirmed / finalized
#: (a validator needs ~1 and ~32; kept short so clients waiting for `finalized` finish fast).
DEFAULT_DEPTHS = (0, 1)
REALISTIC_DEPTHS = (1, 2)
Commitment = Literal["processed", "confirmed", "finalized"]

#: Bounds of what ``warp_time`` / ``set_clock`` accept: far beyond any test, and far enough
#: below u64 / i64 that slot + 150, epochs and the Clock sysvar never overflow.
MAX_SLOT = 2**62
MAX_UNIX_TIMESTAMP = 2**62
MAX_EPOCH = 2**62

SYSTEM_PROGRAM_ID = Pubkey.default()
ADDRESS_LOOKUP_TABLE_PROGRAM_ID = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")


@dataclass
class _SlotFees:
    min_fee: int
    accounts: dict[Pubkey, int] = field(default_factory=dict)


def normalize_commitment(commitment: str | None) -> Commitment:
    """agave's mapping of the deprecated names; None is the default, finalized."""
    if commitment in ("processed", "recent"):
        return "processed"
    if commitment in ("confirmed", "single", "singleGossip"):
        return "confirmed"
    return "finalized"


def writable_static(message: AnyMessage, index: int) -> bool:
    h = message.header
    n = len(message.account_keys)
    signed = h.num_required_signatures
    if index < signed:
        return index < signed - h.num_readonly_signed_accounts
    return index < n - h.num_readonly_unsigned_accounts


class Chain:
    """LiteSVM plus clock, blockhashes, status cache and history. Thread-safe (one lock)."""

    def __init__(
        self,
        *,
        slot_duration: float = DEFAULT_SLOT_DURATION,
        start_slot: int = 1,
        slots_per_epoch: int = DEFAULT_SLOTS_PER_EPOCH,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        depths: tuple[int, int] = DEFAULT_DEPTHS,
    ) -> None:
        confirmation, finalization = depths
        if not 0 <= confirmation <= finalization <= MAX_PROCESSING_AGE:
            raise ValueError("depths must satisfy 0 <= confirmation <= finalization <= 150")
        self._depth: dict[str, int] = {
            "processed": 0,
            "confirmed": confirmation,
            "finalized": finalization,
        }
        self.svm = LiteSVM().with_blockhash_check(False).with_transaction_history(0)
        self.epoch_schedule = EpochSchedule.custom(slots_per_epoch, slots_per_epoch, False)
        self.svm.set_epoch_schedule(self.epoch_schedule)
        self.slot_duration = slot_duration
        self.genesis_hash = Hash(hashlib.sha256(os.urandom(32)).digest())
        self._monotonic = monotonic
        self._lock = threading.RLock()
        self._anchor_mono = monotonic()
        self._anchor_slot = start_slot
        self._anchor_unix = float(int(wall_clock()))
        self._epoch_offset = 0
        self._slot = -1
        self._unix = -1
        self._hash_nonce = 0
        self._blockhashes: dict[Hash, int] = {}
        self._slot_hashes: deque[tuple[int, Hash]] = deque(maxlen=MAX_SLOT_HASHES)
        self._latest = Hash.default()
        self._history: dict[Signature, TxRecord] = {}
        self._by_address: dict[Pubkey, list[Signature]] = {}
        self._by_slot: dict[int, list[Signature]] = {}
        self._fees: dict[int, _SlotFees] = {}
        self._transaction_count = 0
        self._airdrops = 0
        self.journal = Journal()
        #: ``host:port`` of the servers in front of this chain (``getClusterNodes``).
        self.endpoints: dict[str, str] = {}
        self.faucet = Keypair()
        self.faucet_pubkey = self.faucet.pubkey()
        self.svm.set_account(
            self.faucet_pubkey,
            Account(FAUCET_LAMPORTS, b"", Pubkey.default(), False, 0),
        )
        self.tick()

    # ------------------------------------------------------------------ time
    def tick(self) -> None:
        """Bring slot, clock and blockhash queue up to wall time."""
        with self._lock:
            elapsed = self._monotonic() - self._anchor_mono
            slot = self._anchor_slot + int(elapsed / self.slot_duration)
            unix = int(self._anchor_unix + elapsed)
            if slot == self._slot and unix == self._unix:
                return
            if slot != self._slot:
                self._new_slot(slot)
            self._slot, self._unix = slot, unix
            self._write_clock()

    def _new_slot(self, slot: int) -> None:
        if slot < self._slot:
            self._blockhashes.clear()
            self._slot_hashes.clear()
        self._push_blockhash(slot)
        first = max(self._slot + 1, slot - MAX_SLOT_HASHES + 1)
        for filled in range(first, slot + 1):
            seed = bytes(self.genesis_hash) + struct.pack("<Q", filled) + b"bank"
            self._slot_hashes.appendleft((filled, Hash(hashlib.sha256(seed).digest())))
        self.svm.set_slot_hashes(list(self._slot_hashes))
        horizon = slot - MAX_PROCESSING_AGE
        for stale in [s for s in self._fees if s < horizon]:
            del self._fees[stale]

    def blockhash_at(self, slot: int) -> Hash:
        """The blockhash of ``slot``'s block (as handed out while it was the latest;
        after ``expire_blockhash`` older slots are re-derived with the new seed)."""
        seed = bytes(self.genesis_hash) + struct.pack("<QQ", slot, self._hash_nonce)
        return Hash(hashlib.sha256(seed).digest())

    def _push_blockhash(self, slot: int) -> None:
        blockhash = self.blockhash_at(slot)
        self._blockhashes[blockhash] = slot + MAX_PROCESSING_AGE
        self._latest = blockhash
        for stale in [h for h, last in self._blockhashes.items() if last < slot]:
            del self._blockhashes[stale]

    def _write_clock(self) -> None:
        slot = self._slot
        epoch = self.epoch_schedule.get_epoch(slot) + self._epoch_offset
        slot_index = slot - self.epoch_schedule.get_first_slot_in_epoch(
            self.epoch_schedule.get_epoch(slot)
        )
        epoch_start = self._unix - int(slot_index * self.slot_duration)
        self.svm.set_clock(Clock(slot, epoch_start, epoch, epoch + 1, self._unix))

    @property
    def slot(self) -> int:
        self.tick()
        return self._slot

    # ------------------------------------------------------------ commitment
    def commitment_slot(self, commitment: str | None) -> int:
        """The newest slot at ``commitment`` (processed/confirmed/finalized; the legacy
        names map like agave's: recent/single/singleGossip..., default finalized)."""
        depth = self._depth[normalize_commitment(commitment)]
        return max(0, self.slot - depth)

    def reached(self, slot: int, commitment: str | None) -> bool:
        """Whether what happened in ``slot`` is visible at ``commitment`` (a slot ahead of
        the clock, after ``set_clock`` moved it back, counts as old and final)."""
        current = self.slot
        return slot > current or slot <= self.commitment_slot(commitment)

    def confirmation_status(self, slot: int) -> Commitment:
        if self.reached(slot, "finalized"):
            return "finalized"
        return "confirmed" if self.reached(slot, "confirmed") else "processed"

    def seconds_to_next_slot(self) -> float:
        with self._lock:
            self.tick()
            elapsed = self._monotonic() - self._anchor_mono
            return self.slot_duration - (elapsed % self.slot_duration)

    @property
    def block_height(self) -> int:
        return self.slot

    @property
    def unix_timestamp(self) -> int:
        self.tick()
        return self._unix

    @property
    def epoch(self) -> int:
        return self.epoch_schedule.get_epoch(self.slot) + self._epoch_offset

    @property
    def transaction_count(self) -> int:
        return self._transaction_count

    def epoch_info(self) -> dict[str, int]:
        with self._lock:
            slot = self.slot
            base_epoch = self.epoch_schedule.get_epoch(slot)
            first = self.epoch_schedule.get_first_slot_in_epoch(base_epoch)
            return {
                "absoluteSlot": slot,
                "blockHeight": slot,
                "epoch": base_epoch + self._epoch_offset,
                "slotIndex": slot - first,
                "slotsInEpoch": self.epoch_schedule.get_slots_in_epoch(base_epoch),
                "transactionCount": self._transaction_count,
            }

    def warp_time(self, seconds: float) -> None:
        """Let ``seconds`` pass: the clock moves on and so do slots (blockhashes age).

        Raises ValueError (nothing changed) unless ``seconds`` is finite, >= 0 and keeps the
        clock within ``MAX_SLOT`` / ``MAX_UNIX_TIMESTAMP``."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("seconds must be a finite, non-negative number")
        with self._lock:
            self.tick()
            if (
                self._slot + int(seconds / self.slot_duration) > MAX_SLOT
                or self._unix + seconds > MAX_UNIX_TIMESTAMP
            ):
                raise ValueError("seconds would move the clock out of range")
            self._anchor_unix += seconds
            self._anchor_slot += int(seconds / self.slot_duration)
            self.tick()

    def set_clock(
        self,
        *,
        unix_timestamp: int | None = None,
        slot: int | None = None,
        epoch: int | None = None,
    ) -> None:
        """Pin clock fields; wall time keeps advancing from the new values.

        Raises ValueError (nothing changed) for a field out of ``[0, MAX_*]``."""
        for name, value, top in (
            ("unix_timestamp", unix_timestamp, MAX_UNIX_TIMESTAMP),
            ("slot", slot, MAX_SLOT),
            ("epoch", epoch, MAX_EPOCH),
        ):
            if value is not None and not 0 <= value <= top:
                raise ValueError(f"{name} must be within [0, {top}]")
        with self._lock:
            self.tick()
            self._anchor_mono = self._monotonic()
            self._anchor_slot = self._slot if slot is None else slot
            self._anchor_unix = float(self._unix if unix_timestamp is None else unix_timestamp)
            if epoch is not None:
                self._epoch_offset = epoch - self.epoch_schedule.get_epoch(self._anchor_slot)
            self._unix = -1
            self.tick()

    def expire_blockhash(self) -> None:
        """Invalidate every blockhash handed out so far; a fresh one becomes the latest."""
        with self._lock:
            self.tick()
            self._blockhashes.clear()
            self._hash_nonce += 1
            self._push_blockhash(self._slot)

    # ------------------------------------------------------------ blockhashes
    def latest_blockhash(self) -> tuple[Hash, int]:
        """``(blockhash, lastValidBlockHeight)``."""
        with self._lock:
            self.tick()
            return self._latest, self._blockhashes[self._latest]

    def is_blockhash_valid(self, blockhash: Hash) -> bool:
        with self._lock:
            self.tick()
            return blockhash in self._blockhashes

    # --------------------------------------------------------------- accounts
    def get_account(self, pubkey: Pubkey) -> Account | None:
        with self._lock:
            self.tick()
            account = self.svm.get_account(pubkey)
            if account is None or account.lamports == 0:
                return None  # a cluster purges accounts left without lamports
            return account

    def set_account(self, pubkey: Pubkey, account: Account) -> None:
        with self._lock:
            self.tick()
            self.svm.set_account(pubkey, account)
            self.journal.append(self._slot, None, ((pubkey, account),))

    def program_accounts(self, owner: Pubkey) -> list[tuple[Pubkey, Account]]:
        with self._lock:
            self.tick()
            return [
                (key, acct)
                for key, acct in self.svm.get_program_accounts(owner)
                if acct.lamports > 0
            ]

    def deploy(
        self, payer: Keypair, program: Keypair, so_bytes: bytes, upgrade_authority: Keypair
    ) -> None:
        """Deploy through the upgradeable loader (raises loader.DeployError on failure)."""
        with self._lock:
            self.tick()
            deploy_upgradeable(self.svm, payer, program, so_bytes, upgrade_authority)

    def minimum_balance_for_rent_exemption(self, data_len: int) -> int:
        return self.svm.minimum_balance_for_rent_exemption(data_len)

    # ------------------------------------------------------------ transactions
    def _loaded_addresses(self, message: AnyMessage) -> tuple[list[Pubkey], list[Pubkey]]:
        if not isinstance(message, MessageV0):
            return [], []
        writable: list[Pubkey] = []
        readonly: list[Pubkey] = []
        for lookup in message.address_table_lookups:
            table = self.svm.get_account(lookup.account_key)
            if table is None or table.owner != ADDRESS_LOOKUP_TABLE_PROGRAM_ID:
                continue
            raw = bytes(table.data)[_ALT_META_SIZE:]
            addresses = [Pubkey.from_bytes(raw[i : i + 32]) for i in range(0, len(raw) - 31, 32)]
            writable += [addresses[i] for i in bytes(lookup.writable_indexes) if i < len(addresses)]
            readonly += [addresses[i] for i in bytes(lookup.readonly_indexes) if i < len(addresses)]
        return writable, readonly

    def _lamports(self, keys: Sequence[Pubkey]) -> list[int]:
        return [self.svm.get_balance(k) or 0 for k in keys]

    def _token_balances(
        self,
        keys: Sequence[Pubkey],
        overlay: dict[Pubkey, Account] | None = None,
    ) -> list[TokenBalance]:
        """Token balances of the token accounts among ``keys`` (``overlay``: simulated state)."""

        def lookup(key: Pubkey) -> Account | None:
            if overlay is not None and key in overlay:
                return overlay[key]
            return self.svm.get_account(key)

        out: list[TokenBalance] = []
        decimals: dict[Pubkey, int | None] = {}
        for index, key in enumerate(keys):
            account = lookup(key)
            if account is None or account.owner not in spl.TOKEN_PROGRAMS:
                continue
            data = bytes(account.data)
            if not spl.is_token_account_data(account.owner, data):
                continue
            info = spl.parse_token_account(data)
            if info.mint not in decimals:
                mint = lookup(info.mint)
                mint_data = b"" if mint is None else bytes(mint.data)
                decimals[info.mint] = (
                    spl.parse_mint(mint_data).decimals
                    if mint is not None and spl.is_mint_data(mint.owner, mint_data)
                    else None
                )
            dec = decimals[info.mint]
            if dec is not None:
                out.append(
                    TokenBalance(index, info.mint, info.owner, account.owner, info.amount, dec)
                )
        return out

    def mint_decimals(self, mint: Pubkey) -> int | None:
        account = self.svm.get_account(mint)
        if account is None:
            return None
        data = bytes(account.data)
        return spl.parse_mint(data).decimals if spl.is_mint_data(account.owner, data) else None

    def _precheck(self, tx: VersionedTransaction) -> TransactionErrorType | None:
        """The bank's age and status-cache checks."""
        if tx.message.recent_blockhash not in self._blockhashes and not tx.uses_durable_nonce():
            return TransactionErrorFieldless.BlockhashNotFound
        if tx.signatures and tx.signatures[0] in self._history:
            return TransactionErrorFieldless.AlreadyProcessed
        return None

    def submit(self, tx: VersionedTransaction) -> Submission:
        """Execute and, when it lands, commit and record a transaction."""
        with self._lock:
            self.tick()
            signature = tx.signatures[0] if tx.signatures else Signature.default()
            err = self._precheck(tx)
            if err is not None:
                return Submission(signature, err, landed=False)
            message = tx.message
            loaded_w, loaded_r = self._loaded_addresses(message)
            keys = [*message.account_keys, *loaded_w, *loaded_r]
            pre = self._lamports(keys)
            pre_tokens = self._token_balances(keys)
            result = self.svm.send_transaction(tx)
            meta: TransactionMetadata
            if isinstance(result, FailedTransactionMetadata):
                err, meta = result.err(), result.meta()
            else:
                err, meta = None, result
            post = self._lamports(keys)
            if err is not None and post[0] == pre[0]:
                log.debug("transaction %s dropped: %s", signature, err)
                return Submission(signature, err, landed=False)
            _, price = compute_budget_settings(message)
            record = TxRecord(
                signature=signature,
                transaction=tx,
                slot=self._slot,
                block_time=self._unix,
                err=err,
                fee=meta.fee(),
                logs=list(meta.logs()),
                compute_units=meta.compute_units_consumed(),
                inner_instructions=[list(group) for group in meta.inner_instructions()],
                return_data=meta.return_data(),
                account_keys=keys,
                loaded_writable=loaded_w,
                loaded_readonly=loaded_r,
                pre_balances=pre,
                post_balances=post,
                pre_token_balances=pre_tokens,
                post_token_balances=self._token_balances(keys),
                compute_unit_price=price,
            )
            writable = [
                k for i, k in enumerate(message.account_keys) if writable_static(message, i)
            ] + loaded_w
            self._record(record, writable)
            self.journal.append(self._slot, record, self._written(keys[0], writable, err))
            return Submission(signature, err, landed=True)

    def _written(
        self, fee_payer: Pubkey, writable: list[Pubkey], err: TransactionErrorType | None
    ) -> tuple[tuple[Pubkey, Account], ...]:
        """Post-state of what a landed transaction stored (a failed one: its fee payer)."""
        out: list[tuple[Pubkey, Account]] = []
        for key in dict.fromkeys([fee_payer] if err is not None else writable):
            account = self.svm.get_account(key)
            if account is None or account.lamports == 0:
                account = Account(0, b"", SYSTEM_PROGRAM_ID, False, 0)
            out.append((key, account))
        return tuple(out)

    def _record(self, record: TxRecord, writable: Iterable[Pubkey]) -> None:
        self._history[record.signature] = record
        self._by_slot.setdefault(record.slot, []).append(record.signature)
        self._transaction_count += 1
        for key in dict.fromkeys(record.account_keys):
            self._by_address.setdefault(key, []).append(record.signature)
        fees = self._fees.get(record.slot)
        price = record.compute_unit_price
        if fees is None:
            fees = self._fees[record.slot] = _SlotFees(price)
        fees.min_fee = min(fees.min_fee, price)
        for key in writable:
            fees.accounts[key] = min(fees.accounts.get(key, price), price)

    def simulate(
        self,
        tx: VersionedTransaction,
        *,
        sig_verify: bool = False,
        replace_recent_blockhash: bool = False,
    ) -> Simulation:
        with self._lock:
            self.tick()
            message = tx.message
            loaded_w, loaded_r = self._loaded_addresses(message)
            keys = [*message.account_keys, *loaded_w, *loaded_r]
            replacement: tuple[Hash, int] | None = None
            if replace_recent_blockhash:
                replacement = (self._latest, self._blockhashes[self._latest])
                pre_err: TransactionErrorType | None = (
                    TransactionErrorFieldless.AlreadyProcessed
                    if tx.signatures and tx.signatures[0] in self._history
                    else None
                )
            else:
                pre_err = self._precheck(tx)
            if pre_err is not None:
                return Simulation(
                    pre_err, [], 0, None, [], {}, keys, 0, replacement, message_fee(message)
                )
            pre_balances = self._lamports(keys)
            pre_tokens = self._token_balances(keys)
            previous = self.svm.get_sigverify()
            self.svm.with_sigverify(sig_verify)
            try:
                result = self.svm.simulate_transaction(tx)
            finally:
                self.svm.with_sigverify(previous)
            if isinstance(result, FailedTransactionMetadata):
                err = result.err()
                meta = result.meta()
                post: dict[Pubkey, Account] = {}
            else:
                err, meta = None, result.meta()
                post = dict(result.post_accounts())
            loaded_size = 0
            for key in keys:
                account = self.svm.get_account(key)
                loaded_size += 64 + (len(account.data) if account is not None else 0)
            return Simulation(
                err=err,
                logs=list(meta.logs()),
                units_consumed=meta.compute_units_consumed(),
                return_data=meta.return_data(),
                inner_instructions=[list(group) for group in meta.inner_instructions()],
                post_accounts=post,
                account_keys=keys,
                loaded_accounts_data_size=loaded_size,
                replacement_blockhash=replacement,
                fee=meta.fee(),
                loaded_writable=loaded_w,
                loaded_readonly=loaded_r,
                pre_balances=pre_balances,
                post_balances=[
                    post[k].lamports if k in post else pre_balances[i] for i, k in enumerate(keys)
                ],
                pre_token_balances=pre_tokens,
                post_token_balances=self._token_balances(keys, post) if post else pre_tokens,
            )

    def airdrop(self, to: Pubkey, lamports: int) -> Submission:
        """A System transfer from the faucet, landed like any other transaction."""
        with self._lock:
            blockhash, _ = self.latest_blockhash()
            ixs = [
                transfer(
                    TransferParams(from_pubkey=self.faucet_pubkey, to_pubkey=to, lamports=lamports)
                )
            ]
            tx = self._faucet_tx(ixs, blockhash)
            if tx.signatures[0] in self._history:
                # Same payee, amount and blockhash as an earlier airdrop: make it unique.
                self._airdrops += 1
                ixs.insert(0, set_compute_unit_limit(10_000 + self._airdrops % 1_000_000))
                tx = self._faucet_tx(ixs, blockhash)
            return self.submit(tx)

    def _faucet_tx(self, ixs: list[Instruction], blockhash: Hash) -> VersionedTransaction:
        msg = Message.new_with_blockhash(ixs, self.faucet_pubkey, blockhash)
        return VersionedTransaction.populate(msg, [self.faucet.sign_message(bytes(msg))])

    def fee_for_message(self, message: AnyMessage) -> int | None:
        """The fee, or None when the message's blockhash is no longer valid."""
        with self._lock:
            self.tick()
            if message.recent_blockhash not in self._blockhashes:
                return None
            return message_fee(message)

    # ---------------------------------------------------------------- history
    def get_transaction(self, signature: Signature) -> TxRecord | None:
        return self._history.get(signature)

    def signatures_for_address(
        self,
        address: Pubkey,
        *,
        limit: int = 1000,
        before: Signature | None = None,
        until: Signature | None = None,
    ) -> list[TxRecord]:
        """Newest first, like getSignaturesForAddress."""
        with self._lock:
            sigs = list(reversed(self._by_address.get(address, [])))
            if before is not None:
                sigs = sigs[sigs.index(before) + 1 :] if before in sigs else []
            out: list[TxRecord] = []
            for sig in sigs:
                if sig == until or len(out) >= limit:
                    break
                out.append(self._history[sig])
            return out

    def recent_prioritization_fees(self, addresses: Sequence[Pubkey]) -> list[tuple[int, int]]:
        """``(slot, fee)`` per recent slot that had transactions (agave's cache semantics:
        the block's minimum price, raised to each listed account's minimum writer price)."""
        with self._lock:
            self.tick()
            out: list[tuple[int, int]] = []
            for slot in sorted(self._fees):
                fees = self._fees[slot]
                fee = fees.min_fee
                for key in addresses:
                    if key in fees.accounts:
                        fee = max(fee, fees.accounts[key])
                out.append((slot, fee))
            return out

    def records_in_slot(self, slot: int) -> list[TxRecord]:
        """The transactions of ``slot``'s block, in execution order."""
        with self._lock:
            return [self._history[s] for s in self._by_slot.get(slot, [])]

    def block_time(self, slot: int) -> int | None:
        """When ``slot``'s block was produced (None: a future slot)."""
        with self._lock:
            self.tick()
            if slot > self._slot:
                return None
            records = self.records_in_slot(slot)
            if records:
                return records[0].block_time
            return self._unix - int((self._slot - slot) * self.slot_duration)
