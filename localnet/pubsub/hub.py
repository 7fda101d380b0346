"""Who is subscribed to what, and what is due to whom.

``step()`` reads the chain's journal once per commitment level, up to the newest slot that
level has reached, and pushes each due notification into the subscribers' outboxes (never
blocking: a connection's writer drains its own outbox). Account / program payloads are
encoded once per encoding and shared by every subscriber of that change.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import Any

from solders.pubkey import Pubkey

from localnet.chain import Chain, Commitment
from localnet.journal import Change
from localnet.methods.accounts import matches
from localnet.pubsub import notify
from localnet.pubsub.subscriptions import NOTIFICATION, Kind, Outbox, Subscription

log = logging.getLogger(__name__)

COMMITMENTS: tuple[Commitment, ...] = ("processed", "confirmed", "finalized")
#: At most this many slot / root notifications per step (a warp skips thousands of slots).
MAX_SLOT_BURST = 32

Key = tuple[str, Any]


class Hub:
    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self._ids = itertools.count(0)
        self._subs: dict[int, Subscription] = {}
        self._index: dict[Key, dict[int, Subscription]] = {}
        self._cursor = dict.fromkeys(COMMITMENTS, chain.journal.last_seq)
        self._last_slot = chain.slot
        self._last_root = chain.commitment_slot("finalized")

    # ------------------------------------------------------------ bookkeeping
    @staticmethod
    def _key(sub: Subscription) -> Key:
        if sub.kind == "signature":
            return ("signature", sub.signature)
        if sub.kind == "logs" and sub.pubkey is not None:
            return ("mentions", sub.pubkey)
        if sub.kind in ("account", "program"):
            return (sub.kind, sub.pubkey)
        return (sub.kind, None)

    def new_id(self) -> int:
        return next(self._ids)

    def add(self, sub: Subscription) -> None:
        """Register ``sub`` (its id given by ``new_id``, its response already pushed)."""
        if sub.kind == "signature" and self._signature_already_done(sub):
            return
        self._subs[sub.id] = sub
        self._index.setdefault(self._key(sub), {})[sub.id] = sub

    def _signature_already_done(self, sub: Subscription) -> bool:
        assert sub.signature is not None
        record = self.chain.get_transaction(sub.signature)
        if record is None:
            return False
        if sub.received:
            self._send(sub, notify.received_result(record.slot))
            sub.received_sent = True
        if self.chain.reached(record.slot, sub.commitment):
            self._send(sub, notify.signature_result(record))
            return True
        return False

    def remove(self, sub_id: int, kind: Kind, outbox: Outbox) -> bool:
        sub = self._subs.get(sub_id)
        if sub is None or sub.kind != kind or sub.outbox is not outbox:
            return False
        self._drop(sub)
        return True

    def _drop(self, sub: Subscription) -> None:
        self._subs.pop(sub.id, None)
        key = self._key(sub)
        bucket = self._index.get(key)
        if bucket is not None:
            bucket.pop(sub.id, None)
            if not bucket:
                del self._index[key]

    def drop_outbox(self, outbox: Outbox) -> int:
        """Forget every subscription of a closed connection; how many there were."""
        mine = [s for s in self._subs.values() if s.outbox is outbox]
        for sub in mine:
            self._drop(sub)
        return len(mine)

    def __len__(self) -> int:
        return len(self._subs)

    def _subscribers(
        self, key: Key, commitment: Commitment | None = None
    ) -> Iterator[Subscription]:
        for sub in list(self._index.get(key, {}).values()):
            if commitment is None or sub.commitment == commitment:
                yield sub

    @staticmethod
    def _send(sub: Subscription, result_json: str) -> None:
        sub.outbox.push(notify.message(NOTIFICATION[sub.kind], result_json, sub.id))

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """Push everything that became due since the last step."""
        self._slots()
        for commitment in COMMITMENTS:
            while True:  # bounded by the journal's length
                change, lost = self.chain.journal.next_after(self._cursor[commitment])
                if change is None or not self.chain.reached(change.slot, commitment):
                    break
                if lost:
                    log.warning("pubsub fell behind: %d changes lost at %s", lost, commitment)
                self._cursor[commitment] = change.seq
                self._change(change, commitment)

    def _slots(self) -> None:
        slot = self.chain.slot
        root = self.chain.commitment_slot("finalized")
        if slot != self._last_slot:
            first = max(self._last_slot + 1, slot - MAX_SLOT_BURST + 1)
            for s in range(first if slot > self._last_slot else slot, slot + 1):
                result = notify.slot_result(s, max(0, root - (slot - s)))
                for sub in self._subscribers(("slot", None)):
                    self._send(sub, result)
            self._last_slot = slot
        if root != self._last_root:
            first = max(self._last_root + 1, root - MAX_SLOT_BURST + 1)
            for r in range(first if root > self._last_root else root, root + 1):
                for sub in self._subscribers(("root", None)):
                    self._send(sub, str(r))
            self._last_root = root

    def _change(self, change: Change, commitment: Commitment) -> None:
        record = change.record
        if record is not None:
            if commitment == "processed":
                for sub in self._subscribers(("signature", record.signature)):
                    if sub.received and not sub.received_sent:
                        self._send(sub, notify.received_result(change.slot))
                        sub.received_sent = True
            for sub in self._subscribers(("signature", record.signature), commitment):
                self._send(sub, notify.signature_result(record))
                self._drop(sub)
            logs = notify.logs_result(change.slot, record)
            for sub in self._subscribers(("logs", None), commitment):
                self._send(sub, logs)
            for key in dict.fromkeys(record.account_keys):
                for sub in self._subscribers(("mentions", key), commitment):
                    self._send(sub, logs)
        for key, account in change.accounts:
            self._account(change.slot, key, account, commitment)

    def _account(self, slot: int, key: Pubkey, account: Any, commitment: Commitment) -> None:
        encoded: dict[tuple[str, tuple[int, int] | None], Any] = {}

        def value(sub: Subscription) -> Any:
            form = (sub.encoding, sub.data_slice)
            if form not in encoded:
                encoded[form] = notify.account_value(
                    self.chain, account, sub.encoding, sub.data_slice
                )
            return encoded[form]

        for sub in self._subscribers(("account", key), commitment):
            self._send(sub, notify.with_context(slot, value(sub)))
        for sub in self._subscribers(("program", account.owner), commitment):
            if matches(account.owner, bytes(account.data), sub.filters):
                self._send(
                    sub, notify.with_context(slot, {"pubkey": str(key), "account": value(sub)})
                )
