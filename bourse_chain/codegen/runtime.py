"""Runtime support for the generated bindings (``bourse_chain.generated``).

Borsh as Anchor writes it: integers little-endian, ``bool`` one byte (0 or 1), ``pubkey``
32 bytes, ``string``/``bytes`` a ``u32`` length then the bytes, ``vec`` a ``u32`` count then
the items, ``option`` a ``0`` byte or a ``1`` byte then the value, fixed arrays inline, unit
enums a ``u8`` variant index.  Fixed-size layouts do not come here: the generated code packs
them with one precompiled :class:`struct.Struct` each.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from solders.pubkey import Pubkey

T = TypeVar("T")

MAX_SEED_LEN = 32
MAX_SEEDS = 16

_U8 = struct.Struct("<B")
_I8 = struct.Struct("<b")
_U16 = struct.Struct("<H")
_I16 = struct.Struct("<h")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")


class BorshReader:
    """Reads borsh values from ``data`` front to back; raises ``ValueError`` on bad input."""

    __slots__ = ("_data", "_off")

    def __init__(self, data: bytes, offset: int = 0) -> None:
        self._data = data
        self._off = offset

    @property
    def offset(self) -> int:
        return self._off

    @property
    def remaining(self) -> int:
        return len(self._data) - self._off

    def take(self, n: int) -> bytes:
        end = self._off + n
        if n < 0 or end > len(self._data):
            raise ValueError(f"need {n} bytes at offset {self._off}, have {self.remaining}")
        out = self._data[self._off : end]
        self._off = end
        return bytes(out)

    def _unpack(self, s: struct.Struct) -> int:
        if self._off + s.size > len(self._data):
            raise ValueError(f"need {s.size} bytes at offset {self._off}, have {self.remaining}")
        (v,) = s.unpack_from(self._data, self._off)
        self._off += s.size
        return int(v)

    def finish(self) -> None:
        """Raise unless every byte was consumed (borsh has no trailing bytes)."""
        if self._off != len(self._data):
            raise ValueError(f"{self.remaining} trailing bytes")

    def bool_(self) -> bool:
        v = self._unpack(_U8)
        if v > 1:
            raise ValueError(f"invalid bool byte {v}")
        return v == 1

    def u8(self) -> int:
        return self._unpack(_U8)

    def i8(self) -> int:
        return self._unpack(_I8)

    def u16(self) -> int:
        return self._unpack(_U16)

    def i16(self) -> int:
        return self._unpack(_I16)

    def u32(self) -> int:
        return self._unpack(_U32)

    def i32(self) -> int:
        return self._unpack(_I32)

    def u64(self) -> int:
        return self._unpack(_U64)

    def i64(self) -> int:
        return self._unpack(_I64)

    def u128(self) -> int:
        return int.from_bytes(self.take(16), "little")

    def i128(self) -> int:
        return int.from_bytes(self.take(16), "little", signed=True)

    def f32(self) -> float:
        return float(_F32.unpack(self.take(4))[0])

    def f64(self) -> float:
        return float(_F64.unpack(self.take(8))[0])

    def pubkey(self) -> Pubkey:
        return Pubkey(self.take(32))

    def bytes_(self) -> bytes:
        return self.take(self.u32())

    def string(self) -> str:
        return self.take(self.u32()).decode("utf-8")

    def array(self, read: Callable[[], T], n: int) -> tuple[T, ...]:
        return tuple(read() for _ in range(n))

    def vec(self, read: Callable[[], T]) -> tuple[T, ...]:
        n = self.u32()
        if n > self.remaining:  # every item takes at least one byte
            raise ValueError(f"vec length {n} exceeds the {self.remaining} bytes left")
        return tuple(read() for _ in range(n))

    def option(self, read: Callable[[], T]) -> T | None:
        tag = self.u8()
        if tag == 0:
            return None
        if tag != 1:
            raise ValueError(f"invalid option tag {tag}")
        return read()


class BorshWriter:
    """Accumulates borsh-encoded values; :meth:`getvalue` returns the bytes."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def getvalue(self) -> bytes:
        return b"".join(self._parts)

    def raw(self, b: bytes) -> None:
        self._parts.append(b)

    def bool_(self, v: bool) -> None:
        self._parts.append(b"\x01" if v else b"\x00")

    def u8(self, v: int) -> None:
        self._parts.append(_U8.pack(v))

    def i8(self, v: int) -> None:
        self._parts.append(_I8.pack(v))

    def u16(self, v: int) -> None:
        self._parts.append(_U16.pack(v))

    def i16(self, v: int) -> None:
        self._parts.append(_I16.pack(v))

    def u32(self, v: int) -> None:
        self._parts.append(_U32.pack(v))

    def i32(self, v: int) -> None:
        self._parts.append(_I32.pack(v))

    def u64(self, v: int) -> None:
        self._parts.append(_U64.pack(v))

    def i64(self, v: int) -> None:
        self._parts.append(_I64.pack(v))

    def u128(self, v: int) -> None:
        self._parts.append(int_to_bytes(v, 16, signed=False))

    def i128(self, v: int) -> None:
        self._parts.append(int_to_bytes(v, 16, signed=True))

    def f32(self, v: float) -> None:
        self._parts.append(_F32.pack(v))

    def f64(self, v: float) -> None:
        self._parts.append(_F64.pack(v))

    def pubkey(self, v: Pubkey) -> None:
        self._parts.append(bytes(v))

    def bytes_(self, v: bytes) -> None:
        self._parts.append(_U32.pack(len(v)))
        self._parts.append(bytes(v))

    def string(self, v: str) -> None:
        self.bytes_(v.encode("utf-8"))

    def fixed_bytes(self, v: bytes, n: int) -> None:
        """A ``[u8; n]`` array: exactly ``n`` bytes, no length prefix."""
        check_len(v, n)
        self._parts.append(bytes(v))

    def array(self, items: Sequence[T], write: Callable[[T], None], n: int) -> None:
        check_len(items, n)
        for item in items:
            write(item)

    def vec(self, items: Sequence[T], write: Callable[[T], None]) -> None:
        self._parts.append(_U32.pack(len(items)))
        for item in items:
            write(item)

    def option(self, value: T | None, write: Callable[[T], None]) -> None:
        if value is None:
            self._parts.append(b"\x00")
        else:
            self._parts.append(b"\x01")
            write(value)


