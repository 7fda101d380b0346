"""Small vocabulary for describing a program's interface once.

Types are Anchor IDL type expressions (``"u64"``, ``"pubkey"``,
``array("u8", 32)``, ``defined("ModelStatus")``, ``"string"``, ``vec("u8")``,
``option("u16")``). Account and event layouts must be fixed-size (no string,
vec or option) for accounts, so the program reads them zero-copy and any borsh
decoder (Anchor TS) reads the same bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

IdlType = str | dict[str, Any]


def discriminator(namespace: str, name: str) -> bytes:
    """Anchor's discriminator: first 8 bytes of sha256("<namespace>:<name>")."""
    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8]


def array(inner: IdlType, n: int) -> dict[str, Any]:
    return {"array": [inner, n]}


def vec(inner: IdlType) -> dict[str, Any]:
    return {"vec": inner}


def option(inner: IdlType) -> dict[str, Any]:
    return {"option": inner}


def defined(name: str) -> dict[str, Any]:
    return {"defined": {"name": name}}


PRIMITIVE_SIZES = {
    "bool": 1,
    "u8": 1,
    "i8": 1,
    "u16": 2,
    "i16": 2,
    "u32": 4,
    "i32": 4,
    "u64": 8,
    "i64": 8,
    "u128": 16,
    "i128": 16,
    "pubkey": 32,
}


@dataclass(frozen=True)
class Field:
    name: str
    type: IdlType
    docs: str = ""


@dataclass(frozen=True)
class Seed:
    kind: str  # "const" | "account" | "arg"
    value: bytes = b""
    path: str = ""

    def to_idl(self) -> dict[str, Any]:
        if self.kind == "const":
            return {"kind": "const", "value": list(self.value)}
        return {"kind": self.kind, "path": self.path}


def const(value: bytes) -> Seed:
    return Seed("const", value=value)


def account_seed(path: str) -> Seed:
    return Seed("account", path=path)


def arg_seed(path: str) -> Seed:
    return Seed("arg", path=path)


@dataclass(frozen=True)
class Acc:
    """One account of an instruction."""

    name: str
    writable: bool = False
    signer: bool = False
    seeds: tuple[Seed, ...] = ()
    seeds_program: bytes | None = None
    address: str | None = None
    docs: str = ""

    def to_idl(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.docs:
            out["docs"] = [self.docs]
        if self.writable:
            out["writable"] = True
        if self.signer:
            out["signer"] = True
        if self.address:
            out["address"] = self.address
        if self.seeds:
            pda: dict[str, Any] = {"seeds": [s.to_idl() for s in self.seeds]}
            if self.seeds_program is not None:
                pda["program"] = {"kind": "const", "value": list(self.seeds_program)}
            out["pda"] = pda
        return out


@dataclass(frozen=True)
class Instruction:
    name: str
    docs: str
    accounts: tuple[Acc, ...]
    args: tuple[Field, ...] = ()
    remaining: str = ""  # what trailing (remaining) accounts mean, if any

    @property
    def discriminator(self) -> bytes:
        return discriminator("global", self.name)

    def to_idl(self) -> dict[str, Any]:
        docs = [self.docs]
        if self.remaining:
            docs.append(f"Remaining accounts: {self.remaining}")
        return {
            "name": self.name,
            "docs": docs,
            "discriminator": list(self.discriminator),
            "accounts": [a.to_idl() for a in self.accounts],
            "args": [field_to_idl(f) for f in self.args],
        }


def field_to_idl(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f.name}
    if f.docs:
        out["docs"] = [f.docs]
    out["type"] = f.type
    return out


@dataclass(frozen=True)
class Struct:
    name: str
    fields: tuple[Field, ...]
    docs: str = ""

    def to_idl_type(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.docs:
            out["docs"] = [self.docs]
        out["type"] = {"kind": "struct", "fields": [field_to_idl(f) for f in self.fields]}
        return out


@dataclass(frozen=True)
class Enum:
    name: str
    variants: tuple[str, ...]
    docs: str = ""

    def to_idl_type(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.docs:
            out["docs"] = [self.docs]
        out["type"] = {"kind": "enum", "variants": [{"name": v} for v in self.variants]}
        return out


@dataclass(frozen=True)
class ErrorCode:
    name: str
    msg: str


@dataclass(frozen=True)
class Constant:
    """A named interface constant (IDL ``constants``): PDA seed prefixes are ``bytes``
    (Rust ``&[u8]``), limits are integers of ``type``. ``rust`` names it in the program's
    generated ``seeds.rs`` (default: the name)."""

    name: str
    type: str
    value: bytes | int
    rust: str = ""
    docs: str = ""

    def to_idl(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.docs:
            out["docs"] = [self.docs]
        if isinstance(self.value, bytes):
            out["type"] = "bytes"
            out["value"] = "[" + ", ".join(str(b) for b in self.value) + "]"
        else:
            out["type"] = self.type
            out["value"] = str(self.value)
        return out


@dataclass
class Program:
    name: str
    address: str
    version: str
    description: str
    instructions: list[Instruction]
    accounts: list[Struct]
    events: list[Struct]
    types: list[Struct | Enum] = field(default_factory=list)
    errors: list[ErrorCode] = field(default_factory=list)
    first_error_code: int = 6000
    constants: list[Constant] = field(default_factory=list)

    def type_by_name(self, name: str) -> Struct | Enum:
        for t in [*self.accounts, *self.events, *self.types]:
            if t.name == name:
                return t
        raise KeyError(name)

    def size_of(self, t: IdlType) -> int:
        """Fixed borsh size of a type; raises for variable-size types."""
        if isinstance(t, str):
            if t in PRIMITIVE_SIZES:
                return PRIMITIVE_SIZES[t]
            raise ValueError(f"variable-size type {t!r} in a fixed layout")
        if "array" in t:
            inner, n = t["array"]
            return self.size_of(inner) * int(n)
        if "defined" in t:
            d = self.type_by_name(t["defined"]["name"])
            if isinstance(d, Enum):
                return 1
            return sum(self.size_of(f.type) for f in d.fields)
        raise ValueError(f"variable-size type {t!r} in a fixed layout")

    def offsets(self, s: Struct, start: int = 0) -> list[tuple[Field, int, int]]:
        out = []
        off = start
        for f in s.fields:
            n = self.size_of(f.type)
            out.append((f, off, n))
            off += n
        return out

    def account_len(self, s: Struct) -> int:
        return 8 + sum(self.size_of(f.type) for f in s.fields)

    def to_idl(self) -> dict[str, Any]:
        types = [*self.accounts, *self.events, *self.types]
        return {
            "address": self.address,
            "metadata": {
                "name": self.name,
                "version": self.version,
                "spec": "0.1.0",
                "description": self.description,
            },
            "instructions": [ix.to_idl() for ix in self.instructions],
            "accounts": [
                {"name": a.name, "discriminator": list(discriminator("account", a.name))}
                for a in self.accounts
            ],
            "events": [
                {"name": e.name, "discriminator": list(discriminator("event", e.name))}
                for e in self.events
            ],
            "errors": [
                {"code": self.first_error_code + i, "name": e.name, "msg": e.msg}
                for i, e in enumerate(self.errors)
            ],
            "types": [t.to_idl_type() for t in types],
            **({"constants": [c.to_idl() for c in self.constants]} if self.constants else {}),
        }
