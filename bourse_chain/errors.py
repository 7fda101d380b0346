"""Our exceptions, and the mapping from failed transactions to them.

Every error this package raises is a :class:`BourseError`.  A program's custom error code
becomes an instance of that program's generated class (``bourse_chain.generated.<program>
.errors``, e.g. ``compute_market.errors.FeeAboveCap``), a subclass of :class:`ProgramError`,
so callers catch exactly the failures they expect:

>>> from bourse_chain.generated import compute_market
>>> err = from_tx_error({"InstructionError": [0, {"Custom": 6013}]}, [compute_market.PROGRAM_ID])
>>> type(err).__name__, err.code, err.msg
('FeeAboveCap', 6013, 'Fee is above its cap')
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from solders.pubkey import Pubkey
from solders.transaction_status import (
    InstructionErrorCustom,
    TransactionErrorInstructionError,
)

__all__ = [
    "AccountDecodeError",
    "BourseError",
    "DecodeError",
    "EventDecodeError",
    "ProgramError",
    "TransactionFailed",
    "from_code",
    "from_logs",
    "from_tx_error",
]


class BourseError(Exception):
    """Base of every error raised by the Bourse chain toolkit."""


class DecodeError(BourseError, ValueError):
    """Bytes that do not decode to the expected type."""


class AccountDecodeError(DecodeError):
    """Account data of the wrong type: discriminator, length, owner or a field value."""


class EventDecodeError(DecodeError):
    """Event data whose discriminator is known but whose body does not decode."""


class ProgramError(BourseError):
    """A custom error code returned by one of our programs.

    Generated subclasses fix ``code``, ``name`` and ``msg`` per IDL error; this base class is
    also usable on its own for a code no IDL names.
    """

    code: int = -1
    name: str = "ProgramError"
    msg: str = ""
    program_name: str = ""
    program_id: Pubkey | None = None

    def __init__(
        self,
        code: int | None = None,
        name: str | None = None,
        msg: str | None = None,
        *,
        program_id: Pubkey | None = None,
        instruction_index: int | None = None,
        logs: Sequence[str] = (),
    ) -> None:
        if code is not None:
            self.code = code
        if name is not None:
            self.name = name
        if msg is not None:
            self.msg = msg
        if program_id is not None:
            self.program_id = program_id
        #: Index of the failed top-level instruction, when known.
        self.instruction_index = instruction_index
        #: Transaction logs, when known.
        self.logs = tuple(logs)
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.program_name}: " if self.program_name else ""
        return f"{where}{self.name} ({self.code}, 0x{self.code:x}): {self.msg}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (type(self), self.code, self.name, self.msg, self.instruction_index, self.logs),
        )


def _rebuild(
    cls: type[ProgramError],
    code: int,
    name: str,
    msg: str,
    index: int | None,
    logs: tuple[str, ...],
) -> ProgramError:
    return cls(code, name, msg, instruction_index=index, logs=logs)


#: A program's ``from_code`` lookup, by program id (see ``bourse_chain.generated.ERROR_MAPS``).
ErrorMap = Mapping[Pubkey, Callable[[int], ProgramError | None]]


class TransactionFailed(BourseError):
    """A transaction failed for a reason that is not one of our programs' error codes."""

    def __init__(
        self,
        err: object,
        logs: Sequence[str] = (),
        *,
        signature: str | None = None,
        instruction_index: int | None = None,
    ) -> None:
        #: The transaction error as received (solders object or RPC JSON).
        self.err = err
        #: Transaction logs, when known.
        self.logs = tuple(logs)
        self.signature = signature
        self.instruction_index = instruction_index
        super().__init__(f"transaction failed: {err}")


def _default_maps() -> ErrorMap:
    # Imported here: the generated error modules import this module.
    from bourse_chain.generated import ERROR_MAPS

    return ERROR_MAPS


def from_code(
    program_id: Pubkey, code: int, *, error_maps: ErrorMap | None = None
) -> ProgramError | None:
    """The error ``program_id``'s IDL gives ``code``, or ``None`` (unknown program or code)."""
    lookup = (error_maps if error_maps is not None else _default_maps()).get(program_id)
    return None if lookup is None else lookup(code)


