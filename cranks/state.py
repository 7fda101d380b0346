"""Crash-safe operator state: the daily fee ledger, the journal of sent transactions and
the buyback's price observations.

One JSON file per operator key, rewritten atomically (temporary file, ``fsync``, ``rename``,
directory ``fsync``) under an exclusive ``flock`` of a sidecar lock file, so a kill at any
instant leaves either the old or the new content, and two daemons on one key never lose
each other's updates.

* **Fee ledger**: lamports spent on transaction fees per UTC day, so a restart does not
  reset the daily budget.
* **Sent-transaction journal**: every transaction is recorded *before* its bytes go on the
  wire (signature, blockhash, its last valid block height when known, writable accounts).
  A daemon killed while a transaction is in flight leaves its entry behind; the next cycle
  treats the entry's accounts as busy until the transaction has landed or can no longer
  land (block height past its last valid height), so a restarted daemon never sends a
  second buyback while the first may still execute.
* **Lookup table**: the address of the crank's own address lookup table
  (:mod:`cranks.lookup`), recorded before the transaction creating it is sent, so a
  restarted daemon extends the same table instead of paying for another.
* **Price observations**: per model, the probe prices the buyback's reference price is the
  median of (:mod:`cranks.reference`), so a restart keeps the reference and an attacker
  cannot reset it by crashing the daemon.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cranks.reference import Observation, ReferencePolicy, admit

log = logging.getLogger(__name__)

VERSION = 1
#: Ledger days kept in the file.
KEEP_DAYS = 7
#: A journaled transaction whose last valid block height is unknown is treated as
#: possibly landing for this long (a blockhash lives ~150 blocks, 60-90 s).
UNKNOWN_EXPIRY_SECS = 180.0


@dataclass(frozen=True)
class PendingTx:
    signature: str
    blockhash: str
    #: Last valid block height of ``blockhash`` as the node reported it; None: unknown.
    last_valid_block_height: int | None
    writable: tuple[str, ...]
    sent_at: float
    job: str

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> PendingTx:
        return cls(
            signature=str(raw["signature"]),
            blockhash=str(raw["blockhash"]),
            last_valid_block_height=(
                None
                if raw.get("last_valid_block_height") is None
                else int(raw["last_valid_block_height"])
            ),
            writable=tuple(str(a) for a in raw.get("writable", ())),
            sent_at=float(raw["sent_at"]),
            job=str(raw.get("job", "")),
        )


def _empty() -> dict[str, Any]:
    return {"version": VERSION, "fees": {}, "pending": [], "prices": {}}


def utc_day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


class CrankState:
    """The state file of one operator key. Methods are synchronous and short (one small
    file); call them from the event loop directly."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")
        self._clock = clock
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)

    # -- file ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """Read-modify-write under the lock; the yielded dict is saved on normal exit."""
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = self._read()
            before = json.dumps(data, sort_keys=True)
            yield data
            if json.dumps(data, sort_keys=True) != before:
                self._write(data)
        finally:
            os.close(fd)  # closing releases the flock

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return _empty()
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            # Cannot happen with atomic writes; keep the evidence and start over.
            broken = self.path.with_name(f"{self.path.name}.broken-{int(self._clock())}")
            os.replace(self.path, broken)
            log.error("state file %s was unreadable; moved to %s", self.path, broken)
            return _empty()
        if not isinstance(data, dict):
            return _empty()
        data.setdefault("fees", {})
        data.setdefault("pending", [])
        data.setdefault("prices", {})
        return data

    def _write(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        payload = json.dumps(data, sort_keys=True, indent=1).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    # -- fee ledger ------------------------------------------------------------------------

    def fees_spent_today(self) -> int:
        with self._locked() as data:
            return int(data["fees"].get(utc_day(self._clock()), 0))

    def add_fee(self, lamports: int) -> int:
        """Record ``lamports`` spent now; returns today's total."""
        day = utc_day(self._clock())
        with self._locked() as data:
            fees: dict[str, int] = data["fees"]
            fees[day] = int(fees.get(day, 0)) + int(lamports)
            for old in sorted(fees)[:-KEEP_DAYS]:
                del fees[old]
            return fees[day]

    # -- journal ---------------------------------------------------------------------------

    def record_sent(self, entry: PendingTx) -> None:
        with self._locked() as data:
            if any(p.get("signature") == entry.signature for p in data["pending"]):
                return
            data["pending"].append(asdict(entry))

    def pending(self) -> list[PendingTx]:
        with self._locked() as data:
            return [PendingTx.from_json(p) for p in data["pending"]]

    def forget(self, signatures: Sequence[str]) -> None:
        drop = set(signatures)
        if not drop:
            return
        with self._locked() as data:
            data["pending"] = [p for p in data["pending"] if p.get("signature") not in drop]

    # -- lookup table ----------------------------------------------------------------------

    def lookup_table(self) -> str | None:
        """The crank's own address lookup table (base58), None before the first one."""
        with self._locked() as data:
            value = data.get("lookup_table")
            return value if isinstance(value, str) else None

    def set_lookup_table(self, address: str) -> None:
        with self._locked() as data:
            data["lookup_table"] = address

    # -- price observations ----------------------------------------------------------------

    def observations(self, key: str) -> list[Observation]:
        with self._locked() as data:
            return _observations(data["prices"].get(key))

    def record_observation(
        self, key: str, observation: Observation, policy: ReferencePolicy
    ) -> list[Observation]:
        """Record ``observation`` under ``key`` as :func:`cranks.reference.admit` says (in
        one locked read-modify-write); returns the history now stored."""
        with self._locked() as data:
            history = admit(_observations(data["prices"].get(key)), observation, policy)
            data["prices"][key] = [o.to_json() for o in history]
            return history


def _observations(raw: object) -> list[Observation]:
    """Stored observations; entries that do not parse are dropped (never trusted)."""
    out = []
    for item in raw if isinstance(raw, list) else []:
        try:
            out.append(Observation.from_json(item))
        except ValueError:
            log.warning("dropping an unreadable price observation: %r", item)
    return out
