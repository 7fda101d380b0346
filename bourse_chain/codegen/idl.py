"""A typed reading of an Anchor IDL (spec 0.1.0, as Anchor >= 0.30 emits it).

Only what the generator can express is accepted; anything else raises
:class:`UnsupportedIdl` naming the item, so a new IDL feature fails loudly at generation time
instead of producing wrong bindings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

PRIMITIVES = frozenset(
    {
        "bool",
        "u8",
        "i8",
        "u16",
        "i16",
        "u32",
        "i32",
        "u64",
        "i64",
        "u128",
        "i128",
        "f32",
        "f64",
        "pubkey",
        "string",
        "bytes",
    }
)


class UnsupportedIdl(ValueError):
    """The IDL uses something the generator cannot express."""


# -- type expressions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Prim:
    name: str


@dataclass(frozen=True)
class Array:
    inner: TypeExpr
    n: int


@dataclass(frozen=True)
class Vec:
    inner: TypeExpr


@dataclass(frozen=True)
class Opt:
    inner: TypeExpr


@dataclass(frozen=True)
class Defined:
    name: str


TypeExpr: TypeAlias = Prim | Array | Vec | Opt | Defined


def parse_type(t: Any, where: str) -> TypeExpr:
    if isinstance(t, str):
        name = "pubkey" if t == "publicKey" else t
        if name not in PRIMITIVES:
            raise UnsupportedIdl(f"{where}: type {t!r}")
        return Prim(name)
    if isinstance(t, dict) and len(t) == 1:
        ((kind, v),) = t.items()
        if kind == "array":
            inner, n = v
            if not isinstance(n, int):
                raise UnsupportedIdl(f"{where}: array length {n!r} (generic lengths)")
            return Array(parse_type(inner, where), n)
        if kind == "vec":
            return Vec(parse_type(v, where))
        if kind == "option":
            return Opt(parse_type(v, where))
        if kind == "defined":
            if isinstance(v, str):
                return Defined(v)
            if v.get("generics"):
                raise UnsupportedIdl(f"{where}: generic type arguments")
            return Defined(str(v["name"]))
    raise UnsupportedIdl(f"{where}: type {t!r}")


# -- definitions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    type: TypeExpr
    docs: tuple[str, ...] = ()


@dataclass(frozen=True)
class StructDef:
    name: str
    fields: tuple[Field, ...]
    docs: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnumDef:
    name: str
    variants: tuple[str, ...]
    docs: tuple[str, ...] = ()


TypeDef: TypeAlias = StructDef | EnumDef


@dataclass(frozen=True)
class Seed:
    kind: str  # "const" | "account" | "arg"
    value: bytes = b""
    path: str = ""


@dataclass(frozen=True)
class Pda:
    seeds: tuple[Seed, ...]
    program: Seed | None = None


@dataclass(frozen=True)
class IxAccount:
    name: str
    writable: bool
    signer: bool
    optional: bool
    address: str | None
    pda: Pda | None
    docs: tuple[str, ...] = ()


@dataclass(frozen=True)
class IxDef:
    name: str
    discriminator: bytes
    accounts: tuple[IxAccount, ...]
    args: tuple[Field, ...]
    docs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Named:
    """An account or event: a name, its discriminator and its layout (a defined struct)."""

    name: str
    discriminator: bytes
    layout: StructDef


@dataclass(frozen=True)
class ErrorDef:
    code: int
    name: str
    msg: str


@dataclass(frozen=True)
class ConstDef:
    """One entry of the IDL's ``constants``: a ``bytes`` value or an integer."""

    name: str
    type: str
    value: bytes | int
    docs: str


