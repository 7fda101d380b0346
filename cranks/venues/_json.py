"""Strict readers for venue JSON: every missing or ill-typed field is a MalformedResponse.

Amounts travel as decimal strings in Jupiter's and Raydium's APIs (u64 does not fit a JSON
double); :meth:`Obj.u64` accepts exactly that, and a JSON integer as well.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from cranks.venues.base import U64_MAX
from cranks.venues.errors import MalformedResponse

_DIGITS = re.compile(r"[0-9]+")


class Obj:
    """A JSON object with a path (``where``) for error messages."""

    __slots__ = ("raw", "venue", "where")

    def __init__(self, raw: object, where: str, venue: str) -> None:
        if not isinstance(raw, dict):
            raise MalformedResponse(f"{where}: expected an object, got {_kind(raw)}", venue=venue)
        self.raw: dict[str, Any] = raw
        self.where = where
        self.venue = venue

    def _err(self, key: str, what: str) -> MalformedResponse:
        return MalformedResponse(f"{self.where}.{key}: {what}", venue=self.venue)

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def get(self, key: str) -> object:
        if key not in self.raw:
            raise self._err(key, "missing")
        return self.raw[key]

    def str_(self, key: str) -> str:
        v = self.get(key)
        if not isinstance(v, str):
            raise self._err(key, f"expected a string, got {_kind(v)}")
        return v

    def opt_str(self, key: str) -> str | None:
        return None if self.raw.get(key) is None else self.str_(key)

    def int_(self, key: str) -> int:
        v = self.get(key)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self._err(key, f"expected an integer, got {_kind(v)}")
        return v

    def opt_int(self, key: str) -> int | None:
        return None if self.raw.get(key) is None else self.int_(key)

    def number(self, key: str) -> float:
        v = self.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self._err(key, f"expected a number, got {_kind(v)}")
        return float(v)

    def u64(self, key: str) -> int:
        v = self.get(key)
        if isinstance(v, str) and _DIGITS.fullmatch(v):
            n = int(v)
        elif isinstance(v, int) and not isinstance(v, bool):
            n = v
        else:
            raise self._err(key, f"expected a u64 decimal string, got {v!r}")
        if not 0 <= n <= U64_MAX:
            raise self._err(key, f"{n} is outside u64")
        return n

    def decimal_str(self, key: str) -> float:
        """A number sent as a string ("0.0012") or a JSON number."""
        v = self.get(key)
        if isinstance(v, bool):
            raise self._err(key, "expected a decimal, got a boolean")
        if isinstance(v, int | float):
            return float(v)
        if isinstance(v, str):
            try:
                return float(v)
            except ValueError:
                raise self._err(key, f"{v!r} is not a decimal") from None
        raise self._err(key, f"expected a decimal, got {_kind(v)}")

    def bool_(self, key: str) -> bool:
        v = self.get(key)
        if not isinstance(v, bool):
            raise self._err(key, f"expected a boolean, got {_kind(v)}")
        return v

    def list_(self, key: str) -> list[object]:
        v = self.get(key)
        if not isinstance(v, list):
            raise self._err(key, f"expected an array, got {_kind(v)}")
        return v

    def pubkey_list(self, key: str) -> tuple[Pubkey, ...]:
        out = []
        for i, item in enumerate(self.list_(key)):
            if not isinstance(item, str):
                raise self._err(f"{key}[{i}]", f"expected a string, got {_kind(item)}")
            out.append(parse_pubkey(item, f"{self.where}.{key}[{i}]", self.venue))
        return tuple(out)

    def obj(self, key: str) -> Obj:
        return Obj(self.get(key), f"{self.where}.{key}", self.venue)

    def opt_obj(self, key: str) -> Obj | None:
        return None if self.raw.get(key) is None else self.obj(key)

    def pubkey(self, key: str) -> Pubkey:
        return parse_pubkey(self.str_(key), f"{self.where}.{key}", self.venue)


def _kind(v: object) -> str:
    return "null" if v is None else type(v).__name__


def parse_pubkey(text: str, where: str, venue: str) -> Pubkey:
    try:
        return Pubkey.from_string(text)
    except ValueError:
        raise MalformedResponse(f"{where}: {text!r} is not a public key", venue=venue) from None


def decode_instruction(obj: Obj) -> Instruction:
    """``{programId, accounts: [{pubkey, isSigner, isWritable}], data: base64}``."""
    program_id = obj.pubkey("programId")
    metas: list[AccountMeta] = []
    for i, item in enumerate(obj.list_("accounts")):
        acc = Obj(item, f"{obj.where}.accounts[{i}]", obj.venue)
        metas.append(
            AccountMeta(
                acc.pubkey("pubkey"),
                is_signer=acc.bool_("isSigner"),
                is_writable=acc.bool_("isWritable"),
            )
        )
    text = obj.str_("data")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedResponse(f"{obj.where}.data: not base64", venue=obj.venue) from None
    return Instruction(program_id, data, metas)


def decode_instructions(parent: Obj, key: str) -> tuple[Instruction, ...]:
    return tuple(
        decode_instruction(Obj(item, f"{parent.where}.{key}[{i}]", parent.venue))
        for i, item in enumerate(parent.list_(key))
    )
