"""From IDL type expressions to Python: annotations, sizes, struct formats and borsh code.

Fixed-size types (no string, bytes, vec or option anywhere inside) are packed with one
``struct.Struct`` per top-level layout: :func:`fmt` gives the format, :func:`unpack` the
expression that rebuilds a value from the unpacked tuple and :func:`pack` the arguments that
flatten it back.  Variable-size types go through ``BorshReader``/``BorshWriter`` with
:func:`read_expr` and :func:`write_stmt`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bourse_chain.codegen.idl import (
    Array,
    Defined,
    EnumDef,
    Idl,
    Opt,
    Prim,
    StructDef,
    TypeExpr,
    UnsupportedIdl,
    Vec,
)
from bourse_chain.codegen.names import pascal, safe, snake

INT_SIZES = {
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
}
FIXED_SIZES = {**INT_SIZES, "bool": 1, "f32": 4, "f64": 8, "pubkey": 32}
STRUCT_CODES = {
    "bool": "?",
    "u8": "B",
    "i8": "b",
    "u16": "H",
    "i16": "h",
    "u32": "I",
    "i32": "i",
    "u64": "Q",
    "i64": "q",
    "f32": "f",
    "f64": "d",
    "u128": "16s",
    "i128": "16s",
    "pubkey": "32s",
}
PY_PRIM = {
    "bool": "bool",
    "f32": "float",
    "f64": "float",
    "pubkey": "Pubkey",
    "string": "str",
    "bytes": "bytes",
    **{k: "int" for k in INT_SIZES},
}
#: Names a generated dataclass cannot use for a field (its own methods and class constants).
RESERVED_FIELDS = frozenset(
    {"encode", "decode", "read_borsh", "write_borsh", "from_account", "DISCRIMINATOR", "LEN"}
)


def field_name(name: str) -> str:
    return safe(snake(name), RESERVED_FIELDS)


def is_u8(t: TypeExpr) -> bool:
    return isinstance(t, Prim) and t.name == "u8"


@dataclass
class Imports:
    """Imports a generated module needs, by section; rendered sorted as ruff's isort would."""

    std: dict[str, set[str]] = field(default_factory=dict)
    std_plain: set[str] = field(default_factory=set)
    third: dict[str, set[str]] = field(default_factory=dict)
    first: dict[str, set[str]] = field(default_factory=dict)
    local: dict[str, set[str]] = field(default_factory=dict)

    def add(self, module: str, *names: str) -> None:
        if module.startswith("."):
            section = self.local
        elif module.startswith("bourse_chain"):
            section = self.first
        elif module.startswith("solders") or module.startswith("solana"):
            section = self.third
        else:
            section = self.std
        section.setdefault(module, set()).update(names)

    def plain(self, module: str) -> None:
        self.std_plain.add(module)

    def render(self) -> list[str]:
        out = ["from __future__ import annotations", ""]
        std = [f"import {m}" for m in sorted(self.std_plain)]
        std += _from_lines(self.std, key=str.lower)
        for block in (
            std,
            _from_lines(self.third, key=str.lower),
            _from_lines(self.first, key=str.lower),
            _from_lines(self.local, key=_relative_key),
        ):
            if block:
                out += [*block, ""]
        return out


def _relative_key(module: str) -> tuple[int, str]:
    dots = len(module) - len(module.lstrip("."))
    return (-dots, module.lstrip(".").lower())


def _name_key(name: str) -> tuple[int, str]:
    if name.isupper() and len(name) > 1:
        kind = 0
    elif name[:1].isupper():
        kind = 1
    else:
        kind = 2
    return (kind, name.lower())


def _from_lines(section: dict[str, set[str]], key: Callable[[str], Any]) -> list[str]:
    out: list[str] = []
    for module in sorted(section, key=key):
        names = sorted(section[module], key=_name_key)
        line = f"from {module} import {', '.join(names)}"
        if len(line) <= 100:
            out.append(line)
        else:
            out += [f"from {module} import (", *(f"    {n}," for n in names), ")"]
    return out


