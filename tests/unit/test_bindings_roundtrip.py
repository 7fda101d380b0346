"""Generated bindings against the IDLs they come from (hypothesis).

Every type, account and event round-trips encode -> decode and encodes to the same bytes as
an independent borsh encoder written here from the IDL JSON; every instruction builder's data
starts with the IDL discriminator and its accounts follow the IDL order, flags and seeds; the
PDA helpers agree with ``Pubkey.find_program_address`` over the IDL seeds.  Besides our two
IDLs, a synthetic IDL exercises what they do not use (nested structs, u128, options of vecs,
optional accounts, seeds under other programs, arg seeds of every kind ...).
"""

from __future__ import annotations

import base64
import dataclasses
import doctest
import hashlib
import importlib
import importlib.util
import json
import os
import re
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.account import Account
from solders.instruction import AccountMeta
from solders.pubkey import Pubkey

import bourse_chain
from bourse_chain import pda
from bourse_chain.codegen.generate import render, write
from bourse_chain.codegen.idl import StructDef, UnsupportedIdl, parse
from bourse_chain.codegen.layout import field_name
from bourse_chain.codegen.names import pascal, snake
from bourse_chain.errors import AccountDecodeError, DecodeError, EventDecodeError

ROOT = Path(__file__).resolve().parents[2]
IDLS: dict[str, dict[str, Any]] = {
    p.stem: json.loads(p.read_text()) for p in sorted((ROOT / "idl").glob("*.json"))
}
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

INTS = {
    "u8": (1, False),
    "i8": (1, True),
    "u16": (2, False),
    "i16": (2, True),
    "u32": (4, False),
    "i32": (4, True),
    "u64": (8, False),
    "i64": (8, True),
    "u128": (16, False),
    "i128": (16, True),
}


def disc(namespace: str, name: str) -> list[int]:
    return list(hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8])


# -- the synthetic IDL ----------------------------------------------------------------------

SYNTH_ADDRESS = str(Pubkey(bytes(range(1, 33))))
ATA = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
LOADER = "BPFLoaderUpgradeab1e11111111111111111111111"


def _const(b: bytes) -> dict[str, Any]:
    return {"kind": "const", "value": list(b)}


def _acc(p: str) -> dict[str, Any]:
    return {"kind": "account", "path": p}


def _arg(p: str) -> dict[str, Any]:
    return {"kind": "arg", "path": p}


def _d(name: str) -> dict[str, Any]:
    return {"defined": {"name": name}}


