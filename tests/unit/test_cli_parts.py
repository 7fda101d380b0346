"""The command line's pure parts: global options anywhere, amounts, error messages, the
localnet manifest, keypair resolution, the chart's daily buckets."""

from __future__ import annotations

import importlib.metadata
import json
import re
import socket
from pathlib import Path

import pytest
import typer
from httpx import ConnectError, ReadTimeout
from rich.console import Console, RenderableType
from solana.exceptions import SolanaRpcException
from solana.rpc.core import RPCException
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from typer.testing import CliRunner

from bourse_chain.errors import TransactionFailed
from bourse_chain.generated.compute_market import errors as cm
from bourse_chain.keys import KeypairError, KeypairMissing
from bourse_chain.unreachable import is_unreachable, unreachable_reason
from bourse_cli.app import app, hoist_global_options
from bourse_cli.context import CliState
from bourse_cli.crank import render_harvest
from bourse_cli.demo import render_report
from bourse_cli.errors import describe, guard
from bourse_cli.market import _details
from bourse_cli.model import render_model, render_token
from bourse_cli.order import render_order
from bourse_cli.output import OutputMode
from bourse_cli.pool import render_pool
from bourse_ops import admin
from bourse_ops.common import format_amount, parse_amount, read_manifest
from bourse_ops.crank import HarvestReport as CrankHarvest
from bourse_ops.demo import DemoReport, ModelFlow
from bourse_ops.errors import InsufficientSol, InsufficientUsdc, InvalidInput, UnknownModel
from bourse_ops.list_model import TokenCreated
from bourse_ops.market_view import HistoryEntry, ModelView, daily_series
from bourse_ops.orders import OrderView
from bourse_ops.pool import PoolView
from cranks.__main__ import main as crank_main
from cranks.__main__ import parser as crank_parser
from idl import compute_market_spec as spec

DAY = 86_400


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["market", "list", "-o", "json"], ["-o", "json", "market", "list"]),
        (["-u", "localnet", "demo"], ["-u", "localnet", "demo"]),
        (
            ["model", "register", "m", "--fee-bps", "5", "-k", "creator", "--url=devnet"],
            ["-k", "creator", "--url=devnet", "model", "register", "m", "--fee-bps", "5"],
        ),
        (["model", "status", "--", "-o"], ["model", "status", "--", "-o"]),
        (["market", "list", "--output"], ["--output", "market", "list"]),
        # the gateway group parses its own options (--config is its TOML file)
        (
            ["-o", "json", "gateway", "keys", "list", "--config", "gw.toml", "-o", "x"],
            ["-o", "json", "gateway", "keys", "list", "--config", "gw.toml", "-o", "x"],
        ),
        (["--url", "devnet", "gateway", "serve"], ["--url", "devnet", "gateway", "serve"]),
    ],
)
def test_global_options_anywhere(argv: list[str], expected: list[str]) -> None:
    assert hoist_global_options(argv) == expected


def test_amounts() -> None:
    assert parse_amount("0.27", 6) == 270_000
    assert parse_amount("1000000000", 6) == 10**15
    assert parse_amount(5, 0) == 5
    for bad in ("x", "-1", "0.0000001", "1e30", "nan"):
        with pytest.raises(InvalidInput):
            parse_amount(bad, 6)
    assert format_amount(1_100_000, 6) == "1.1"
    assert format_amount(10**15, 6) == "1,000,000,000"
    assert format_amount(0, 6) == "0"


def test_program_limits_mirror_the_interface() -> None:
    """bourse_ops.admin checks with the limits generated from the IDL spec (no copies)."""
    from bourse_chain.generated.compute_market import constants as generated

    assert generated.HARD_MAX_PROTOCOL_FEE_BPS == spec.HARD_MAX_PROTOCOL_FEE_BPS
    assert generated.HARD_MAX_MODEL_FEE_BPS == spec.HARD_MAX_MODEL_FEE_BPS
    assert generated.MAX_SWAP_PROGRAMS == spec.MAX_SWAP_PROGRAMS
    source = Path(admin.__file__).read_text()
    assert "= 2_000" not in source and "= 5_000" not in source
    assert generated.MAX_MODEL_TOKEN_TRANSFER_FEE_BPS == spec.MAX_MODEL_TOKEN_TRANSFER_FEE_BPS