class Types:
    """Type knowledge of one IDL, for modules at depth 2 inside the program package."""

    def __init__(self, idl: Idl, imports: Imports) -> None:
        self.idl = idl
        self.imports = imports

    # -- shape ----------------------------------------------------------------------------

    def size(self, t: TypeExpr) -> int | None:
        """Fixed borsh size, or ``None`` for variable-size types."""
        if isinstance(t, Prim):
            return FIXED_SIZES.get(t.name)
        if isinstance(t, Array):
            n = self.size(t.inner)
            return None if n is None else n * t.n
        if isinstance(t, Defined):
            d = self.idl.type_by_name(t.name)
            if isinstance(d, EnumDef):
                return 1
            return self.struct_size(d)
        return None

    def struct_size(self, s: StructDef) -> int | None:
        total = 0
        for f in s.fields:
            n = self.size(f.type)
            if n is None:
                return None
            total += n
        return total

    def defined(self, name: str) -> StructDef | EnumDef:
        return self.idl.type_by_name(name)

    def cls(self, name: str) -> str:
        """The class name of a defined type, importing it."""
        self.imports.add(f"..types.{snake(name)}", pascal(name))
        return pascal(name)

    # -- annotations ----------------------------------------------------------------------

    def py(self, t: TypeExpr) -> str:
        if isinstance(t, Prim):
            if t.name == "pubkey":
                self.imports.add("solders.pubkey", "Pubkey")
            return PY_PRIM[t.name]
        if isinstance(t, Array | Vec):
            if is_u8(t.inner):
                return "bytes"
            return f"tuple[{self.py(t.inner)}, ...]"
        if isinstance(t, Opt):
            return f"{self.py(t.inner)} | None"
        return self.cls(t.name)

    # -- fixed layouts (struct.Struct) ------------------------------------------------------

    def fmt(self, t: TypeExpr) -> str:
        if isinstance(t, Prim):
            return STRUCT_CODES[t.name]
        if isinstance(t, Array):
            if is_u8(t.inner):
                return f"{t.n}s"
            inner = self.fmt(t.inner)
            if len(inner) == 1:
                return f"{t.n}{inner}"
            return inner * t.n
        if isinstance(t, Defined):
            d = self.defined(t.name)
            if isinstance(d, EnumDef):
                return "B"
            return "".join(self.fmt(f.type) for f in d.fields)
        raise UnsupportedIdl(f"variable-size type {t} in a fixed layout")

    def slots(self, t: TypeExpr) -> int:
        """How many items of the unpacked tuple a value takes."""
        if isinstance(t, Prim):
            return 1
        if isinstance(t, Array):
            return 1 if is_u8(t.inner) else self.slots(t.inner) * t.n
        if isinstance(t, Defined):
            d = self.defined(t.name)
            if isinstance(d, EnumDef):
                return 1
            return sum(self.slots(f.type) for f in d.fields)
        raise UnsupportedIdl(f"variable-size type {t} in a fixed layout")

    def _from_slot(self, t: TypeExpr, src: str) -> Expr:
        """Rebuild a one-slot value from its unpacked item ``src``."""
        if isinstance(t, Prim):
            if t.name == "pubkey":
                self.imports.add("solders.pubkey", "Pubkey")
                return f"Pubkey({src})"
            if t.name in ("u128", "i128"):
                signed = ", signed=True" if t.name == "i128" else ""
                return f'int.from_bytes({src}, "little"{signed})'
            return src
        if isinstance(t, Array):
            if is_u8(t.inner):
                return src
            # an array of one one-slot item
            return Call("(", [self._from_slot(t.inner, src)], ",)")
        assert isinstance(t, Defined)
        d = self.defined(t.name)
        if isinstance(d, EnumDef):
            return f"{self.cls(t.name)}({src})"
        args = [
            self._from_slot(f.type, src) if self.slots(f.type) == 1 else self.unpack(f.type, 0)
            for f in d.fields
        ]
        return Call(f"{self.cls(t.name)}(", args)

    def unpack(self, t: TypeExpr, i: int, tup: str = "t") -> Expr:
        """Expression rebuilding a value of type ``t`` whose items start at ``tup[i]``."""
        if self.slots(t) == 1:
            return self._from_slot(t, f"{tup}[{i}]")
        if isinstance(t, Array):
            per = self.slots(t.inner)
            if per == 1:
                one = self._from_slot(t.inner, "x")
                if one == "x":
                    return f"{tup}[{i}:{i + t.n}]"
                return Call("tuple(", [one], f" for x in {tup}[{i}:{i + t.n}])")
            items = [self.unpack(t.inner, i + k * per, tup) for k in range(t.n)]
            return Call("(", items, ",)" if len(items) == 1 else ")")
        if isinstance(t, Defined):
            d = self.defined(t.name)
            assert isinstance(d, StructDef)
            args = []
            j = i
            for f in d.fields:
                args.append(self.unpack(f.type, j, tup))
                j += self.slots(f.type)
            return Call(f"{self.cls(t.name)}(", args)
        raise AssertionError(t)

    def pack(self, t: TypeExpr, v: str, what: str, checks: list[str]) -> list[str]:
        """Arguments flattening value ``v`` into struct items; length checks go to ``checks``."""
        if isinstance(t, Prim):
            if t.name == "pubkey":
                return [f"bytes({v})"]
            if t.name in ("u128", "i128"):
                self.imports.add("bourse_chain.codegen.runtime", "int_to_bytes")
                signed = "True" if t.name == "i128" else "False"
                return [f"int_to_bytes({v}, 16, signed={signed})"]
            return [v]
        if isinstance(t, Array):
            self.imports.add("bourse_chain.codegen.runtime", "check_len")
            checks.append(f'check_len({v}, {t.n}, "{what}")')
            if is_u8(t.inner):
                return [v]
            inner_checks: list[str] = []
            one = self.pack(t.inner, "x", what, inner_checks)
            if self.slots(t.inner) == 1 and not inner_checks:
                if one == ["x"]:
                    return [f"*{v}"]
                return [f"*({one[0]} for x in {v})"]
            out: list[str] = []
            for k in range(t.n):
                out += self.pack(t.inner, f"{v}[{k}]", f"{what}[{k}]", checks)
            return out
        if isinstance(t, Defined):
            d = self.defined(t.name)
            if isinstance(d, EnumDef):
                return [v]
            out = []
            for f in d.fields:
                fn = field_name(f.name)
                out += self.pack(f.type, f"{v}.{fn}", f"{what}.{fn}", checks)
            return out
        raise UnsupportedIdl(f"variable-size type {t} in a fixed layout")

    # -- variable layouts (BorshReader / BorshWriter) ---------------------------------------

    def read_expr(self, t: TypeExpr, r: str = "r") -> str:
        if isinstance(t, Prim):
            return f"{r}.{_method(t.name)}()"
        if isinstance(t, Array):
            if is_u8(t.inner):
                return f"{r}.take({t.n})"
            return f"{r}.array({self._reader(t.inner, r)}, {t.n})"
        if isinstance(t, Vec):
            if is_u8(t.inner):
                return f"{r}.bytes_()"
            return f"{r}.vec({self._reader(t.inner, r)})"
        if isinstance(t, Opt):
            return f"{r}.option({self._reader(t.inner, r)})"
        d = self.defined(t.name)
        if isinstance(d, EnumDef):
            return f"{self.cls(t.name)}({r}.u8())"
        return f"{self.cls(t.name)}.read_borsh({r})"

    def _reader(self, t: TypeExpr, r: str) -> str:
        """A zero-argument callable reading one ``t``."""
        if isinstance(t, Prim):
            return f"{r}.{_method(t.name)}"
        return f"lambda: {self.read_expr(t, r)}"

    def write_stmt(self, t: TypeExpr, v: str, w: str = "w", depth: int = 0) -> str:
        if isinstance(t, Prim):
            return f"{w}.{_method(t.name)}({v})"
        if isinstance(t, Array):
            if is_u8(t.inner):
                return f"{w}.fixed_bytes({v}, {t.n})"
            return f"{w}.array({v}, {self._writer(t.inner, w, depth)}, {t.n})"
        if isinstance(t, Vec):
            if is_u8(t.inner):
                return f"{w}.bytes_({v})"
            return f"{w}.vec({v}, {self._writer(t.inner, w, depth)})"
        if isinstance(t, Opt):
            return f"{w}.option({v}, {self._writer(t.inner, w, depth)})"
        d = self.defined(t.name)
        if isinstance(d, EnumDef):
            return f"{w}.u8({v})"
        return f"{v}.write_borsh({w})"

    def _writer(self, t: TypeExpr, w: str, depth: int) -> str:
        """A one-argument callable writing one ``t``."""
        if isinstance(t, Prim):
            return f"{w}.{_method(t.name)}"
        if isinstance(t, Defined) and isinstance(self.defined(t.name), EnumDef):
            return f"{w}.u8"
        x = f"v{depth}"
        return f"lambda {x}: {self.write_stmt(t, x, w, depth + 1)}"