_FAILED = re.compile(
    r"^Program ([1-9A-HJ-NP-Za-km-z]{32,44}) failed: custom program error: 0x([0-9a-fA-F]+)$"
)


def _failing_program(logs: Sequence[str]) -> tuple[Pubkey, int] | None:
    """``(program id, code)`` of the first "failed: custom program error" line, if any."""
    for line in logs:
        m = _FAILED.match(line)
        if m is not None:
            return Pubkey.from_string(m.group(1)), int(m.group(2), 16)
    return None


def from_logs(logs: Sequence[str], *, error_maps: ErrorMap | None = None) -> ProgramError | None:
    """The program error that failed a transaction, read from its logs.

    The first "Program <id> failed: custom program error: 0x<code>" line is the failing
    program itself (callers up the CPI stack log the same code after it), so a cp_pool error
    raised inside compute_market's ``buyback`` maps to cp_pool's class, not compute_market's.
    ``None`` when no such line exists or the failing program is not one of ours.
    """
    failing = _failing_program(logs)
    if failing is None:
        return None
    program_id, code = failing
    err = from_code(program_id, code, error_maps=error_maps)
    if err is not None:
        err.program_id = program_id
        err.logs = tuple(logs)
    return err


def _instruction_error(err: object) -> tuple[int, int | None] | None:
    """``(instruction index, custom code or None)`` of an InstructionError, else ``None``."""
    if isinstance(err, TransactionErrorInstructionError):
        inner = err.err
        return err.index, inner.code if isinstance(inner, InstructionErrorCustom) else None
    if isinstance(err, str | bytes) and err[:1] in ("{", b"{"):
        try:
            err = json.loads(err)
        except ValueError:
            return None
    if isinstance(err, Mapping) and "InstructionError" in err:
        pair = err["InstructionError"]
        if isinstance(pair, Sequence) and len(pair) == 2 and isinstance(pair[0], int):
            inner = pair[1]
            code = inner.get("Custom") if isinstance(inner, Mapping) else None
            return pair[0], code if isinstance(code, int) else None
    return None


def from_tx_error(
    err: object,
    program_ids: Sequence[Pubkey],
    logs: Sequence[str] | None = None,
    *,
    error_maps: ErrorMap | None = None,
) -> BourseError | None:
    """Our exception for a transaction error; ``None`` when ``err`` is ``None`` (no error).

    ``err`` is a solders ``TransactionErrorType`` (e.g. ``TransactionErrorInstructionError``
    with ``InstructionErrorCustom``, as in ``SendTransactionPreflightFailureMessage.data.err``
    or LiteSVM's ``FailedTransactionMetadata.err``) or the RPC JSON form
    ``{"InstructionError": [index, {"Custom": code}]}`` (a dict, or its JSON text).
    ``program_ids`` lists the program id of each top-level instruction of the transaction, in
    order: a custom code is looked up in the program of the failed instruction.  When ``logs``
    are given, the program that actually failed (possibly one called by CPI) is read from them
    first.  Any other failure, or a code no IDL names, gives :class:`TransactionFailed`.
    """
    if err is None:
        return None
    parsed = _instruction_error(err)
    index = parsed[0] if parsed else None
    if parsed is not None and parsed[1] is not None:
        code = parsed[1]
        failing = _failing_program(logs or ())
        if failing is not None and failing[1] == code:
            # The logs name the program that failed, possibly one called by CPI: only its
            # own IDL can name the code (a swap venue's 6001 is not compute_market's).
            found = from_logs(logs or (), error_maps=error_maps)
            if found is None:
                return TransactionFailed(err, logs or (), instruction_index=index)
            found.instruction_index = index
            return found
        if 0 <= parsed[0] < len(program_ids):
            program_id = program_ids[parsed[0]]
            mapped = from_code(program_id, code, error_maps=error_maps)
            if mapped is not None:
                mapped.program_id = program_id
                mapped.instruction_index = index
                mapped.logs = tuple(logs or ())
                return mapped
    return TransactionFailed(err, logs or (), instruction_index=index)
