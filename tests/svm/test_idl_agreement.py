"""The IDL and the program agree: every IDL instruction discriminator is
dispatched (an empty account list gets NotEnoughAccounts, an unknown one gets
InvalidInstructionData), account sizes and discriminators the program writes
match the IDL layouts, and the program's error constants are the IDL's codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from bourse_ops.sandbox.svm_chain import BIN, new_chain
from idl import render
from idl.authoring import discriminator
from idl.compute_market_spec import PROGRAM as SPEC
from tests.support.batches import pay_one
from tests.support.svm_world import World

REPO = Path(__file__).resolve().parents[2]

IDL = json.loads((REPO / "idl" / "compute_market.json").read_text())
ERR = {e["name"]: e["code"] for e in IDL["errors"]}
pytestmark = pytest.mark.skipif(
    not (BIN / "compute_market.so").exists(), reason="program not built"
)


def test_rendered_files_are_current() -> None:
    assert render.main(["--check"]) == 0, "run python -m idl.render"


def test_idl_discriminators_are_anchors() -> None:
    for ix in IDL["instructions"]:
        assert bytes(ix["discriminator"]) == discriminator("global", ix["name"])
    for acc in IDL["accounts"]:
        assert bytes(acc["discriminator"]) == discriminator("account", acc["name"])
    for ev in IDL["events"]:
        assert bytes(ev["discriminator"]) == discriminator("event", ev["name"])


def test_program_error_constants_match_idl() -> None:
    text = (REPO / "program" / "compute_market" / "src" / "generated.rs").read_text()
    consts = {
        m.group(1): int(m.group(2)) for m in re.finditer(r"pub const (\w+): u32 = (\d+);", text)
    }
    for name, code in ERR.items():
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()
        assert consts[snake] == code
    # The shared sdk codes are the first two IDL errors.
    sdk = (REPO / "program" / "sdk" / "entrypoint.rs").read_text()
    assert f"ERR_INVALID_INSTRUCTION_DATA: u32 = {ERR['InvalidInstructionData']}" in sdk
    assert f"ERR_ARITHMETIC: u32 = {ERR['ArithmeticOverflow']}" in sdk


def test_every_discriminator_is_dispatched() -> None:
    c = new_chain()
    program = Pubkey.from_string(IDL["address"])
    for ix in IDL["instructions"]:
        err = c.fails([Instruction(program, bytes(ix["discriminator"]), [])], [])
        assert err.custom_code == ERR["NotEnoughAccounts"], ix["name"]
    err = c.fails([Instruction(program, b"\x01" * 8, [])], [])
    assert err.custom_code == ERR["InvalidInstructionData"]
    err = c.fails([Instruction(program, b"\x01\x02", [])], [])
    assert err.custom_code == ERR["InvalidInstructionData"]


def test_account_sizes_match_idl_layouts() -> None:
    """Accounts the program created in a real flow have the IDL's size and discriminator."""
    w = World()
    w.list_model("size-check", 100)
    c, m = w.c, w.m
    c.send([m.register_provider(w.provider.pubkey(), "p")], [w.provider])
    c.send([m.upsert_offer(w.provider.pubkey(), "size-check", 1, 1)], [w.provider])
    c.send(
        [m.open_order(w.payer.pubkey(), "size-check", w.provider.pubkey(), 1, 10, 10)], [w.payer]
    )
    c.fund_usdc(w.settler.pubkey(), 10)
    c.send(
        [
            pay_one(
                c,
                m,
                w.settler.pubkey(),
                slug="size-check",
                provider_authority=w.provider.pubkey(),
                payment_id="p",
                amount=10,
                source_authority=w.settler.pubkey(),
            )
        ],
        [w.settler],
    )
    created = {
        "Config": m.config,
        "Model": m.model("size-check"),
        "Provider": m.provider(w.provider.pubkey()),
        "Offer": m.offer("size-check", w.provider.pubkey()),
        "Order": m.order(w.payer.pubkey(), 1),
        "SettlementStream": m.stream(m.model("size-check"), m.provider(w.provider.pubkey())),
    }
    assert set(created) == {a["name"] for a in IDL["accounts"]}
    for acc in SPEC.accounts:
        data = c.data(created[acc.name])
        assert data is not None
        assert len(data) == SPEC.account_len(acc), acc.name
        assert data[:8] == discriminator("account", acc.name), acc.name
