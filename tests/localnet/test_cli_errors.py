"""Failures speak the user's language: one line on stderr, exit code 1, no traceback.

Missing keypair, insufficient SOL, insufficient USDC, unknown model slug, fee above cap and
an unreachable RPC node, plus a few others (not initialized, not authorized, bad cluster).
Runs on its own localnet: the market starts uninitialized here.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from solders.keypair import Keypair

from bourse_ops.sandbox.svm_chain import BIN
from localnet import Localnet
from localnet.net import ThreadedLocalnet
from tests.support.cli import Bourse, Run

pytestmark = pytest.mark.skipif(
    not (BIN / "compute_market.so").exists(), reason="programs not built (python -m program.build)"
)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedLocalnet]:
    with Localnet.start_in_thread(port=0, workdir=tmp_path_factory.mktemp("cli-errors")) as n:
        yield n


@pytest.fixture(scope="module")
def bourse(net: ThreadedLocalnet, tmp_path_factory: pytest.TempPathFactory) -> Bourse:
    # HOME without a Solana CLI config: no default keypair exists.
    home = tmp_path_factory.mktemp("home")
    return Bourse(net.rpc_url, net.workdir, env={"HOME": str(home), "BOURSE_KEYPAIR": ""})


def write_keypair(path: Path, keypair: Keypair) -> Path:
    path.write_text(json.dumps(list(bytes(keypair))))
    path.chmod(0o600)
    return path


def one_line_error(run: Run, *needles: str) -> str:
    """Exit 1, nothing on stdout, exactly one line on stderr containing every needle."""
    assert run.code == 1, (run.code, run.result.output)
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in run.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_not_initialized_then_init(bourse: Bourse) -> None:
    one_line_error(
        bourse("model", "register", "m", "--fee-bps", "100", keypair="creator"),
        "not initialized",
        "bourse admin init",
    )
    assert bourse("admin", "init", keypair="admin").json()["protocol_fee_bps"] == 100
    assert bourse("model", "register", "listed", "--fee-bps", "100", keypair="creator").code == 0
    assert bourse("admin", "approve", "listed", keypair="admin").code == 0
    assert bourse("provider", "register", "P", keypair="provider").code == 0
    assert (
        bourse(
            "provider", "offer", "listed", "--input-price", "1", "--output-price", "1",
            keypair="provider",
        ).code
        == 0
    )  # fmt: skip


@pytest.mark.parametrize("output", ["json", "table"])
def test_missing_keypair(bourse: Bourse, tmp_path: Path, output: str) -> None:
    # An explicit path that does not exist
    missing = tmp_path / "nope" / "id.json"
    one_line_error(
        bourse("provider", "register", "x", keypair=missing, output=output),
        "missing keypair",
        str(missing),
        "--keypair",
    )
    # No --keypair, no $BOURSE_KEYPAIR, no Solana CLI config: the CLI's default path is named
    one_line_error(
        bourse("provider", "register", "x", output=output),
        "missing keypair",
        ".config/solana/id.json",
    )
    # A file that is not a keypair
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    line = one_line_error(
        bourse("admin", "approve", "listed", keypair=bad), "invalid keypair", "bad.json"
    )
    assert line.startswith("error: invalid keypair: ")


def test_insufficient_sol(net: ThreadedLocalnet, bourse: Bourse, tmp_path: Path) -> None:
    # Given a keypair with no SOL at all
    broke = Keypair()
    path = write_keypair(tmp_path / "broke.json", broke)
    line = one_line_error(
        bourse("provider", "register", "Broke", keypair=path),
        "insufficient SOL",
        str(broke.pubkey()),
    )
    assert "holds 0 SOL" in line
    # Given one with enough for the fee but not for the provider account's rent
    poor = Keypair()
    net.airdrop(poor.pubkey(), 1_000_000)
    path = write_keypair(tmp_path / "poor.json", poor)
    one_line_error(
        bourse("provider", "register", "Poor", keypair=path, output="table"),
        "insufficient SOL",
        "0.00",
    )


def test_insufficient_usdc(net: ThreadedLocalnet, bourse: Bourse, tmp_path: Path) -> None:
    # Given a payer with SOL but only 0.01 USDC
    payer = Keypair()
    net.airdrop(payer.pubkey(), 10**9)
    net.mint_usdc(payer.pubkey(), 10_000)
    path = write_keypair(tmp_path / "payer.json", payer)
    provider = str(net.keypairs["provider"].pubkey())
    # When it opens an order whose hold is 2 USDC
    one_line_error(
        bourse(
            "order", "open", "listed", "--provider", provider, "--max-input", "1000000",
            "--max-output", "1000000", keypair=path,
        ),
        "insufficient USDC",
        "2 USDC needed",
        "holds 0.01 USDC",
    )  # fmt: skip
    # A settler collecting more than its account holds
    settler = Keypair()
    net.airdrop(settler.pubkey(), 10**9)
    one_line_error(
        bourse(
            "order", "pay", "listed", "--provider", provider, "--amount", "5", "--id", "p1",
            keypair=write_keypair(tmp_path / "s.json", settler), output="table",
        ),
        "insufficient USDC",
    )  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ("model", "status", "no-such-model"),
        ("market", "history", "no-such-model"),
        ("market", "chart", "no-such-model"),
        ("admin", "approve", "no-such-model"),
        ("model", "status", "x" * 40),
    ],
)
def test_unknown_model(bourse: Bourse, args: tuple[str, ...]) -> None:
    one_line_error(bourse(*args, keypair="admin"), "unknown model slug", args[-1][:20])


def test_unknown_model_offer(bourse: Bourse) -> None:
    one_line_error(
        bourse(
            "provider", "offer", "nope", "--input-price", "1", "--output-price", "1",
            keypair="provider", output="table",
        ),
        "unknown model slug 'nope'",
    )  # fmt: skip


def test_fee_above_cap(bourse: Bourse) -> None:
    one_line_error(
        bourse("admin", "update-fees", "--protocol-fee-bps", "501", keypair="admin"),
        "fee above cap",
        "501 bps",
        "500 bps",
    )
    one_line_error(
        bourse("model", "register", "greedy", "--fee-bps", "3001", keypair="creator"),
        "fee above cap",
        "creator fee",
        "3000 bps",
    )
    assert bourse("admin", "config").json()["protocol_fee_bps"] == 100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("output", ["json", "table"])
def test_rpc_unreachable(tmp_path: Path, output: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    bourse = Bourse(url, tmp_path)
    one_line_error(bourse("market", "list", output=output), "cannot reach the RPC node", url)
    one_line_error(bourse("model", "status", "x"), "cannot reach the RPC node", "refused")


def test_other_failures(bourse: Bourse, net: ThreadedLocalnet, tmp_path: Path) -> None:
    # not the admin
    one_line_error(bourse("admin", "delist", "listed", keypair="creator"), "not authorized")
    # initialized twice
    one_line_error(bourse("admin", "init", keypair="admin"), "already initialized")
    # a cluster name that does not exist
    one_line_error(bourse.raw("-u", "moon", "market", "list"), "not a cluster name")
    # a price with too many decimals
    one_line_error(
        bourse(
            "provider", "offer", "listed", "--input-price", "0.0000001", "--output-price", "1",
            keypair="provider",
        ),
        "more than 6 decimals",
    )  # fmt: skip
    # tokenizing with something that is not a mint
    one_line_error(
        bourse("model", "tokenize", "listed", "--mint", str(Keypair().pubkey()), keypair="creator"),
        "not a mint",
    )
    # tokenizing with a mint the admin did not approve ('listed' was approved without one)
    mint = bourse("model", "create-token", "--supply", "1000", keypair="creator").json()["mint"]
    one_line_error(
        bourse("model", "tokenize", "listed", "--mint", mint, keypair="creator"),
        "approved 'listed' with no mint",
        f"bourse admin approve listed --mint {mint}",
    )
    # a bad address
    one_line_error(bourse("provider", "status", "xyz"), "not a base58 public key")