def connect_error() -> SolanaRpcException:
    try:
        try:
            raise ConnectError("All connection attempts failed")
        except ConnectError as inner:
            raise SolanaRpcException(inner, connect_error, None, "GetSlot") from inner
    except SolanaRpcException as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "needles"),
    [
        (KeypairMissing("keypair file not found: /x.json"), ["missing keypair", "/x.json"]),
        (KeypairError("/x.json: not a JSON array of bytes"), ["invalid keypair", "/x.json"]),
        (cm.FeeAboveCap(), ["fee above cap", "FeeAboveCap"]),
        (cm.Unauthorized(), ["not authorized"]),
        (cm.OfferInactive(), ["the program refused the transaction", "OfferInactive"]),
        (
            TransactionFailed("boom", ("Program log: Error: something odd",)),
            ["transaction failed: boom", "Error: something odd"],
        ),
        (connect_error(), ["cannot reach the RPC node at http://h:1", "connection refused"]),
        (RPCException("rate limited"), ["refused the request", "rate limited"]),
        (InsufficientSol(Pubkey.default(), 1_500_000_000), ["insufficient SOL", "1.5 SOL"]),
        (
            InsufficientUsdc(Pubkey.default(), 10_000, 2_000_000),
            ["insufficient USDC: 2 USDC needed", "holds 0.01 USDC"],
        ),
        (InsufficientUsdc(None, None, None), ["insufficient USDC"]),
        (UnknownModel("nope"), ["unknown model slug 'nope'"]),
        (ZeroDivisionError("x"), ["unexpected error: ZeroDivisionError", "BOURSE_DEBUG"]),
    ],
)
def test_describe_in_one_line(exc: BaseException, needles: list[str]) -> None:
    line = describe(exc, "http://h:1")
    assert "\n" not in line
    for needle in needles:
        assert needle in line, line


def test_guard_exits_1_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as info, guard("http://h:1"):
        raise cm.FeeAboveCap()
    assert info.value.exit_code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: fee above cap") and err.count("\n") == 1


def test_guard_debug_reraises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOURSE_DEBUG", "1")
    with pytest.raises(ZeroDivisionError), guard():
        raise ZeroDivisionError


def write_manifest(folder: Path, url: str, keypair_path: Path) -> Path:
    data = {
        "rpc_url": url,
        "usdc_mint": str(Pubkey.new_unique()),
        "usdc_token_program": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        "program_ids": {"compute_market": str(Pubkey.new_unique())},
        "pubkeys": {"settler": str(Pubkey.new_unique())},
        "keypairs": {"admin": str(keypair_path)},
    }
    path = folder / "localnet.json"
    path.write_text(json.dumps(data))
    return path


def test_manifest_only_for_its_own_url(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, "http://127.0.0.1:8899", tmp_path / "admin.json")
    found = read_manifest(path, "http://localhost:8899/")
    assert found is not None and "compute_market" in found.program_ids
    assert read_manifest(path, "http://127.0.0.1:9999") is None
    (tmp_path / "bad.json").write_text("{")
    assert read_manifest(tmp_path / "bad.json") is None
    assert read_manifest(tmp_path / "missing.json") is None


