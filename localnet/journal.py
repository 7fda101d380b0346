"""What changed on the chain, in order: the feed of the PubSub server.

Every landed transaction (and every ``bourse_setAccount``) appends a ``Change`` with the slot
it happened in and the post-state of the accounts it wrote. Readers keep a sequence number and
ask for what came after it. The journal is bounded (``capacity``): a reader that falls that
far behind loses the oldest changes (``since`` says how many). Listeners are called after each
append, from whatever thread appended, and must only schedule work (e.g. wake an event loop).
"""

from __future__ import annotations

import itertools
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

    def since(self, seq: int) -> tuple[list[Change], int]:
        """Changes after ``seq``, oldest first, and how many were lost to the bound."""
        with self._lock:
            if not self._changes or self._changes[-1].seq <= seq:
                return [], 0
            first = self._changes[0].seq
            lost = max(0, first - seq - 1)
            start = max(0, seq + 1 - first)
            return list(itertools.islice(self._changes, start, None)), lost

    def add_listener(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)