def _struct(name: str, *fields: tuple[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "type": {"kind": "struct", "fields": [{"name": n, "type": t} for n, t in fields]},
    }


SYNTHETIC: dict[str, Any] = {
    "address": SYNTH_ADDRESS,
    "metadata": {"name": "synthetic", "version": "9.9.9", "spec": "0.1.0", "description": "x"},
    "instructions": [
        {
            "name": "doThings",
            "docs": ["Does things.", "Remaining accounts: anything"],
            "discriminator": disc("global", "doThings"),
            "accounts": [
                {"name": "user", "writable": True, "signer": True},
                {
                    "name": "state",
                    "writable": True,
                    "pda": {"seeds": [_const(b"state"), _acc("user"), _arg("id")]},
                },
                {"name": "by_label", "pda": {"seeds": [_const(b"lbl"), _arg("label")]}},
                {
                    "name": "by_key",
                    "pda": {"seeds": [_arg("key"), _arg("small"), _arg("inner.p.x"), _arg("flag")]},
                },
                {
                    "name": "ata",
                    "writable": True,
                    "pda": {
                        "seeds": [_acc("user"), _acc("token_program"), _acc("mint")],
                        "program": _const(bytes(Pubkey.from_string(ATA))),
                    },
                },
                {"name": "token_program", "address": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"},
                {"name": "mint"},
                {"name": "opt", "writable": True, "optional": True},
                {
                    "name": "own",
                    "pda": {
                        "seeds": [_const(bytes(Pubkey.from_string(SYNTH_ADDRESS)))],
                        "program": _const(bytes(Pubkey.from_string(LOADER))),
                    },
                },
                {"name": "chain", "pda": {"seeds": [_const(b"c-hain"), _acc("state")]}},
                {"name": "cyc_a", "pda": {"seeds": [_acc("cyc_b")]}},
                {"name": "cyc_b", "pda": {"seeds": [_acc("cyc_a")]}},
                {"name": "field_seed", "pda": {"seeds": [_acc("user.owner")]}},
                {"name": "self_prog", "address": SYNTH_ADDRESS},
                {"name": "under_mint", "pda": {"seeds": [_const(b"x")], "program": _acc("mint")}},
                {"name": "args", "signer": True},
            ],
            "args": [
                {"name": "id", "type": "u64"},
                {"name": "label", "type": "string"},
                {"name": "v", "type": _d("Varied")},
                {"name": "key", "type": "pubkey"},
                {"name": "small", "type": "i16"},
                {"name": "inner", "type": _d("Inner")},
                {"name": "flag", "type": "bool"},
            ],
        },
        {
            "name": "no_args",
            "discriminator": disc("global", "no_args"),
            "accounts": [
                {"name": "config", "writable": True, "pda": {"seeds": [_const(b"state")]}},
                {"name": "system_program", "address": "11111111111111111111111111111111"},
            ],
            "args": [],
        },
        {
            "name": "import",
            "discriminator": [9],  # custom discriminators may have any length
            "accounts": [{"name": "a", "signer": True}],
            "args": [{"name": "x", "type": {"option": "u8"}}],
        },
    ],
    "accounts": [
        {"name": "Fixed", "discriminator": disc("account", "Fixed")},
        {"name": "Dyn", "discriminator": [1, 2]},
    ],
    "events": [
        {"name": "Evt", "discriminator": disc("event", "Evt")},
        {"name": "Tick", "discriminator": [7]},
    ],
    "errors": [
        {"code": 6000, "name": "Boom", "msg": 'It went "boom" \\ here'},
        {"code": 6001, "name": "lowerName", "msg": "word " * 30},
    ],
    "types": [
        {
            "name": "Color",
            "type": {
                "kind": "enum",
                "variants": [{"name": "Red"}, {"name": "Green"}, {"name": "None"}],
            },
        },
        _struct("Point", ("x", "i32"), ("y", "i32")),
        _struct(
            "Inner",
            ("p", _d("Point")),
            ("tag", _d("Color")),
            ("big", "u128"),
            ("neg", "i128"),
            ("f", "f64"),
            ("flags", {"array": ["bool", 3]}),
            ("small", "i8"),
        ),
        _struct(
            "Varied",
            ("name", "string"),
            ("blob", "bytes"),
            ("pts", {"vec": _d("Point")}),
            ("maybe", {"option": _d("Inner")}),
            ("nested", {"option": {"vec": {"option": "pubkey"}}}),
            ("colors", {"array": [_d("Color"), 2]}),
            ("grid", {"array": [{"array": ["u16", 2]}, 2]}),
            ("arr_pts", {"array": [_d("Point"), 2]}),
            ("raw", {"vec": "u8"}),
            ("single", "f32"),
            ("type", "bool"),
            ("from", {"defined": "Color"}),
            ("vv", {"vec": {"vec": "string"}}),
            ("ai", {"array": ["i64", 3]}),
            ("wrapped", _d("Wrap")),
        ),
        _struct("Empty"),
        _struct("Wrap", ("k", "pubkey")),
        _struct(
            "Fixed",
            ("owner", "pubkey"),
            ("inner", _d("Inner")),
            ("pts", {"array": [_d("Point"), 2]}),
            ("keys", {"array": ["publicKey", 2]}),
            ("c", _d("Color")),
            ("grid", {"array": [{"array": ["u8", 4]}, 2]}),
            ("wide", {"array": ["u128", 2]}),
            ("e", _d("Empty")),
            ("wraps", {"array": [_d("Wrap"), 2]}),
            ("w", _d("Wrap")),
        ),
        _struct("Dyn", ("label", "string"), ("items", {"vec": "u64"})),
        _struct("Evt", ("who", "pubkey"), ("v", _d("Varied"))),
        _struct("Tick", ("n", "u64"), ("c", _d("Color"))),
    ],
}


# -- an independent borsh encoder and value strategies, driven by the IDL JSON ---------------


def _type_name(t: Any) -> str:
    d = t["defined"]
    return d if isinstance(d, str) else str(d["name"])


def _prim(t: str) -> str:
    return "pubkey" if t == "publicKey" else t


class Binding:
    """One IDL and the generated package bound from it."""

    def __init__(self, idl: dict[str, Any], package: str) -> None:
        self.idl = idl
        self.package = package
        self.types = {t["name"]: t for t in idl.get("types", [])}
        self.accounts = {a["name"] for a in idl.get("accounts", [])}
        self.events = {e["name"] for e in idl.get("events", [])}

    @property
    def program_id(self) -> Pubkey:
        return Pubkey.from_string(self.idl["address"])

    def module(self, sub: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.{sub}")

    def cls(self, name: str) -> Any:
        kind = "accounts" if name in self.accounts else "events" if name in self.events else "types"
        return getattr(self.module(f"{kind}.{snake(name)}"), pascal(name))

    # sizes and bytes ----------------------------------------------------------------------

    def size(self, t: Any) -> int | None:
        if isinstance(t, str):
            t = _prim(t)
            sizes = {"bool": 1, "pubkey": 32, "f32": 4, "f64": 8}
            return INTS[t][0] if t in INTS else sizes.get(t)
        if "array" in t:
            inner = self.size(t["array"][0])
            return None if inner is None else inner * t["array"][1]
        if "defined" in t:
            body = self.types[_type_name(t)]["type"]
            if body["kind"] == "enum":
                return 1
            total = 0
            for f in body["fields"]:
                n = self.size(f["type"])
                if n is None:
                    return None
                total += n
            return total
        return None

    def encode(self, t: Any, v: Any) -> bytes:
        if isinstance(t, str):
            t = _prim(t)
            if t == "bool":
                assert isinstance(v, bool)
                return b"\x01" if v else b"\x00"
            if t in INTS:
                n, signed = INTS[t]
                return int(v).to_bytes(n, "little", signed=signed)
            if t in ("f32", "f64"):
                return struct.pack("<f" if t == "f32" else "<d", v)
            if t == "pubkey":
                return bytes(v)
            raw = v.encode() if t == "string" else bytes(v)
            return len(raw).to_bytes(4, "little") + raw
        if "array" in t:
            inner, n = t["array"]
            assert len(v) == n
            if inner == "u8":
                return bytes(v)
            return b"".join(self.encode(inner, x) for x in v)
        if "vec" in t:
            if t["vec"] == "u8":
                return len(v).to_bytes(4, "little") + bytes(v)
            return len(v).to_bytes(4, "little") + b"".join(self.encode(t["vec"], x) for x in v)
        if "option" in t:
            return b"\x00" if v is None else b"\x01" + self.encode(t["option"], v)
        body = self.types[_type_name(t)]["type"]
        if body["kind"] == "enum":
            names = [x["name"] for x in body["variants"]]
            assert v.name == re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", names[int(v)]).upper()
            return bytes([int(v)])
        return self.encode_fields(body["fields"], v)

    def encode_fields(self, fields: list[dict[str, Any]], v: Any) -> bytes:
        return b"".join(self.encode(f["type"], getattr(v, field_name(f["name"]))) for f in fields)

    # values -------------------------------------------------------------------------------

    def strategy(self, t: Any) -> st.SearchStrategy[Any]:
        if isinstance(t, str):
            t = _prim(t)
            if t in INTS:
                n, signed = INTS[t]
                lo, hi = (
                    (-(2 ** (8 * n - 1)), 2 ** (8 * n - 1) - 1) if signed else (0, 2 ** (8 * n) - 1)
                )
                return st.integers(lo, hi)
            simple: dict[str, st.SearchStrategy[Any]] = {
                "bool": st.booleans(),
                "f32": st.floats(width=32, allow_nan=False),
                "f64": st.floats(allow_nan=False),
                "pubkey": st.binary(min_size=32, max_size=32).map(Pubkey),
                "string": st.text(max_size=8),  # <= 32 UTF-8 bytes: usable as a PDA seed
                "bytes": st.binary(max_size=24),
            }
            return simple[t]
        if "array" in t:
            inner, n = t["array"]
            if inner == "u8":
                return st.binary(min_size=n, max_size=n)
            return st.lists(self.strategy(inner), min_size=n, max_size=n).map(tuple)
        if "vec" in t:
            if t["vec"] == "u8":
                return st.binary(max_size=24)
            return st.lists(self.strategy(t["vec"]), max_size=3).map(tuple)
        if "option" in t:
            return st.none() | self.strategy(t["option"])
        return self.defined_strategy(_type_name(t))

    def defined_strategy(self, name: str) -> st.SearchStrategy[Any]:
        cls = self.cls(name)
        body = self.types[name]["type"]
        if body["kind"] == "enum":
            return st.sampled_from(list(cls))
        return self.fields_strategy(cls, body["fields"])

    def fields_strategy(self, cls: Any, fields: list[dict[str, Any]]) -> st.SearchStrategy[Any]:
        kwargs = {field_name(f["name"]): self.strategy(f["type"]) for f in fields}
        return st.builds(cls, **kwargs)


@pytest.fixture(scope="module")
def bindings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Binding]]:
    out = {name: Binding(idl, f"bourse_chain.generated.{name}") for name, idl in IDLS.items()}
    root = tmp_path_factory.mktemp("synthetic")
    (root / "idl").mkdir()
    (root / "idl" / "synthetic.json").write_text(json.dumps(SYNTHETIC))
    write(render(root / "idl"), root / "synth_gen")
    sys.path.insert(0, str(root))
    out["synthetic"] = Binding(SYNTHETIC, "synth_gen.synthetic")
    out["synthetic"].root = root  # type: ignore[attr-defined]
    yield out
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m == "synth_gen" or m.startswith("synth_gen.")]:
        del sys.modules[name]


