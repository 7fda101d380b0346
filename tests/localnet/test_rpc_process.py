"""Starting and stopping the localnet: ``python -m localnet`` as a subprocess (ready, clean
exit on Ctrl-C / SIGTERM), the in-process API, and the background-thread API. How fast it
starts and stops is measured by ``python -m benchmarks.startup``, not asserted here."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from localnet import Localnet

REPO = Path(__file__).resolve().parents[2]


def _port_open(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


def _spawn(workdir: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "localnet", "--port", "0", "--dir", str(workdir),
         "--backend", "embedded"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert proc.stdout is not None
    lines = []
    while True:
        line = proc.stdout.readline()
        if not line:
            _, err = proc.communicate(timeout=5)
            pytest.fail(f"localnet exited early: {err}")
        lines.append(line)
        if line.startswith("manifest:"):
            break
    url = lines[0].split(": ", 1)[1].strip()
    return proc, url


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_cli_starts_and_exits_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    # Given `python -m localnet` started as a subprocess
    proc, url = _spawn(tmp_path)
    try:
        # Then it is serving and describing itself in the manifest
        assert _port_open(url)
        manifest = json.loads((tmp_path / "localnet.json").read_text())
        assert manifest["rpc_url"] == url and manifest["backend"] == "embedded"
        assert set(manifest["keypairs"]) >= {"admin", "settler", "crank", "payer"}
        # When interrupted
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Then it exits 0 without a traceback, and the port is closed
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "localnet stopped" in out
    assert not _port_open(url)


def test_restart_reuses_keypairs(tmp_path: Path) -> None:
    proc, _ = _spawn(tmp_path)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    first = json.loads((tmp_path / "localnet.json").read_text())
    proc, _ = _spawn(tmp_path)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    second = json.loads((tmp_path / "localnet.json").read_text())
    assert first["pubkeys"] == second["pubkeys"]
    assert first["usdc_mint"] == second["usdc_mint"]


async def test_in_process_start_stop(tmp_path: Path) -> None:
    async with Localnet.start(port=0, workdir=tmp_path, backend="embedded") as net:
        assert await net.rpc("getHealth") == "ok"
        url = net.rpc_url
        assert _port_open(url)
    assert not _port_open(url)


async def test_default_workdir_is_temporary() -> None:
    async with Localnet.start(port=0) as net:
        workdir = net.workdir
        assert (workdir / "localnet.json").exists()
    assert not workdir.exists()


def test_start_in_thread_for_sync_callers(tmp_path: Path) -> None:
    from solders.keypair import Keypair

    with Localnet.start_in_thread(port=0, workdir=tmp_path, backend="embedded") as net:
        who = Keypair().pubkey()
        net.airdrop(who, 7 * 10**9)
        assert net.rpc("getBalance", [str(who)])["value"] == 7 * 10**9
        ata = net.mint_usdc(who, 42)
        assert net.rpc("getTokenAccountBalance", [str(ata)])["value"]["amount"] == "42"
        clock = net.warp_time(120)
        assert clock["unixTimestamp"] > 0
        url = net.rpc_url
        assert (
            net.keypairs["admin"].pubkey()
            == Keypair.from_bytes(
                bytes(json.loads(net.keypair_paths["admin"].read_text()))
            ).pubkey()
        )
    assert not _port_open(url)


def test_missing_programs_are_skipped(tmp_path: Path) -> None:
    programs = tmp_path / "programs"
    (programs / "keys").mkdir(parents=True)
    from solders.keypair import Keypair

    keypair = list(bytes(Keypair()))
    (programs / "keys" / "ghost-keypair.json").write_text(json.dumps(keypair))
    with Localnet.start_in_thread(
        port=0, workdir=tmp_path / "net", backend="embedded", programs_dir=programs
    ) as net:
        assert net.program_ids == {}
        manifest = json.loads(net.manifest_path.read_text())
        assert manifest["missing_programs"] == ["ghost"]
