"""``bourse demo`` end to end: it starts its own embedded localnet, runs the whole flow, and
its final figures are asserted: value is conserved for every call and in the balances read
back from the chain, and each token's supply fell by exactly what was burned."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bourse_ops.sandbox.svm_chain import BIN
from tests.support.cli import Bourse

pytestmark = pytest.mark.skipif(
    not (BIN / "compute_market.so").exists(), reason="programs not built (python -m program.build)"
)

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("provider", "creator", "protocol")


def assert_figures(report: dict[str, Any]) -> None:
    assert report["ok"] is True and all(report["checks"].values()), report["checks"]
    models = {m["slug"]: m for m in report["models"]}
    assert set(models) == {"deepseek-chat", "kimi-k2.6"}
    assert models["deepseek-chat"]["token_kind"] == "spl"
    assert models["kimi-k2.6"]["token_kind"] == "token2022"
    for m in models.values():
        # conservation, call by call summed per model
        assert m["paid_in"] == sum(m[p] for p in PARTS) + m["refund"]
        assert m["gross"] == sum(m[p] for p in PARTS)
        assert m["gross"] > 0 and m["refund"] > 0 and m["released"] == 1
        # supply before - after = burned, and the buyback burned what it bought
        assert (
            m["supply_before_base_units"] - m["supply_after_base_units"]
            == m["tokens_burned_base_units"]
            > 0
        )
        assert m["tokens_burned_base_units"] == m["tokens_bought_base_units"]
        assert m["revenue_vault_after"] == m["creator"] - m["usdc_spent"]
    assert models["kimi-k2.6"]["transfer_fees_harvested_base_units"] > 0
    assert models["deepseek-chat"]["transfer_fees_harvested_base_units"] == 0
    # token amounts are each model's own token: named base units, with their decimals, and
    # never summed across models
    assert all(m["token_decimals"] == 6 for m in models.values())
    t, p = report["totals"], report["parties"]
    assert not [k for k in t if "token" in k or "harvested" in k], t
    assert t["paid_in"] == sum(t[x] for x in PARTS) + t["refund"]
    # who got what, as read back from the chain
    assert p["payer"]["paid"] + p["gateway"]["paid"] == t["gross"]
    assert p["provider"]["received"] == t["provider"]
    assert p["treasury"]["received"] == t["protocol"]
    assert p["revenue_vaults"]["received"] == t["creator"]
    assert p["escrow"]["left"] == 0
    assert_gateway(report)
    assert report["elapsed_seconds"] < 60


def assert_gateway(report: dict[str, Any]) -> None:
    """The calls through the gateway: served, charged by the ledger exactly what the batches
    the program recorded carried, each call's proof verified, before the buyback spent it."""
    g, models = report["gateway"], {m["slug"]: m for m in report["models"]}
    assert g["served"] == g["calls"] == sum(m["gateway_calls"] for m in models.values()) > 0
    assert g["failed"] == 0
    assert g["ledger_charged"] == g["onchain_settled"] and g["ledger_charged"]["credits"] > 0
    assert g["charged_headers"] == g["ledger_charged"]["credits"]
    assert g["credits_granted"] - g["credits_left"] == g["charged_headers"]
    assert report["parties"]["gateway"]["paid"] == g["ledger_charged"]["credits"]
    assert g["proofs_verified"] == g["settled"] == g["served"]
    assert {b["model"] for b in g["batches"]} == set(models)
    for b in g["batches"]:
        assert b["total"] == b["onchain_total"] > 0 and b["signature"]
    assert sum(b["count"] for b in g["batches"]) == g["served"]
    for slug, per in g["per_model"].items():
        assert per["gross"] == per["provider"] + per["creator"] + per["protocol"]
        assert per["calls"] == models[slug]["gateway_calls"]
    # the phases, measured: the gateway ran before the buyback that spent its fees
    t = report["timings"]
    phases = ["localnet", "market_setup", "orders", "gateway", "buyback_and_burn", "read_back"]
    assert all(p in t for p in phases)
    assert list(t).index("gateway") < list(t).index("buyback_and_burn")
    assert t["total"] == report["elapsed_seconds"] < 60


def test_demo_json_figures() -> None:
    run = Bourse("localnet", ROOT / ".no-localnet")("demo", "--quiet", "--orders", "3")
    report = run.json()
    assert_figures(report)
    assert report["totals"]["orders"] == 6 and report["totals"]["gateway_calls"] == 16


def test_demo_table_with_progress() -> None:
    run = Bourse("localnet", ROOT / ".no-localnet")("demo", "--calls", "2", output="table")
    assert run.code == 0, run.stderr
    assert "Who got what" in run.stdout and "All checks passed" in run.stdout
    assert "Gateway (rail 1)" in run.stdout and "4 / 4" in run.stdout
    assert "gateway ledger charges equal onchain settled" in run.stdout
    assert "Seconds per phase" in run.stdout
    assert "supply fell by burned" in run.stdout
    assert "fees harvested (tokens)" in run.stdout
    # the progress display went to stderr, ending on the last step
    assert "Reading the chain back" in run.stderr


def test_demo_as_a_newcomer_runs_it() -> None:
    # Given nothing but the checkout: `python -m bourse_cli demo -o json` (= `bourse demo`)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bourse_cli", "demo", "-o", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.perf_counter() - started
    assert out.returncode == 0, out.stderr
    assert_figures(json.loads(out.stdout))
    assert elapsed < 60


#: Runs ``bourse demo`` and delivers SIGINT (Ctrl-C) to itself right after step N, while
#: the embedded localnet still serves the demo's requests.
CTRL_C_DRIVER = """
import os, signal, sys
from bourse_cli import demo
step, n = demo.RichReporter.step, int(sys.argv[1])
def interrupting(self, description):
    step(self, description)
    if self.progress.tasks[0].completed == n:
        os.kill(os.getpid(), signal.SIGINT)
demo.RichReporter.step = interrupting
from bourse_cli.app import main
main(["demo"])
"""


#: steps: 1-15 listing, 16-27 orders, 28 gateway start, 29-30 its calls, 31 its settlement
@pytest.mark.parametrize("after_step", [3, 8, 13, 20, 28, 29, 31])
def test_ctrl_c_during_the_demo_exits_cleanly(after_step: int) -> None:
    out = subprocess.run(
        [sys.executable, "-c", CTRL_C_DRIVER, str(after_step)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # exit 130, one "interrupted" line after the progress display, no traceback
    assert out.returncode == 130, out.stderr
    assert "Traceback" not in out.stderr and "Error handling request" not in out.stderr
    assert out.stderr.rstrip().splitlines()[-1] == "error: interrupted"
    assert out.stdout == ""