ALL = {**IDLS, "synthetic": SYNTHETIC}


def _cases(kind: str) -> list[tuple[str, str]]:
    out = []
    for prog, idl in ALL.items():
        layouts = {a["name"] for a in idl.get("accounts", [])} | {
            e["name"] for e in idl.get("events", [])
        }
        if kind == "types":
            out += [(prog, t["name"]) for t in idl["types"] if t["name"] not in layouts]
        else:
            out += [(prog, x["name"]) for x in idl.get(kind, [])]
    return out


def _ids(cases: list[tuple[str, str]]) -> list[str]:
    return [f"{p}.{n}" for p, n in cases]


TYPES = _cases("types")
ACCOUNTS = _cases("accounts")
EVENTS = _cases("events")
INSTRUCTIONS = _cases("instructions")


def test_the_idls_are_present() -> None:
    assert {"compute_market", "cp_pool"} <= set(IDLS)


# -- types ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("prog", "name"), TYPES, ids=_ids(TYPES))
@SETTINGS
@given(data=st.data())
def test_type_roundtrip(bindings: dict[str, Binding], prog: str, name: str, data: Any) -> None:
    b = bindings[prog]
    body = b.types[name]["type"]
    cls = b.cls(name)
    if body["kind"] == "enum":
        # Given an IDL enum, then its IntEnum values are the variant indexes (borsh u8)
        assert [m.value for m in cls] == list(range(len(body["variants"])))
        for m in cls:
            assert b.encode(_d(name), m) == bytes([m.value])
        return
    value = data.draw(b.defined_strategy(name))
    encoded = value.encode()
    assert encoded == b.encode_fields(body["fields"], value)
    assert cls.decode(encoded) == value
    size = b.size(_d(name))
    if size is not None:
        assert len(encoded) == size
    with pytest.raises(DecodeError):
        cls.decode(encoded + b"\x00")
    if encoded:
        with pytest.raises(DecodeError):
            cls.decode(encoded[:-1])