@dataclass(frozen=True)
class Call:
    """A bracketed expression ``head arg, arg tail`` that may be split one argument per line."""

    head: str
    args: list[Expr]
    tail: str = ")"

    def __str__(self) -> str:
        return self.head + ", ".join(str(a) for a in self.args) + self.tail


Expr = str | Call


def format_expr(e: Expr, indent: str, suffix: str = "") -> list[str]:
    """``e`` on one line if it fits, else split (recursively) as ruff's formatter would keep it."""
    one = f"{indent}{e}{suffix}"
    if len(one) <= 100 or not isinstance(e, Call) or not e.args:
        return [one]
    if e.tail == ",)" and len(e.args) == 1:  # a one-item tuple
        tail = ")"
    elif e.tail.startswith(" for "):  # a generator expression: split inside the parentheses
        inner = format_expr(e.args[0], indent + "    ")
        return [f"{indent}{e.head}", *inner, f"{indent}    {e.tail[1:-1]}", f"{indent}){suffix}"]
    else:
        tail = e.tail
    out = [f"{indent}{e.head}"]
    for a in e.args:
        out += format_expr(a, indent + "    ", ",")
    out.append(f"{indent}{tail}{suffix}")
    return out


def _method(prim: str) -> str:
    return {"bool": "bool_", "bytes": "bytes_"}.get(prim, prim)


def seed_bytes_expr(t: TypeExpr, v: str, types: Types) -> str | None:
    """Bytes of an instruction-argument PDA seed as Anchor derives them, or ``None``."""
    if isinstance(t, Prim):
        if t.name == "string":
            return f"{v}.encode()"
        if t.name == "bytes":
            return v
        if t.name == "pubkey":
            return f"bytes({v})"
        if t.name == "bool":
            return f'(b"\\x01" if {v} else b"\\x00")'
        if t.name in INT_SIZES:
            types.imports.add("bourse_chain.codegen.runtime", "int_to_bytes")
            signed = "True" if t.name.startswith("i") else "False"
            return f"int_to_bytes({v}, {INT_SIZES[t.name]}, signed={signed})"
        return None
    if isinstance(t, Array | Vec) and is_u8(t.inner):
        return v
    return None