_INT_TYPES = frozenset({"u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "usize", "isize"})


def _const(c: dict[str, Any], program: str) -> ConstDef:
    name, ctype, raw = str(c["name"]), str(c["type"]), str(c["value"])
    where = f"{program}: constant {name}"
    if ctype == "bytes":
        items = raw.strip().removeprefix("[").removesuffix("]").split(",")
        return ConstDef(name, ctype, bytes(int(x) for x in items if x.strip()), " ".join(_docs(c)))
    if ctype in _INT_TYPES:
        return ConstDef(name, ctype, int(raw.replace("_", "")), " ".join(_docs(c)))
    raise UnsupportedIdl(f"{where}: type {ctype!r}")


@dataclass(frozen=True)
class Idl:
    name: str
    address: str
    version: str
    description: str
    instructions: tuple[IxDef, ...]
    accounts: tuple[Named, ...]
    events: tuple[Named, ...]
    errors: tuple[ErrorDef, ...]
    types: tuple[TypeDef, ...]
    source: str
    constants: tuple[ConstDef, ...] = ()

    def type_by_name(self, name: str) -> TypeDef:
        for t in self.types:
            if t.name == name:
                return t
        raise UnsupportedIdl(f"{self.name}: undefined type {name!r}")

    @property
    def plain_types(self) -> tuple[TypeDef, ...]:
        """Types that are neither an account nor an event layout."""
        taken = {a.name for a in self.accounts} | {e.name for e in self.events}
        return tuple(t for t in self.types if t.name not in taken)


def _docs(d: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(x) for x in d.get("docs", ()))


def _bytes(v: Any, where: str) -> bytes:
    if isinstance(v, list) and all(isinstance(x, int) and 0 <= x < 256 for x in v):
        return bytes(v)
    raise UnsupportedIdl(f"{where}: const seed value {v!r}")


def _seed(s: dict[str, Any], where: str) -> Seed:
    kind = s.get("kind")
    if kind == "const":
        return Seed("const", value=_bytes(s["value"], where))
    if kind in ("account", "arg"):
        return Seed(str(kind), path=str(s["path"]))
    raise UnsupportedIdl(f"{where}: seed {s!r}")


def _field(f: Any, where: str) -> Field:
    if not isinstance(f, dict):
        raise UnsupportedIdl(f"{where}: tuple (unnamed) fields")
    w = f"{where}.{f['name']}"
    return Field(str(f["name"]), parse_type(f["type"], w), _docs(f))


def _struct_fields(fields: list[Any], where: str) -> tuple[Field, ...]:
    """Named fields, or a tuple struct's fields (Borsh encodes both in order): a single
    unnamed field is called ``value``, several ``item_0``, ``item_1``, ..."""
    if not any(isinstance(f, dict) for f in fields):
        if len(fields) == 1:
            return (Field("value", parse_type(fields[0], f"{where}.0")),)
        return tuple(
            Field(f"item_{i}", parse_type(t, f"{where}.{i}")) for i, t in enumerate(fields)
        )
    return tuple(_field(f, where) for f in fields)


def _typedef(t: dict[str, Any], idl_name: str) -> TypeDef:
    where = f"{idl_name}: type {t['name']}"
    if t.get("generics"):
        raise UnsupportedIdl(f"{where}: generics")
    ser = t.get("serialization", "borsh")
    if ser != "borsh":
        raise UnsupportedIdl(f"{where}: serialization {ser!r}")
    body = t["type"]
    kind = body["kind"]
    if kind == "struct":
        return StructDef(
            str(t["name"]),
            _struct_fields(list(body.get("fields", ())), where),
            _docs(t),
        )
    if kind == "enum":
        variants = []
        for v in body["variants"]:
            if v.get("fields"):
                raise UnsupportedIdl(f"{where}: enum variant {v['name']} carries data")
            variants.append(str(v["name"]))
        if len(variants) > 256:
            raise UnsupportedIdl(f"{where}: more than 256 variants")
        return EnumDef(str(t["name"]), tuple(variants), _docs(t))
    raise UnsupportedIdl(f"{where}: kind {kind!r}")


def _ix_account(a: dict[str, Any], where: str) -> IxAccount:
    w = f"{where}.{a['name']}"
    if "accounts" in a:
        raise UnsupportedIdl(f"{w}: composite (nested) account groups")
    pda = None
    if "pda" in a:
        p = a["pda"]
        program = _seed(p["program"], w) if "program" in p else None
        pda = Pda(tuple(_seed(s, w) for s in p["seeds"]), program)
    return IxAccount(
        name=str(a["name"]),
        writable=bool(a.get("writable", False)),
        signer=bool(a.get("signer", False)),
        optional=bool(a.get("optional", False)),
        address=str(a["address"]) if a.get("address") else None,
        pda=pda,
        docs=_docs(a),
    )


def _named(d: dict[str, Any], types: dict[str, TypeDef], where: str) -> Named:
    name = str(d["name"])
    layout = types.get(name)
    if not isinstance(layout, StructDef):
        raise UnsupportedIdl(f"{where} {name}: no struct type of that name")
    return Named(name, _bytes(d["discriminator"], f"{where} {name}"), layout)


def parse(doc: dict[str, Any], source: str = "") -> Idl:
    meta = doc.get("metadata", {})
    name = str(meta["name"])
    types = tuple(_typedef(t, name) for t in doc.get("types", ()))
    by_name = {t.name: t for t in types}
    instructions = []
    for ix in doc.get("instructions", ()):
        where = f"{name}: instruction {ix['name']}"
        instructions.append(
            IxDef(
                name=str(ix["name"]),
                discriminator=_bytes(ix["discriminator"], where),
                accounts=tuple(_ix_account(a, where) for a in ix.get("accounts", ())),
                args=tuple(_field(f, where) for f in ix.get("args", ())),
                docs=_docs(ix),
            )
        )
    idl = Idl(
        name=name,
        address=str(doc["address"]),
        version=str(meta.get("version", "")),
        description=str(meta.get("description", "")),
        instructions=tuple(instructions),
        accounts=tuple(_named(a, by_name, f"{name}: account") for a in doc.get("accounts", ())),
        events=tuple(_named(e, by_name, f"{name}: event") for e in doc.get("events", ())),
        errors=tuple(
            ErrorDef(int(e["code"]), str(e["name"]), str(e.get("msg", "")))
            for e in doc.get("errors", ())
        ),
        types=types,
        source=source,
        constants=tuple(_const(c, name) for c in doc.get("constants", ())),
    )
    _check_references(idl)
    _check_discriminators(idl)
    return idl


def _check_discriminators(idl: Idl) -> None:
    groups: list[tuple[str, list[tuple[str, bytes]]]] = [
        ("instruction", [(i.name, i.discriminator) for i in idl.instructions]),
        ("account", [(a.name, a.discriminator) for a in idl.accounts]),
        ("event", [(e.name, e.discriminator) for e in idl.events]),
    ]
    for kind, items in groups:
        for i, (name, d) in enumerate(items):
            if not d:
                raise UnsupportedIdl(f"{idl.name}: {kind} {name} has an empty discriminator")
            for other, d2 in items[:i]:
                if d.startswith(d2) or d2.startswith(d):
                    raise UnsupportedIdl(
                        f"{idl.name}: {kind} discriminators of {other} and {name} are ambiguous"
                    )


def _walk(t: TypeExpr) -> list[Defined]:
    if isinstance(t, Defined):
        return [t]
    if isinstance(t, Array | Vec | Opt):
        return _walk(t.inner)
    return []


def _check_references(idl: Idl) -> None:
    layouts = {a.name for a in idl.accounts} | {e.name for e in idl.events}
    fields: list[tuple[str, Field]] = []
    for t in idl.types:
        if isinstance(t, StructDef):
            fields += [(t.name, f) for f in t.fields]
    for ix in idl.instructions:
        fields += [(ix.name, f) for f in ix.args]
    for owner, f in fields:
        for d in _walk(f.type):
            idl.type_by_name(d.name)
            if d.name in layouts:
                raise UnsupportedIdl(
                    f"{idl.name}: {owner}.{f.name} nests {d.name}, an account/event layout"
                )
    _check_acyclic(idl)


def _check_acyclic(idl: Idl) -> None:
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise UnsupportedIdl(f"{idl.name}: recursive type {name}")
        state[name] = 1
        t = idl.type_by_name(name)
        if isinstance(t, StructDef):
            for f in t.fields:
                for d in _walk(f.type):
                    visit(d.name)
        state[name] = 2

    for t in idl.types:
        visit(t.name)


def load(path: Path, source: str = "") -> Idl:
    """Read one IDL file; ``source`` names it in the generated headers (default ``idl/<file>``)."""
    return parse(json.loads(path.read_text()), source=source or f"idl/{path.name}")