# -- accounts -------------------------------------------------------------------------------


def _rust_layouts(prog: str) -> dict[str, dict[str, int]]:
    """``pub mod <account> { pub const LEN / <FIELD>: usize = n; }`` of the Rust constants."""
    path = ROOT / "program" / prog / "src" / "generated.rs"
    if not path.exists():
        return {}
    out: dict[str, dict[str, int]] = {}
    for mod, block in re.findall(r"pub mod (\w+) \{(.*?)\n\}", path.read_text(), re.S):
        consts = dict(re.findall(r"pub const (\w+): usize = (\d+);", block))
        if "LEN" in consts:
            out[mod] = {k: int(v) for k, v in consts.items()}
    return out


@pytest.mark.parametrize(("prog", "name"), ACCOUNTS, ids=_ids(ACCOUNTS))
@SETTINGS
@given(data=st.data())
def test_account_roundtrip(bindings: dict[str, Binding], prog: str, name: str, data: Any) -> None:
    b = bindings[prog]
    cls = b.cls(name)
    fields = b.types[name]["type"]["fields"]
    spec = next(a for a in b.idl["accounts"] if a["name"] == name)
    value = data.draw(b.fields_strategy(cls, fields))

    encoded = value.encode()
    assert encoded == bytes(spec["discriminator"]) + b.encode_fields(fields, value)
    assert bytes(spec["discriminator"]) == cls.DISCRIMINATOR
    if prog != "synthetic":
        assert bytes(disc("account", name)) == cls.DISCRIMINATOR
    assert cls.decode(encoded) == value
    assert b.module("accounts").decode_account(encoded) == value

    owned = Account(lamports=1, data=encoded, owner=b.program_id)
    assert cls.from_account(owned) == value
    with pytest.raises(AccountDecodeError, match="owner"):
        cls.from_account(Account(lamports=1, data=encoded, owner=Pubkey.default()))
    wrong = bytes([encoded[0] ^ 0xFF]) + encoded[1:]
    with pytest.raises(AccountDecodeError):
        cls.decode(wrong)
    assert b.module("accounts").decode_account(wrong) is None or wrong[:8] in {
        bytes(a["discriminator"]) for a in b.idl["accounts"]
    }
    size = b.size(_d(name))
    if size is not None:  # fixed layout: exact length
        assert cls.LEN == len(cls.DISCRIMINATOR) + size == len(encoded)
        with pytest.raises(AccountDecodeError):
            cls.decode(encoded[:-1])
        with pytest.raises(AccountDecodeError):
            cls.decode(encoded + b"\x00")


@pytest.mark.parametrize(("prog", "name"), ACCOUNTS, ids=_ids(ACCOUNTS))
def test_account_layout_matches_idl_and_program(
    bindings: dict[str, Binding], prog: str, name: str
) -> None:
    b = bindings[prog]
    cls = b.cls(name)
    size = b.size(_d(name))
    if size is None:
        assert not hasattr(cls, "LEN")
        return
    mod = b.module(f"accounts.{snake(name)}")
    # Given the IDL's field sizes, then OFFSETS are their running sums after the discriminator
    off = len(cls.DISCRIMINATOR)
    for f in b.types[name]["type"]["fields"]:
        assert mod.OFFSETS[field_name(f["name"])] == off
        off += b.size(f["type"]) or 0
    assert off == cls.LEN
    # and the program's own constants (program/<prog>/src/generated.rs) say the same
    rust = _rust_layouts(prog).get(snake(name))
    if rust is not None:
        assert rust["LEN"] == cls.LEN
        for field, offset in mod.OFFSETS.items():
            assert rust[field.rstrip("_").upper()] == offset


def test_account_decode_rejects_a_bad_enum_value(bindings: dict[str, Binding]) -> None:
    from bourse_chain.generated.compute_market.accounts.model import OFFSETS, Model

    data = bytearray(Model.DISCRIMINATOR + bytes(Model.LEN - 8))
    assert Model.decode(bytes(data)).status == 0
    data[OFFSETS["status"]] = 200
    with pytest.raises(AccountDecodeError, match="Model"):
        Model.decode(bytes(data))


def test_fixed_arrays_refuse_the_wrong_length() -> None:
    from bourse_chain.generated.compute_market.accounts.provider import Provider

    p = Provider(Pubkey.default(), Pubkey.default(), b"x" * 31, 0, 0, True, 255, bytes(13))
    with pytest.raises(ValueError, match="name"):
        p.encode()  # a [u8; 32] given 31 bytes is not silently padded


