"""``bourse demo`` end to end: it starts its own embedded localnet, runs the whole flow, and
its final figures are asserted: value is conserved for every call and in the balances read
back from the chain, and each token's supply fell by exactly what was burned."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bourse_ops.sandbox.svm_chain import BIN
from tests.support.cli import Bourse
from tests.x402.node import needs_node

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
    assert p["payer"]["paid"] + p["gateway"]["paid"] + p["x402_payer"]["paid"] == t["gross"]
    assert p["provider"]["received"] == t["provider"]
    assert p["treasury"]["received"] == t["protocol"]
    assert p["revenue_vaults"]["received"] == t["creator"]
    assert p["escrow"]["left"] == 0
    assert_gateway(report)
    assert_x402(report)


def assert_gateway(report: dict[str, Any]) -> None:
    """The calls through the gateway: served, charged by the ledger exactly what the batches
    the program recorded carried, each call's proof verified, before the buyback spent it."""
    g, models = report["gateway"], {m["slug"]: m for m in report["models"]}
    x402 = int(g["x402"]["status"] == "served")  # the one x402 call, when not skipped
    assert (
        g["served"] + x402 == g["calls"] + x402 == sum(m["gateway_calls"] for m in models.values())
    )
    assert g["served"] > 0 and g["failed"] == 0
    assert g["ledger_charged"] == g["onchain_settled"] and g["ledger_charged"]["credits"] > 0
    assert g["charged_headers"] == g["ledger_charged"]["credits"]
    assert g["credits_granted"] - g["credits_left"] == g["charged_headers"]
    assert report["parties"]["gateway"]["paid"] == g["ledger_charged"]["credits"]
    assert g["proofs_verified"] == g["settled"] == g["served"] + x402
    assert {b["model"] for b in g["batches"]} == set(models)
    for b in g["batches"]:
        assert b["total"] == b["onchain_total"] > 0 and b["signature"]
    assert sum(b["count"] for b in g["batches"]) == g["served"] + x402
    for slug, per in g["per_model"].items():
        assert per["gross"] == per["provider"] + per["creator"] + per["protocol"]
        assert per["calls"] == models[slug]["gateway_calls"]
    # the phases, measured: the gateway ran before the buyback that spent its fees
    t = report["timings"]
    phases = ["localnet", "market_setup", "orders", "gateway", "buyback_and_burn", "read_back"]
    assert all(p in t for p in phases)
    assert list(t).index("gateway") < list(t).index("buyback_and_burn")
    assert t["total"] == report["elapsed_seconds"]  # how long: benchmarks/startup.md


def assert_x402(report: dict[str, Any]) -> None:
    """The x402 call: paid by its own wallet into the model's inbox, charged by the ledger
    exactly what the program settled from the inbox, its proof verified; or skipped, with
    nothing of it anywhere."""
    x, g, p = report["gateway"]["x402"], report["gateway"], report["parties"]
    if x["status"] == "skipped":
        assert "npm ci --prefix x402_facilitator" in x["reason"]
        assert "x402" not in g["ledger_charged"] and "x402" not in g["onchain_settled"]
        assert p["x402_payer"]["paid"] == 0 and x["amount"] == 0
        assert not [c for c in report["checks"] if c.startswith("x402_") and "payer" not in c]
        return
    assert x["status"] == "served" and x["http_status"] == 200 and x["transaction"]
    assert x["inbox_delta"] == x["amount"] > 0
    assert g["ledger_charged"]["x402"] == g["onchain_settled"]["x402"] == x["amount"]
    assert p["x402_payer"]["paid"] == x["amount"]
    assert x["proofs_verified"] == 1
    x402_batches = [b for b in g["batches"] if b["rail"] == "x402"]
    assert [(b["model"], b["count"], b["total"]) for b in x402_batches] == [
        (x["model"], 1, x["amount"])
    ]
    assert x402_batches[0]["onchain_total"] == x["amount"]
    for check in (
        "x402_call_served",
        "x402_inbox_received_the_quoted_amount",
        "x402_ledger_charge_equals_onchain_settled",
        "x402_call_settled_with_a_verified_proof",
        "x402_payer_paid_its_ledger_charge",
    ):
        assert report["checks"][check] is True, check
    t = report["timings"]
    assert 0 < t["gateway_x402_call"] < t["gateway"]


@needs_node
def test_demo_json_figures() -> None:
    run = Bourse("localnet", ROOT / ".no-localnet")("demo", "--quiet", "--orders", "3")
    report = run.json()
    assert_figures(report)
    assert report["gateway"]["x402"]["status"] == "served"
    assert report["totals"]["orders"] == 6 and report["totals"]["gateway_calls"] == 16 + 1


def test_demo_without_the_facilitator_skips_only_the_x402_call(tmp_path: Path) -> None:
    missing = tmp_path / "no-facilitator"
    run = Bourse("localnet", ROOT / ".no-localnet")(
        "demo", "--quiet", "--orders", "2", "--calls", "1", "--x402-facilitator", str(missing)
    )
    report = run.json()
    x = report["gateway"]["x402"]
    assert x["status"] == "skipped" and str(missing) in x["reason"]
    assert_figures(report)  # every other check holds
    assert report["totals"]["gateway_calls"] == 2
    # said in one line, with how to enable it
    (line,) = [ln for ln in run.stderr.splitlines() if "x402" in ln]
    assert line.startswith("x402 call skipped:") and "npm ci --prefix x402_facilitator" in line


def test_demo_table_with_progress() -> None:
    run = Bourse("localnet", ROOT / ".no-localnet")("demo", "--calls", "2", output="table")
    assert run.code == 0, run.stderr
    assert "Who got what" in run.stdout and "All checks passed" in run.stdout
    assert "Gateway (rail 1)" in run.stdout and "4 / 4" in run.stdout
    assert "x402 call (rail 2)" in run.stdout  # served, or skipped with the reason
    assert "gateway ledger charges equal onchain settled" in run.stdout
    assert "Seconds per phase" in run.stdout
    assert "supply fell by burned" in run.stdout
    assert "fees harvested (tokens)" in run.stdout
    # the progress display went to stderr, ending on the last step
    assert "Reading the chain back" in run.stderr


def test_demo_as_a_newcomer_runs_it() -> None:
    # Given nothing but the checkout: `python -m bourse_cli demo -o json` (= `bourse demo`)
    out = subprocess.run(
        [sys.executable, "-m", "bourse_cli", "demo", "-o", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert_figures(json.loads(out.stdout))


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


#: steps: 1-15 listing, 16-27 orders, 28 gateway start, 29-30 its calls, 31 the x402 call,
#: 32 its settlement
@pytest.mark.parametrize("after_step", [3, 8, 13, 20, 28, 29, 31, 32])
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
