"""What changed on the chain, in order: the feed of the PubSub server.

Every landed transaction (and every ``bourse_setAccount``) appends a ``Change`` with the slot
it happened in and the post-state of the accounts it wrote. Readers keep a sequence number and
ask for the change after it. The journal is bounded (``capacity``): a reader that falls that
far behind loses the oldest changes (``next_after`` says how many). Listeners are called after each
append, from whatever thread appended, and must only schedule work (e.g. wake an event loop).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from solders.account import Account
from solders.pubkey import Pubkey

from localnet.records import TxRecord

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 65_536


@dataclass(frozen=True)
class Change:
    seq: int
    slot: int
    #: The landed transaction; None when a test control wrote the accounts.
    record: TxRecord | None
    #: Post-state of every account written (lamports 0: the account was closed).
    accounts: tuple[tuple[Pubkey, Account], ...]


class Journal:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._changes: deque[Change] = deque(maxlen=capacity)
        self._next_seq = 1
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    def append(
        self, slot: int, record: TxRecord | None, accounts: tuple[tuple[Pubkey, Account], ...]
    ) -> None:
        with self._lock:
            self._changes.append(Change(self._next_seq, slot, record, accounts))
            self._next_seq += 1
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener()
            except Exception:  # a listener must never break the chain
                log.exception("journal listener failed")

    def next_after(self, seq: int) -> tuple[Change | None, int]:
        """The change following ``seq`` (None: none yet) and how many were lost before it."""
        with self._lock:
            if not self._changes or self._changes[-1].seq <= seq:
                return None, 0
            first = self._changes[0].seq
            if seq + 1 < first:
                return self._changes[0], first - seq - 1
            return self._changes[seq + 1 - first], 0

    def add_listener(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)
