"""The ``solana-test-validator`` backend.

Tests that need the real binary are skipped when it is not on PATH. The process handling
(start, wait for health, stop by PID) is also exercised with a stand-in executable that
serves the embedded localnet on the port it is given, and the ``--account`` files are checked
against the embedded chain's state.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from solders.pubkey import Pubkey

from bourse_chain.token_layout import token_amount
from localnet import Localnet
from localnet.chain import Chain
from localnet.fixtures import (
    ROLES,
    USDC_PER_ROLE,
    build_state,
    default_programs_dir,
    export_accounts,
    prepare,
)
from localnet.validator import build_command, run_validator, validator_path

REPO = Path(__file__).resolve().parents[2]
needs_validator = pytest.mark.skipif(
    validator_path() is None, reason="solana-test-validator is not on PATH"
)


def test_account_files_match_the_embedded_state(tmp_path: Path) -> None:
    # Given the fixtures exported as --account files
    fixtures = prepare(tmp_path, default_programs_dir())
    files = export_accounts(fixtures, tmp_path / "accounts")
    # and the same fixtures built on an embedded chain
    chain = Chain()
    build_state(chain, fixtures, deploy=False)
    # Then every file holds exactly the embedded account
    assert len(files) == len(ROLES) * 2 + 1
    for pubkey, path in files:
        doc = json.loads(path.read_text())
        assert doc["pubkey"] == str(pubkey)
        account = chain.get_account(pubkey)
        assert account is not None
        assert doc["account"]["owner"] == str(account.owner)
        assert doc["account"]["space"] == len(account.data)
        assert doc["account"]["data"][1] == "base64"
        if pubkey in fixtures.usdc_accounts.values():
            import base64

            raw = base64.b64decode(doc["account"]["data"][0])
            assert token_amount(raw) == USDC_PER_ROLE


def test_command_line(tmp_path: Path) -> None:
    fixtures = prepare(tmp_path, default_programs_dir())
    accounts: list[tuple[object, Path]] = [(Pubkey.new_unique(), tmp_path / "a.json")]
    cmd = build_command(
        "solana-test-validator", fixtures, accounts, ledger=tmp_path / "ledger",
        host="127.0.0.1", rpc_port=18899, faucet_port=19900, gossip_port=18000,
    )  # fmt: skip
    assert cmd[:2] == ["solana-test-validator", "--ledger"]
    assert "--reset" in cmd and cmd[cmd.index("--rpc-port") + 1] == "18899"
    admin = str(fixtures.keypairs["admin"].pubkey())
    for name, program_id in fixtures.program_ids.items():
        at = cmd.index(str(program_id))
        assert cmd[at - 1] == "--upgradeable-program", name
        assert cmd[at + 1].endswith(f"{name}.so") and cmd[at + 2] == admin
    assert cmd[-3:] == ["--account", str(accounts[0][0]), str(tmp_path / "a.json")]


def _stand_in(folder: Path) -> Path:
    """An executable that takes the validator's flags and serves the embedded localnet."""
    script = folder / "fake-test-validator"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, os\n"
        "args = sys.argv[1:]\n"
        "port = args[args.index('--rpc-port') + 1]\n"
        "ledger = args[args.index('--ledger') + 1]\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from localnet.__main__ import main\n"
        "sys.exit(main(['--backend', 'embedded', '--port', port, '--dir', ledger]))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


async def test_process_lifecycle_with_a_stand_in(tmp_path: Path) -> None:
    fixtures = prepare(tmp_path / "net", default_programs_dir())
    binary = str(_stand_in(tmp_path))
    async with run_validator(fixtures, binary=binary, health_timeout=30) as proc:
        assert proc.rpc_url.startswith("http://127.0.0.1:")
        os.kill(proc.pid, 0)  # running
        pid = proc.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.optional_backend  # CI does not install solana-test-validator
@needs_validator
async def test_validator_backend_serves_the_fixtures(tmp_path: Path) -> None:
    async with Localnet.start(port=0, workdir=tmp_path, backend="validator") as net:
        assert net.backend == "validator" and net.ws_url is not None
        assert await net.rpc("getHealth") == "ok"
        for role in ROLES:
            balance = await net.rpc("getTokenAccountBalance", [str(net.usdc_accounts[role])])
            assert int(balance["value"]["amount"]) == USDC_PER_ROLE
        for program_id in net.program_ids.values():
            info = await net.rpc("getAccountInfo", [str(program_id), {"encoding": "base64"}])
            assert info["value"]["executable"]
        who = Pubkey.new_unique()
        await net.airdrop(who, 10**9)
        ata = await net.mint_usdc(who, 1_000)
        balance = await net.rpc("getTokenAccountBalance", [str(ata)])
        assert balance["value"]["amount"] == "1000"
        with pytest.raises(NotImplementedError):
            await net.warp_time(10)
