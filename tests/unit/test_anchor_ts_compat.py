"""Exact compatibility with the Anchor TypeScript client (npm @coral-xyz/anchor).

Anchor's BorshCoder, loading our IDL files and the public pump.fun / PumpSwap IDLs
(npm @pump-fun/pump-sdk, tests/pump_node), must build the same instruction data as our
generated builders for every instruction of each program, and decode every account and
event type our bindings encode to the same values.
Values cross the process boundary in a canonical JSON form (integers as
decimal strings, pubkeys as base58, bytes as hex, enums by variant name).
"""

from __future__ import annotations

import enum
import importlib
import json
import random
import shutil
import subprocess
from dataclasses import fields as dataclass_fields
from dataclasses import is_dataclass
from pathlib import Path
from typing import Any

import pytest
from solders.pubkey import Pubkey

from bourse_chain.codegen.layout import field_name

REPO = Path(__file__).resolve().parents[2]
TS = REPO / "tests" / "anchor_ts"
PUMP_IDLS = REPO / "tests" / "pump_node" / "node_modules" / "@pump-fun" / "pump-sdk" / "src" / "idl"
PROGRAMS = (
    "compute_market",
    "cp_pool",
    pytest.param(
        "pump",
        marks=pytest.mark.skipif(
            not (PUMP_IDLS / "pump.json").exists(), reason="cd tests/pump_node && npm ci"
        ),
    ),
    pytest.param(
        "pump_amm",
        marks=pytest.mark.skipif(
            not (PUMP_IDLS / "pump_amm.json").exists(), reason="cd tests/pump_node && npm ci"
        ),
    ),
)
CASES_PER_ITEM = 8

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (TS / "node_modules" / "@coral-xyz" / "anchor").exists(),
    reason="node or tests/anchor_ts/node_modules missing (cd tests/anchor_ts && npm ci)",
)

INT_BITS = {
    "u8": 8,
    "u16": 16,
    "u32": 32,
    "u64": 64,
    "u128": 128,
    "i8": 8,
    "i16": 16,
    "i32": 32,
    "i64": 64,
    "i128": 128,
}


def camel(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in name.split("_"))


class Program:
    def __init__(self, name: str) -> None:
        self.name = name
        own = REPO / "idl" / f"{name}.json"
        path = own if own.exists() else PUMP_IDLS / f"{name}.json"
        self.idl: dict[str, Any] = json.loads(path.read_text())
        self.pkg = f"bourse_chain.generated.{name}"
        self.types = {t["name"]: t["type"] for t in self.idl["types"]}

    def cls(self, type_name: str) -> Any:
        for sub in ("types", "accounts", "events"):
            mod = importlib.import_module(f"{self.pkg}.{sub}")
            if hasattr(mod, type_name):
                return getattr(mod, type_name)
        raise KeyError(type_name)

    # -- random values of an IDL type, as our bindings' Python values -------------------------

    def value(self, ty: Any, rnd: random.Random) -> Any:
        if isinstance(ty, str):
            if ty in INT_BITS:
                bits = INT_BITS[ty]
                if ty.startswith("u"):
                    return rnd.choice([0, 1, 2**bits - 1, rnd.randrange(2**bits)])
                return rnd.choice(
                    [
                        -(2 ** (bits - 1)),
                        -1,
                        0,
                        2 ** (bits - 1) - 1,
                        rnd.randrange(-(2 ** (bits - 1)), 2 ** (bits - 1)),
                    ]
                )
            if ty == "bool":
                return rnd.random() < 0.5
            if ty == "pubkey":
                return Pubkey(rnd.randbytes(32))
            if ty == "string":
                return "".join(
                    rnd.choice("abcdefghij-/._:XYZ0129") for _ in range(rnd.randrange(0, 33))
                )
            if ty == "bytes":
                return rnd.randbytes(rnd.randrange(0, 64))
        elif "array" in ty:
            inner, n = ty["array"]
            if inner == "u8":
                return rnd.randbytes(n)
            return tuple(self.value(inner, rnd) for _ in range(n))
        elif "vec" in ty:
            return tuple(self.value(ty["vec"], rnd) for _ in range(rnd.randrange(0, 5)))
        elif "option" in ty:
            return None if rnd.random() < 0.4 else self.value(ty["option"], rnd)
        elif "defined" in ty:
            name = ty["defined"]["name"]
            d = self.types[name]
            cls = self.cls(name)
            if d["kind"] == "enum":
                return cls(rnd.randrange(len(d["variants"])))
            if d["fields"] and not isinstance(d["fields"][0], dict):  # tuple struct
                return cls(*[self.value(t, rnd) for t in d["fields"]])
            return cls(**{field_name(f["name"]): self.value(f["type"], rnd) for f in d["fields"]})
        raise AssertionError(f"unsupported IDL type {ty!r}")

    # -- canonical JSON -------------------------------------------------------------------

    def canon(self, ty: Any, v: Any) -> Any:
        if isinstance(ty, str):
            if ty in INT_BITS:
                return str(int(v))
            if ty == "pubkey":
                return str(v)
            if ty == "bytes":
                return bytes(v).hex()
            return v
        if "array" in ty:
            inner, _n = ty["array"]
            if inner == "u8":
                return bytes(v).hex()
            return [self.canon(inner, x) for x in v]
        if "vec" in ty:
            return [self.canon(ty["vec"], x) for x in v]
        if "option" in ty:
            return None if v is None else self.canon(ty["option"], v)
        name = ty["defined"]["name"]
        d = self.types[name]
        if d["kind"] == "enum":
            assert isinstance(v, enum.Enum)
            return d["variants"][int(v.value)]["name"]
        assert is_dataclass(v)
        if d["fields"] and not isinstance(d["fields"][0], dict):  # tuple struct: by position
            values = [getattr(v, f.name) for f in dataclass_fields(v)]
            return [self.canon(t, x) for t, x in zip(d["fields"], values, strict=True)]
        return {
            f["name"]: self.canon(f["type"], getattr(v, field_name(f["name"]))) for f in d["fields"]
        }