def test_keypair_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    admin_kp, other = Keypair(), Keypair()
    admin_path = tmp_path / "admin.json"
    admin_path.write_text(json.dumps(list(bytes(admin_kp))))
    other_path = tmp_path / "other.json"
    other_path.write_text(json.dumps(list(bytes(other))))
    write_manifest(tmp_path, "http://127.0.0.1:8899", admin_path)
    monkeypatch.chdir(tmp_path)

    def state(keypair: str | None) -> CliState:
        return CliState("localnet", keypair, OutputMode.json, tmp_path, None, 5.0)

    # a localnet role name
    assert state("admin").keypair().pubkey() == admin_kp.pubkey()
    assert state("admin").role("settler") is not None
    # a path
    assert state(str(other_path)).keypair().pubkey() == other.pubkey()
    # nothing given: $BOURSE_KEYPAIR first
    monkeypatch.setenv("BOURSE_KEYPAIR", str(other_path))
    assert state(None).keypair().pubkey() == other.pubkey()
    # nothing at all: the Solana CLI's default path, which does not exist here
    monkeypatch.delenv("BOURSE_KEYPAIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(KeypairError, match=r"\.config/solana/id\.json"):
        state(None).keypair()


def test_daily_series_buckets_by_utc_day() -> None:
    now = 1_700_000_000
    settled = {"gross": 1_000, "creator_fee": 80}
    entries = [
        HistoryEntry("a", 1, now, "BatchSettled", {"total": 1_000, "creator_fee": 80, "count": 3}),
        HistoryEntry("b", 1, now - DAY, "OrderSettled", {**settled, "refund": 5}),
        HistoryEntry("c", 1, now - DAY, "BuybackExecuted", {"usdc_spent": 70}),
        HistoryEntry("d", 1, now - DAY, "TokensBurned", {"amount": 9}),
        HistoryEntry("e", 1, now - 40 * DAY, "OrderSettled", settled),  # outside the window
        HistoryEntry("f", 1, None, "OrderSettled", settled),  # no block time
    ]
    days = daily_series(entries, now, 30)
    assert len(days) == 30 and days[-1].date == "2023-11-14"
    assert (days[-1].revenue, days[-1].calls) == (1_000, 3)
    assert (days[-2].revenue, days[-2].usdc_spent, days[-2].tokens_burned) == (1_000, 70, 9)
    assert sum(d.revenue for d in days) == 2_000


def test_help_lists_the_command_groups() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in (
        "demo",
        "model",
        "provider",
        "admin",
        "market",
        "order",
        "crank",
        "pool",
        "gateway",
    ):
        assert group in result.stdout


@pytest.mark.parametrize(("interrupt_ok", "code"), [(False, 130), (True, 0)])
def test_ctrl_c(interrupt_ok: bool, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as info, guard(interrupt_ok=interrupt_ok):
        raise KeyboardInterrupt
    assert info.value.exit_code == code
    assert capsys.readouterr().err == ("" if interrupt_ok else "error: interrupted\n")


# --- point 7 of issue 9: what a user tripped over -------------------------------------------

P = str(Pubkey.new_unique())


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["model", "create-token", "--decimals", "30"],
            "--decimals 30 is out of range: it must be 0 to 18",
        ),
        (
            ["model", "create-token", "--transfer-fee-bps", "70000"],
            "--transfer-fee-bps 70000 is out",
        ),
        (["model", "register", "m", "--fee-bps", "-5"], "--fee-bps -5 is out of range"),
        (["admin", "init", "--protocol-fee-bps", "-1"], "--protocol-fee-bps -1 is out"),
        (["admin", "init", "--max-model-fee-bps", "65536"], "--max-model-fee-bps 65536 is out"),
        (["admin", "update", "--cooldown", "-1"], "--cooldown -1 is out of range"),
        (["admin", "update-fees", "--protocol-fee-bps", "-3"], "--protocol-fee-bps -3 is out"),
        (["crank", "buyback", "m", "--slippage-bps", "-1"], "--slippage-bps -1 is out of range"),
        (
            ["order", "open", "m", "--provider", P, "--max-input", "-1", "--max-output", "1"],
            "--max-input -1 is out of range",
        ),
        (
            ["order", "settle", P, "--input-tokens", "1", "--output-tokens", str(2**64)],
            f"--output-tokens {2**64} is out of range",
        ),
        (
            [
                "order",
                "open",
                "m",
                "--provider",
                P,
                "--max-input",
                "1",
                "--max-output",
                "1",
                "--ttl",
                "0",
            ],
            "--ttl 0 is out of range",
        ),
        (["pool", "add", "m", "--tokens", "1", "--usdc", "1", "--fee-bps", "-1"], "--fee-bps -1"),
        (
            ["market", "list", "--status", "bogus"],
            "--status 'bogus' is not one of pending, approved",
        ),
        (["market", "list", "--watch", "--count", "0"], "--count 0 is out of range"),
        (["market", "history", "m", "--limit", "-1"], "--limit -1 is out of range"),
        (["market", "chart", "m", "--days", "0"], "--days 0 is out of range"),
        (["demo", "--orders", "1"], "--orders 1 is out of range: it must be 2 to 1,000"),
        (["--timeout", "0", "market", "list"], "--timeout must be a positive number"),
    ],
)
def test_out_of_range_options_are_one_line_errors(
    argv: list[str], needle: str, tmp_path: Path
) -> None:
    # Given an RPC URL nothing listens on and no keypair: the check comes before either
    args = ["-u", "http://127.0.0.1:9", "--localnet-dir", str(tmp_path), *argv]
    result = CliRunner().invoke(
        app, hoist_global_options(args), env={"HOME": str(tmp_path), "BOURSE_KEYPAIR": ""}
    )
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and needle in line, line
    assert "ValueError" not in line and "format requires" not in line