def int_to_bytes(v: int, size: int, *, signed: bool) -> bytes:
    """Little-endian ``size``-byte integer; ``ValueError`` when it does not fit."""
    try:
        return v.to_bytes(size, "little", signed=signed)
    except OverflowError as e:
        raise ValueError(f"{v} does not fit in {size * 8} bits") from e


def check_len(value: Sequence[object] | bytes, n: int, what: str = "array") -> None:
    """Raise ``ValueError`` unless a fixed-size array value has exactly ``n`` items."""
    if len(value) != n:
        raise ValueError(f"{what} must have exactly {n} items, got {len(value)}")


def find_pda(seeds: Sequence[bytes], program_id: Pubkey) -> tuple[Pubkey, int]:
    """``Pubkey.find_program_address`` that raises ``ValueError`` on seeds the runtime refuses.

    (solders panics, with an exception that is not an ``Exception``, on a seed over 32 bytes.)
    """
    if len(seeds) > MAX_SEEDS - 1:
        raise ValueError(f"at most {MAX_SEEDS - 1} seeds besides the bump, got {len(seeds)}")
    for s in seeds:
        if len(s) > MAX_SEED_LEN:
            raise ValueError(f"seed longer than {MAX_SEED_LEN} bytes: {bytes(s)!r}")
    return Pubkey.find_program_address(seeds, program_id)


_B58 = r"[1-9A-HJ-NP-Za-km-z]{32,44}"
_INVOKE = re.compile(rf"^Program ({_B58}) invoke \[\d+\]$")
_EXIT = re.compile(rf"^Program ({_B58}) (?:success$|failed)")
_DATA = "Program data: "


def program_data(logs: Sequence[str], program_id: Pubkey) -> Iterator[bytes]:
    """The ``sol_log_data`` payloads that ``program_id`` itself logged.

    Walks the invoke stack ("Program <id> invoke [n]" pushes, "Program <id> success" or
    "Program <id> failed: ..." pops) and yields each "Program data: <base64> ..." line logged
    while ``program_id`` is the innermost executing program (the fields of one line
    concatenated), so events of programs it calls, or that call it, are left out.
    Undecodable lines are skipped; a "Log truncated" line ends the walk.
    """
    me = str(program_id)
    stack: list[str] = []
    for line in logs:
        if line.startswith(_DATA):
            if stack and stack[-1] == me:
                try:
                    yield b"".join(
                        base64.b64decode(f, validate=True) for f in line[len(_DATA) :].split()
                    )
                except (binascii.Error, ValueError):
                    continue
        elif m := _INVOKE.match(line):
            stack.append(m.group(1))
        elif m := _EXIT.match(line):
            if stack and stack[-1] == m.group(1):
                stack.pop()
        elif line == "Log truncated":
            return