def run_anchor(idl: dict[str, Any], cases: list[dict[str, Any]]) -> list[Any]:
    proc = subprocess.run(
        ["node", str(TS / "crosscheck.js")],
        input=json.dumps({"idl": idl, "cases": cases}),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out: list[Any] = json.loads(proc.stdout)
    return out


@pytest.mark.parametrize("program", PROGRAMS)
def test_instruction_bytes_match_anchor(program: str) -> None:
    p = Program(program)
    rnd = random.Random(f"ix-{program}")
    cases, ours = [], []
    for ix in p.idl["instructions"]:
        mod = importlib.import_module(f"{p.pkg}.instructions.{ix['name']}")
        for _ in range(CASES_PER_ITEM if ix["args"] else 1):
            values = {a["name"]: p.value(a["type"], rnd) for a in ix["args"]}
            kwargs = {field_name(k): v for k, v in values.items()}
            data = mod.DISCRIMINATOR + (
                getattr(mod, camel(ix["name"]) + "Args")(**kwargs).encode() if ix["args"] else b""
            )
            ours.append(data.hex())
            cases.append(
                {
                    "kind": "instruction",
                    "name": ix["name"],
                    "args": {a["name"]: p.canon(a["type"], values[a["name"]]) for a in ix["args"]},
                }
            )
    assert run_anchor(p.idl, cases) == ours


@pytest.mark.parametrize("program", PROGRAMS)
def test_account_decoding_matches_anchor(program: str) -> None:
    p = Program(program)
    rnd = random.Random(f"acc-{program}")
    cases, ours = [], []
    for acc in p.idl["accounts"]:
        for _ in range(CASES_PER_ITEM):
            value = p.value({"defined": {"name": acc["name"]}}, rnd)
            data = value.encode()
            assert data[:8] == bytes(acc["discriminator"])
            assert type(value).decode(data) == value
            ours.append(p.canon({"defined": {"name": acc["name"]}}, value))
            cases.append({"kind": "account", "name": acc["name"], "data": data.hex()})
    assert run_anchor(p.idl, cases) == ours


@pytest.mark.parametrize("program", PROGRAMS)
def test_event_decoding_matches_anchor(program: str) -> None:
    p = Program(program)
    rnd = random.Random(f"ev-{program}")
    cases, ours = [], []
    for ev in p.idl["events"]:
        cls = p.cls(ev["name"])
        for _ in range(CASES_PER_ITEM):
            value = p.value({"defined": {"name": ev["name"]}}, rnd)
            data = value.encode()
            assert data[:8] == bytes(ev["discriminator"])
            assert cls.decode(data) == value
            ours.append(
                {"name": ev["name"], "data": p.canon({"defined": {"name": ev["name"]}}, value)}
            )
            cases.append({"kind": "event", "name": ev["name"], "data": data.hex()})
    assert run_anchor(p.idl, cases) == ours


def test_batch_settlement_bytes_from_the_program_match_anchor() -> None:
    """settle_batch as the program ran it: Anchor encodes the same instruction data, and
    decodes the SettlementStream account and BatchSettled event the program wrote as we do."""
    from bourse_chain.generated.compute_market.accounts import SettlementStream
    from bourse_chain.generated.compute_market.events import BatchSettled
    from bourse_chain.generated.compute_market.instructions import SettleBatchArgs
    from tests.security.kit import USDC, World

    w = World()
    w.c.fund_usdc(w.settler.pubkey(), 3 * USDC)
    ix = w.payment_ix("alpha", 3 * USDC)
    meta = w.c.send([ix], [w.settler])
    p = Program("compute_market")
    stream_data = w.c.data(w.stream("alpha"))
    assert stream_data is not None
    stream = SettlementStream.decode(stream_data)
    (event,) = [e for e in w.c.events(meta) if isinstance(e, BatchSettled)]
    sent = SettleBatchArgs.decode(bytes(ix.data[8:]))
    assert (sent.count, sent.total) == (1, 3 * USDC)
    decoded_args = {f: getattr(sent, f) for f in ("sequence", "count", "total", "root")}
    (spec_ix,) = [i for i in p.idl["instructions"] if i["name"] == "settle_batch"]
    types = {a["name"]: a["type"] for a in spec_ix["args"]}
    cases: list[dict[str, Any]] = [
        {
            "kind": "instruction",
            "name": "settle_batch",
            "args": {k: p.canon(types[k], v) for k, v in decoded_args.items()},
        },
        {"kind": "account", "name": "SettlementStream", "data": stream_data.hex()},
        {"kind": "event", "name": "BatchSettled", "data": event.encode().hex()},
    ]
    ix_hex, stream_out, event_out = run_anchor(p.idl, cases)
    assert ix_hex == bytes(ix.data).hex()
    assert stream_out == p.canon({"defined": {"name": "SettlementStream"}}, stream)
    assert event_out == {
        "name": "BatchSettled",
        "data": p.canon({"defined": {"name": "BatchSettled"}}, event),
    }