def test_version_of_both_commands(capsys: pytest.CaptureFixture[str]) -> None:
    expected = importlib.metadata.version("bourse-chain")
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"bourse {expected}\n"
    with pytest.raises(SystemExit) as info:
        crank_main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"bourse-crank {expected}\n"


def test_crank_help_is_plain_text() -> None:
    text = crank_parser().format_help()
    assert "bourse-crank" in text and "buyback" in text and "Exit codes" in text
    for markup in ("``", ":class:", ":func:", ".. "):
        assert markup not in text


def test_crank_reports_an_unreachable_node_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a crank config naming an RPC URL nothing listens on
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    key = tmp_path / "crank.json"
    key.write_text(json.dumps(list(bytes(Keypair()))))
    config = tmp_path / "crank.toml"
    config.write_text(f'rpc_urls = ["http://127.0.0.1:{port}"]\nkeypair = "{key}"\n')
    # When the daemon starts
    code = crank_main(["run", "--once", "--config", str(config)])
    # Then it exits 69 with a readable reason, not solana-py's "<class '...'>"
    err = capsys.readouterr().err
    assert code == 69
    assert "cannot reach the RPC endpoints: connection refused" in err, err
    assert "<class" not in err and "Traceback" not in err


def test_unreachable_reason_names_the_root_cause() -> None:
    assert "connection refused" in unreachable_reason(connect_error())
    assert "<class" not in unreachable_reason(connect_error())
    timeout = SolanaRpcException(ReadTimeout("read timed out"), connect_error, None, "GetSlot")
    timeout.__cause__ = ReadTimeout("read timed out")
    assert is_unreachable(timeout) and unreachable_reason(timeout) == "timed out (read timed out)"
    assert not is_unreachable(ValueError("x"))


def rendered(renderable: RenderableType) -> str:
    console = Console(record=True, width=240)
    console.print(renderable)
    return console.export_text()


