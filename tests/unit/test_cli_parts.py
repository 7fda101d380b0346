"""The command line's pure parts: global options anywhere, amounts, error messages, the
localnet manifest, keypair resolution, the chart's daily buckets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from httpx import ConnectError
from solana.exceptions import SolanaRpcException
from solana.rpc.core import RPCException
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from typer.testing import CliRunner

from bourse_chain.errors import TransactionFailed
from bourse_chain.generated.compute_market import errors as cm
from bourse_chain.keys import KeypairError
from bourse_cli.app import app, hoist_global_options
from bourse_cli.context import CliState
from bourse_cli.errors import describe, guard
from bourse_cli.output import OutputMode
from bourse_ops import admin
from bourse_ops.common import format_amount, parse_amount, read_manifest
from bourse_ops.errors import InsufficientSol, InsufficientUsdc, InvalidInput, UnknownModel
from bourse_ops.market_view import HistoryEntry, daily_series
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
        (KeypairError("keypair file not found: /x.json"), ["missing keypair", "/x.json"]),
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
    for group in ("demo", "model", "provider", "admin", "market", "order", "crank", "pool"):
        assert group in result.stdout


def test_demo_refuses_bad_sizes() -> None:
    result = CliRunner().invoke(app, ["demo", "--orders", "1"])
    assert result.exit_code == 1 and result.stderr.startswith("error: --orders")


@pytest.mark.parametrize(("interrupt_ok", "code"), [(False, 130), (True, 0)])
def test_ctrl_c(interrupt_ok: bool, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as info, guard(interrupt_ok=interrupt_ok):
        raise KeyboardInterrupt
    assert info.value.exit_code == code
    assert capsys.readouterr().err == ("" if interrupt_ok else "error: interrupted\n")
