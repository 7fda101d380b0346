"""One running instance per (operator key, job): an exclusive, non-blocking ``flock``.

Two daemons started with the same key on one host (by mistake, or a hot standby) take turns:
whichever holds ``<lock_dir>/<key>.<job>.lock`` runs the job, the other skips that run. The
kernel drops the lock when its holder exits, however it exits, so a killed daemon never
leaves a stale lock behind. Across hosts the program's own per-model buyback cooldown is the
guard (and every job re-reads the chain before acting).

``flock`` locks belong to an open file description, so two daemons in one process (tests)
exclude each other too.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from solders.pubkey import Pubkey


class JobLock:
    def __init__(self, lock_dir: Path, key: Pubkey, job: str) -> None:
        self.path = lock_dir / f"{key}.{job}.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if free; ``False`` (at once) when another holder has it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def holder_pid(self) -> int | None:
        """The pid written by the current holder (informational; may be stale)."""
        try:
            return int(self.path.read_text().strip() or 0) or None
        except (OSError, ValueError):
            return None

    @contextlib.contextmanager
    def hold(self) -> Iterator[bool]:
        """``with lock.hold() as acquired:`` released on exit when it was acquired."""
        acquired = self.acquire()
        try:
            yield acquired
        finally:
            if acquired:
                self.release()