def test_out_of_range_integers_raise_value_error() -> None:
    from bourse_chain.generated.compute_market.types.config_update import ConfigUpdate

    u = ConfigUpdate(70_000, None, None, None, None, None, None, None, None)
    with pytest.raises(ValueError):
        u.encode()


# -- events ---------------------------------------------------------------------------------


def _logs(program: Pubkey, inner: Pubkey, mine: bytes, theirs: bytes) -> list[str]:
    b64 = base64.b64encode
    return [
        f"Program {program} invoke [1]",
        "Program log: Instruction: x",
        f"Program data: {b64(mine).decode()}",
        f"Program {inner} invoke [2]",
        f"Program data: {b64(theirs).decode()}",  # logged by the callee: not ours
        f"Program {inner} consumed 10 of 200000 compute units",
        f"Program {inner} success",
        "Program data: !!!not-base64",
        f"Program data: {b64(b'unknown discriminator').decode()}",
        f"Program {program} consumed 20 of 200000 compute units",
        f"Program {program} success",
        f"Program data: {b64(mine).decode()}",  # outside any invocation
    ]


@pytest.mark.parametrize(("prog", "name"), EVENTS, ids=_ids(EVENTS))
@SETTINGS
@given(data=st.data())
def test_event_roundtrip(bindings: dict[str, Binding], prog: str, name: str, data: Any) -> None:
    b = bindings[prog]
    cls = b.cls(name)
    fields = b.types[name]["type"]["fields"]
    spec = next(e for e in b.idl["events"] if e["name"] == name)
    value = data.draw(b.fields_strategy(cls, fields))
    encoded = value.encode()
    assert encoded == bytes(spec["discriminator"]) + b.encode_fields(fields, value)
    assert bytes(spec["discriminator"]) == cls.DISCRIMINATOR
    if prog != "synthetic":
        assert bytes(disc("event", name)) == cls.DISCRIMINATOR
    assert cls.decode(encoded) == value
    events = b.module("events")
    assert events.decode_event(encoded) == value
    with pytest.raises(EventDecodeError):
        cls.decode(encoded + b"\x00")
    with pytest.raises(EventDecodeError):
        events.decode_event(encoded[:-1])
    # When our program logs it once and a program it calls logs the same bytes,
    # then each program's events are only those it logged itself
    other = Pubkey.new_unique()
    logs = _logs(b.program_id, other, encoded, encoded)
    assert events.events_from_logs(logs, b.program_id) == [value]
    assert events.events_from_logs(logs, other) == [value]
    assert events.events_from_logs(logs[3:], b.program_id) == []


def test_events_from_logs_handles_reentry_and_failure() -> None:
    from bourse_chain.generated.cp_pool import PROGRAM_ID as POOL
    from bourse_chain.generated.cp_pool.events import Swapped, events_from_logs

    k = [Pubkey.new_unique() for _ in range(4)]
    ev = Swapped(k[0], k[1], k[2], k[3], 1, 2, 3, 4, 5, 6, 7)
    data = "Program data: " + base64.b64encode(ev.encode()).decode()
    outer = Pubkey.new_unique()
    logs = [
        f"Program {outer} invoke [1]",
        f"Program {POOL} invoke [2]",
        data,
        f"Program {POOL} success",
        data.replace("Program data: ", "Program log: "),
        f"Program {POOL} invoke [2]",
        data,
        f"Program {POOL} failed: custom program error: 0x1782",
        f"Program {outer} failed: custom program error: 0x1782",
    ]
    assert events_from_logs(logs) == [ev, ev]
    assert events_from_logs(["Log truncated", f"Program {POOL} invoke [1]", data]) == []


# -- instructions ---------------------------------------------------------------------------


def _seed_bytes(b: Binding, ix: dict[str, Any], path: str, args: Any) -> bytes:
    parts = path.split(".")
    t = next(f["type"] for f in ix["args"] if f["name"] == parts[0])
    v = getattr(args, field_name(parts[0]))
    for p in parts[1:]:
        fields = b.types[_type_name(t)]["type"]["fields"]
        t = next(f["type"] for f in fields if f["name"] == p)
        v = getattr(v, field_name(p))
    if t == "string":
        return str(v).encode()
    if isinstance(t, dict) and ("array" in t or "vec" in t):
        return bytes(v)
    return b.encode(t, v)


def _expected_keys(b: Binding, ix: dict[str, Any], args: Any, accounts: Any) -> dict[str, Pubkey]:
    """Each account's address as the IDL defines it (caller-passed ones as passed)."""
    passed = {} if accounts is None else dataclasses.asdict(accounts)
    by_name = {a["name"]: a for a in ix["accounts"]}
    out: dict[str, Pubkey] = {}

    def key(name: str) -> Pubkey:
        if name in out:
            return out[name]
        a = by_name[name]
        fname = field_name(name)
        if fname in passed:
            k = passed[fname] if passed[fname] is not None else b.program_id
        elif "address" in a:
            k = Pubkey.from_string(a["address"])
        else:
            seeds = []
            for s in a["pda"]["seeds"]:
                if s["kind"] == "const":
                    seeds.append(bytes(s["value"]))
                elif s["kind"] == "account":
                    seeds.append(bytes(key(s["path"])))
                else:
                    seeds.append(_seed_bytes(b, ix, s["path"], args))
            program = a["pda"].get("program")
            if program is None:
                owner = b.program_id
            elif program["kind"] == "const":
                owner = Pubkey(bytes(program["value"]))
            else:
                owner = key(program["path"])
            k = Pubkey.find_program_address(seeds, owner)[0]
        out[name] = k
        return k

    for a in ix["accounts"]:
        key(a["name"])
    return out