def test_tables_show_whole_tokens_and_json_names_base_units() -> None:
    # create-token: the issue's `--supply 1000000000` printed 1,000,000,000,000,000
    created = TokenCreated(
        mint=P,
        token_program=str(Pubkey.default()),
        token_kind="token2022",
        supply=10**15,
        decimals=6,
        creator_token_account=P,
        transfer_fee_bps=100,
        transfer_fee_maximum=1_000_000_000,
        withdraw_withheld_authority=P,
        signature="sig",
    ).to_json()
    assert created["supply_base_units"] == 10**15 and "supply" not in created
    text = rendered(render_token(created))
    assert "1,000,000,000 tokens (6 decimals)" in text and "at most 1,000 tokens" in text
    assert "1,000,000,000,000,000" not in text
    # crank harvest: the 1,000,029,610,015
    harvested = CrankHarvest("m", "harvested", 1_000_029_610_015, 3, P, "", [], 6).to_json()
    assert harvested["harvested_base_units"] == 1_000_029_610_015
    text = rendered(render_harvest(harvested))
    assert "1,000,029.610015 tokens" in text and "1,000,029,610,015" not in text
    # pool add
    pool = PoolView(P, P, P, P, P, 123_456_789, 5_000_000, 30, 6).to_json()
    text = rendered(render_pool("m", pool))
    assert "123.456789 tokens" in text and "5 USDC" in text and "123,456,789" not in text
    # market history: buyback, burn and harvest events in whole tokens
    bought = _details("BuybackExecuted", {"usdc_spent": 1_500_000, "tokens_bought": 2_500_000}, 6)
    assert bought == "spent 1.5 USDC, bought 2.5 tokens"
    burned = _details("TokensBurned", {"amount": 2_500_000, "total_burned": 10**7}, 6)
    assert burned == "burned 2.5 tokens (total 10)"
    released = _details("OrderCancelled", {"refund": 164_000, "by_settler": True}, 6)
    assert released == "released by the settler: hold of 0.164 USDC refunded"


def test_demo_fees_harvested_have_a_unit_and_tokens_are_not_summed() -> None:
    flows = [
        ModelFlow("a", "spl", 800, None, tokens_burned=5_000_000, supply_before=10**15),
        ModelFlow("b", "token2022", 1_000, 100, tokens_burned=7, transfer_fees_harvested=12_345),
    ]
    parties = {
        "payer": {"paid": 0},
        "gateway": {"paid": 0},
        "provider": {"received": 0},
        "revenue_vaults": {"received": 0, "spent_on_buyback": 0},
        "treasury": {"received": 0},
        "escrow": {"left": 0},
    }
    data = DemoReport(models=flows, parties=parties, checks={"x": True}).to_json()
    assert [m["tokens_burned_base_units"] for m in data["models"]] == [5_000_000, 7]
    assert data["models"][1]["transfer_fees_harvested_base_units"] == 12_345
    assert all(m["token_decimals"] == 6 for m in data["models"])
    assert "tokens_burned" not in data["totals"]
    assert "transfer_fees_harvested" not in data["totals"]
    text = rendered(render_report(data))
    assert "fees harvested (tokens)" in text and "0.012345" in text


def test_order_table_shows_usdc_prices_and_times() -> None:
    view = OrderView(P, P, P, P, P, 7, 164_000, 270_000, 1_100_000, 1_700_000_000, 1_700_000_600)
    text = rendered(render_order(view.to_json()))
    assert "0.164 USDC" in text and "0.27 USDC per 1M tokens" in text
    assert "1.1 USDC per 1M tokens" in text and "2023-11-14 22:23:20 UTC" in text
    assert "270,000" not in text and "1,700,000,000" not in text


def test_model_status_table_in_tokens_json_in_named_base_units() -> None:
    view = ModelView(
        "m",
        P,
        "approved",
        P,
        800,
        "",
        "token2022",
        P,
        P,
        P,
        P,
        vault_balance=1_500_000,
        buyback_vault_balance=2_000_000,
        volume=10**7,
        creator_fees=800_000,
        protocol_fees=100_000,
        provider_payouts=9_100_000,
        settlements=3,
        usdc_spent=700_000,
        tokens_bought=3_000_000,
        tokens_burned=1_000_000,
        supply=10**15,
        token_decimals=6,
        last_buyback_ts=0,
        created_at=0,
    ).to_json()
    assert view["supply_base_units"] == 10**15 and "supply" not in view
    assert view["buyback_vault_balance_base_units"] == 2_000_000
    text = rendered(render_model(view))
    assert "1,000,000,000" in text and "1,000,000,000,000,000" not in text
    assert re.search(r"buyback vault +2 tokens", text) and "1.5 USDC" in text