@pytest.mark.parametrize(("prog", "name"), INSTRUCTIONS, ids=_ids(INSTRUCTIONS))
@SETTINGS
@given(data=st.data())
def test_instruction_builder(bindings: dict[str, Binding], prog: str, name: str, data: Any) -> None:
    b = bindings[prog]
    ix = next(i for i in b.idl["instructions"] if i["name"] == name)
    mod = b.module(f"instructions.{snake(name)}")
    builder = getattr(mod, snake(name) if snake(name) != "import" else "import_")
    args_cls = getattr(mod, f"{pascal(name)}Args", None)
    accs_cls = getattr(mod, f"{pascal(name)}Accounts", None)
    assert (args_cls is not None) == bool(ix["args"])

    call: list[Any] = []
    args = None
    if args_cls is not None:
        args = data.draw(b.fields_strategy(args_cls, ix["args"]))
        call.append(args)
    accounts = None
    if accs_cls is not None:
        keys = st.binary(min_size=32, max_size=32).map(Pubkey)
        kwargs = {}
        for f in dataclasses.fields(accs_cls):
            optional = f.default is None
            kwargs[f.name] = data.draw(st.none() | keys if optional else keys)
        accounts = accs_cls(**kwargs)
        call.append(accounts)
    remaining = data.draw(
        st.lists(
            st.builds(AccountMeta, st.just(Pubkey.new_unique()), st.booleans(), st.booleans()),
            max_size=3,
        )
    )
    built = builder(*call, remaining_accounts=remaining)

    # Then the data is the IDL discriminator and the borsh args
    assert built.program_id == b.program_id
    n = len(ix["discriminator"])
    assert built.data[:n] == bytes(ix["discriminator"]) == mod.DISCRIMINATOR
    if prog != "synthetic":
        assert built.data[:8] == bytes(disc("global", name))
    if args is not None:
        assert args_cls is not None
        assert built.data[n:] == b.encode_fields(ix["args"], args)
        assert args_cls.decode(built.data[n:]) == args
    else:
        assert built.data == bytes(ix["discriminator"])
    # and the accounts are the IDL's, in order, with its flags, then the remaining ones
    assert len(built.accounts) == len(ix["accounts"]) + len(remaining)
    expected = _expected_keys(b, ix, args, accounts)
    for meta, spec in zip(built.accounts, ix["accounts"], strict=False):
        assert meta.pubkey == expected[spec["name"]], spec["name"]
        if spec.get("optional") and getattr(accounts, field_name(spec["name"])) is None:
            assert (meta.is_signer, meta.is_writable) == (False, False)
            continue
        assert meta.is_signer == bool(spec.get("signer")), spec["name"]
        assert meta.is_writable == bool(spec.get("writable")), spec["name"]
    assert list(built.accounts[len(ix["accounts"]) :]) == remaining
    # and the caller passes exactly the accounts that have neither an address nor seeds
    passed = {f.name for f in dataclasses.fields(accs_cls)} if accs_cls else set()
    plain = {field_name(a["name"]) for a in ix["accounts"] if "address" not in a and "pda" not in a}
    assert plain <= passed
    if prog != "synthetic":  # every PDA of our IDLs is derivable from what the caller passes
        assert passed == plain


def test_builders_take_another_program_id() -> None:
    from bourse_chain.generated.compute_market.instructions import (
        InitializeConfigAccounts,
        InitializeConfigArgs,
        initialize_config,
    )

    other = Pubkey.new_unique()
    k = Pubkey.new_unique()
    args = InitializeConfigArgs(k, k, k, 100, 2000, 5000, 0, 0)
    ix = initialize_config(args, InitializeConfigAccounts(k, k, k), program_id=other)
    assert ix.program_id == other
    assert ix.accounts[1].pubkey == pda.config_pda(other)[0]
    # The IDL's program_data seed is this program's own address: it follows program_id.
    assert ix.accounts[4].pubkey == pda.program_data_pda(other)[0]


def test_builder_refuses_a_seed_too_long() -> None:
    from bourse_chain.generated.compute_market.instructions import (
        RegisterModelAccounts,
        RegisterModelArgs,
        register_model,
    )

    k = Pubkey.new_unique()
    with pytest.raises(ValueError, match="seed"):
        register_model(RegisterModelArgs("x" * 33, 0, ""), RegisterModelAccounts(k, k, k))


# -- PDA helpers ----------------------------------------------------------------------------


def _idl_pda(prog: str, ix_name: str, acc: str, inputs: dict[str, Any]) -> tuple[Pubkey, int]:
    """Derive ``acc`` of ``ix_name`` from the IDL seeds, accounts/args taken from ``inputs``."""
    idl = IDLS[prog]
    ix = next(i for i in idl["instructions"] if i["name"] == ix_name)
    spec = next(a for a in ix["accounts"] if a["name"] == acc)["pda"]
    b = Binding(idl, f"bourse_chain.generated.{prog}")
    seeds = []
    for s in spec["seeds"]:
        if s["kind"] == "const":
            seeds.append(bytes(s["value"]))
        elif s["kind"] == "account":
            seeds.append(bytes(inputs[s["path"]]))
        else:
            t = next(f["type"] for f in ix["args"] if f["name"] == s["path"])
            v = inputs[s["path"]]
            seeds.append(
                v.encode() if t == "string" else bytes(v) if "array" in t else b.encode(t, v)
            )
    program = spec.get("program")
    owner = Pubkey(bytes(program["value"])) if program else Pubkey.from_string(idl["address"])
    return Pubkey.find_program_address(seeds, owner)


keys = st.binary(min_size=32, max_size=32).map(Pubkey)


@settings(max_examples=25, deadline=None)
@given(
    a=keys,
    b=keys,
    slug=st.text(min_size=1, max_size=8),
    nonce=st.integers(0, 2**64 - 1),
    payment_id=st.binary(min_size=32, max_size=32),
)
def test_pda_helpers_follow_the_idl_seeds(
    a: Pubkey, b: Pubkey, slug: str, nonce: int, payment_id: bytes
) -> None:
    cm = "compute_market"
    assert pda.config_pda() == _idl_pda(cm, "initialize_config", "config", {})
    assert pda.escrow_vault_pda() == _idl_pda(cm, "initialize_config", "escrow_vault", {})
    assert pda.program_data_pda() == _idl_pda(cm, "initialize_config", "program_data", {})
    assert pda.model_pda(slug) == _idl_pda(cm, "register_model", "model", {"slug": slug})
    assert pda.model_pda(slug.encode()) == pda.model_pda(slug)
    assert pda.revenue_vault_pda(a) == _idl_pda(cm, "register_model", "revenue_vault", {"model": a})
    assert pda.buyback_vault_pda(a) == _idl_pda(cm, "tokenize_model", "buyback_vault", {"model": a})
    assert pda.provider_pda(a) == _idl_pda(cm, "register_provider", "provider", {"authority": a})
    assert pda.offer_pda(a, b) == _idl_pda(cm, "upsert_offer", "offer", {"model": a, "provider": b})
    # The order is an address with seed (base payer, seed the nonce in hex), not a PDA.
    assert pda.order_address(a, nonce) == Pubkey.create_with_seed(
        a, f"{nonce:016x}", pda.COMPUTE_MARKET_ID
    )
    assert pda.stream_pda(a, b) == _idl_pda(
        cm, "settle_batch", "stream", {"model": a, "provider": b}
    )
    assert len(payment_id) == 32
    if a != b:
        mint_a, mint_b = pda.ordered_mints(a, b)
        assert bytes(mint_a) < bytes(mint_b)
        pool = pda.pool_pda(a, b)
        assert pool == pda.pool_pda(b, a)
        assert pool == _idl_pda(
            "cp_pool", "create_pool", "pool", {"mint_a": mint_a, "mint_b": mint_b}
        )
        assert pda.pool_vault_pda(pool[0], mint_a) == _idl_pda(
            "cp_pool", "create_pool", "vault_a", {"pool": pool[0], "mint_a": mint_a}
        )
    derived, bump = pda.config_pda()
    assert not derived.is_on_curve()
    assert 0 <= bump <= 255


def test_pda_helpers_agree_with_the_builders() -> None:
    from bourse_chain.generated.compute_market import instructions as cmi

    k = Pubkey.new_unique()
    model = Pubkey.new_unique()
    ix = cmi.open_order(
        cmi.OpenOrderArgs(7, 1, 1, 60, 10, 255),
        cmi.OpenOrderAccounts(
            payer=k,
            model=model,
            offer=k,
            order=pda.order_address(k, 7),
            payer_token=k,
            usdc_mint=k,
            usdc_token_program=k,
        ),
    )
    assert [m.pubkey for m in ix.accounts[1:5]] == [
        pda.config_pda()[0],
        model,
        k,
        pda.order_address(k, 7),
    ]
    assert ix.accounts[6].pubkey == pda.escrow_vault_pda()[0]


def test_seed_constants_are_the_idl_const_seeds() -> None:
    from bourse_chain.generated.compute_market import constants as cm
    from bourse_chain.generated.cp_pool import constants as cp

    def const_seeds(idl: dict[str, Any]) -> set[bytes]:
        declared = {
            bytes(json.loads(c["value"]))
            for c in idl.get("constants", [])
            if c["name"].startswith("SEED_")
        }
        return declared | {
            bytes(s["value"])
            for ix in idl["instructions"]
            for a in ix["accounts"]
            for s in a.get("pda", {}).get("seeds", [])
            if s["kind"] == "const"
        }

    for mod, prog in ((cm, "compute_market"), (cp, "cp_pool")):
        named = {v for k, v in vars(mod).items() if k.startswith("SEED_")}
        own = bytes(Pubkey.from_string(IDLS[prog]["address"]))
        assert named == const_seeds(IDLS[prog]) - {own}


def test_pda_helpers_refuse_bad_input() -> None:
    with pytest.raises(ValueError):
        pda.model_pda("x" * 33)  # solders would panic (not an Exception) on a 33-byte seed
    with pytest.raises(ValueError):
        pda.order_address(Pubkey.default(), -1)
    k = Pubkey.new_unique()
    with pytest.raises(ValueError):
        pda.pool_pda(k, k)


# -- the package and the synthetic IDL's extras -----------------------------------------------


def test_short_aliases_and_doctests() -> None:
    from bourse_chain.generated import compute_market, cp_pool

    assert bourse_chain.compute_market is compute_market
    assert bourse_chain.cp_pool is cp_pool
    for mod in (bourse_chain, pda):
        result = doctest.testmod(mod)
        assert result.failed == 0 and result.attempted > 0, mod.__name__


def test_synthetic_builder_resolution(bindings: dict[str, Binding]) -> None:
    b = bindings["synthetic"]
    mod = b.module("instructions.do_things")
    # Accounts whose seeds read account data, or depend on each other, are left to the caller
    passed = {f.name for f in dataclasses.fields(mod.DoThingsAccounts)}
    assert passed == {"user", "mint", "opt", "cyc_a", "cyc_b", "field_seed", "args"}
    no_args = b.module("instructions.no_args").no_args
    ix = no_args()
    assert ix.data == bytes(disc("global", "no_args"))
    assert [m.pubkey for m in ix.accounts] == [
        Pubkey.find_program_address([b"state"], b.program_id)[0],
        Pubkey.from_string("11111111111111111111111111111111"),
    ]
    errors = b.module("errors")
    assert errors.from_code(6000).msg == 'It went "boom" \\ here'
    assert errors.LowerName.name == "lowerName"


def test_synthetic_output_is_ruff_clean(bindings: dict[str, Binding]) -> None:
    root = bindings["synthetic"].root  # type: ignore[attr-defined]
    cfg = ["--config", str(ROOT / "pyproject.toml")]
    first = ["--config", "lint.isort.known-first-party = ['bourse_chain', 'synth_gen']"]
    fmt = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *cfg, "synth_gen"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *cfg, *first, "synth_gen"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed")
def test_synthetic_output_is_mypy_strict_clean(bindings: dict[str, Binding]) -> None:
    root = bindings["synthetic"].root  # type: ignore[attr-defined]
    cache = str(root / ".mypy_cache")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", cache, "-p", "synth_gen"],
        cwd=root,
        env={**os.environ, "MYPYPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


UNSUPPORTED: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    (
        "data enum",
        lambda d: d["types"][0]["type"]["variants"].append({"name": "V", "fields": ["u8"]}),
    ),
    ("generics", lambda d: d["types"][1].update(generics=[{"kind": "type", "name": "T"}])),
    (
        "mixed tuple and named fields",
        lambda d: d["types"][1]["type"].update(fields=["u8", {"name": "x", "type": "u8"}]),
    ),
    ("bytemuck", lambda d: d["types"][1].update(serialization="bytemuck")),
    (
        "composite accounts",
        lambda d: d["instructions"][2]["accounts"].append({"name": "g", "accounts": []}),
    ),
    (
        "unknown type",
        lambda d: d["types"][1]["type"]["fields"].append({"name": "z", "type": "u256"}),
    ),
    (
        "undefined",
        lambda d: d["types"][1]["type"]["fields"].append({"name": "z", "type": _d("Nope")}),
    ),
    (
        "recursive",
        lambda d: d["types"][1]["type"]["fields"].append(
            {"name": "z", "type": {"vec": _d("Point")}}
        ),
    ),
    (
        "nested layout",
        lambda d: d["types"][1]["type"]["fields"].append({"name": "z", "type": _d("Dyn")}),
    ),
    (
        "ambiguous discriminators",
        lambda d: d["events"][1].update(discriminator=d["events"][0]["discriminator"][:1]),
    ),
    ("empty discriminator", lambda d: d["accounts"][1].update(discriminator=[])),
]


def test_tuple_structs_get_positional_field_names() -> None:
    # pump's OptionBool(bool) / OptionU64(u64): Borsh encodes a tuple struct like a struct
    doc = json.loads(json.dumps(SYNTHETIC))
    doc["types"][1]["type"]["fields"] = ["bool"]
    one = parse(doc).types[1]
    assert isinstance(one, StructDef) and [f.name for f in one.fields] == ["value"]
    doc["types"][1]["type"]["fields"] = ["u8", "u64"]
    two = parse(doc).types[1]
    assert isinstance(two, StructDef) and [f.name for f in two.fields] == ["item_0", "item_1"]


@pytest.mark.parametrize(("what", "mutate"), UNSUPPORTED, ids=[u[0] for u in UNSUPPORTED])
def test_unsupported_idl_features_fail_loudly(
    what: str, mutate: Callable[[dict[str, Any]], None]
) -> None:
    doc = json.loads(json.dumps(SYNTHETIC))
    parse(doc)  # the synthetic IDL itself is fine
    mutate(doc)
    with pytest.raises(UnsupportedIdl):
        parse(doc)
