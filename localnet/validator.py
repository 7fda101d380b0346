"""The ``solana-test-validator`` backend: same fixtures, a real validator.

Programs are loaded with ``--upgradeable-program <id> <so> <admin>``; the funded keypairs,
the USDC mint and the ATAs with ``--account <pubkey> <file>`` (files exported from the same
fixture build the embedded backend runs). The process is started in its own session, watched
until ``getHealth`` answers ``ok``, and stopped by its PID (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from localnet.fixtures import Fixtures, export_accounts

log = logging.getLogger(__name__)

VALIDATOR_BINARY = "solana-test-validator"
HEALTH_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0


class ValidatorError(RuntimeError):
    """The validator did not start (or died)."""


def validator_path() -> str | None:
    return shutil.which(VALIDATOR_BINARY)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port_pair(host: str = "127.0.0.1") -> int:
    """A port ``p`` with ``p + 1`` also free (RPC and its websocket)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port < 65535 and _port_free(host, port + 1):
            return port
    raise ValidatorError("no free port pair found")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ValidatorProcess:
    pid: int
    rpc_url: str
    ws_url: str
    log_path: Path


def build_command(
    binary: str,
    fixtures: Fixtures,
    accounts: list[tuple[object, Path]],
    *,
    ledger: Path,
    host: str,
    rpc_port: int,
    faucet_port: int,
    gossip_port: int,
) -> list[str]:
    admin = str(fixtures.keypairs["admin"].pubkey())
    cmd = [
        binary,
        "--ledger", str(ledger),
        "--reset",
        "--quiet",
        "--bind-address", host,
        "--rpc-port", str(rpc_port),
        "--faucet-port", str(faucet_port),
        "--gossip-port", str(gossip_port),
    ]  # fmt: skip
    for spec in fixtures.programs:
        if spec.built:
            cmd += ["--upgradeable-program", str(spec.program_id), str(spec.so_path), admin]
    for pubkey, path in accounts:
        cmd += ["--account", str(pubkey), str(path)]
    return cmd


def _log_tail(path: Path, size: int = 2000) -> str:
    return path.read_text(errors="replace")[-size:] if path.exists() else ""


async def _wait_healthy(
    proc: asyncio.subprocess.Process, url: str, log_path: Path, limit: float
) -> None:
    deadline = time.monotonic() + limit
    body = {"jsonrpc": "2.0", "id": 1, "method": "getHealth"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                tail = _log_tail(log_path)
                raise ValidatorError(f"{VALIDATOR_BINARY} exited with {proc.returncode}\n{tail}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.post(url, json=body) as resp:
                    if (await resp.json(content_type=None)).get("result") == "ok":
                        return
            await asyncio.sleep(0.25)
    raise ValidatorError(f"{VALIDATOR_BINARY} not healthy after {limit:.0f} s (log: {log_path})")


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    log.info("stopping %s (pid %d)", VALIDATOR_BINARY, proc.pid)
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


@contextlib.asynccontextmanager
async def run_validator(
    fixtures: Fixtures,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    binary: str | None = None,
    health_timeout: float = HEALTH_TIMEOUT,
) -> AsyncIterator[ValidatorProcess]:
    """Start ``solana-test-validator`` with the fixtures; stop it (by PID) on exit."""
    exe = binary or validator_path()
    if exe is None:
        raise ValidatorError(f"{VALIDATOR_BINARY} not found on PATH")
    workdir = fixtures.workdir
    accounts = export_accounts(fixtures, workdir / "accounts")
    rpc_port = port or free_port_pair(host)
    cmd = build_command(
        exe,
        fixtures,
        list(accounts),
        ledger=workdir / "test-ledger",
        host=host,
        rpc_port=rpc_port,
        faucet_port=free_port(host),
        gossip_port=free_port(host),
    )
    log_path = workdir / "validator.log"
    with log_path.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=log_file, stderr=asyncio.subprocess.STDOUT, start_new_session=True
        )
    rpc_url = f"http://{host}:{rpc_port}"
    try:
        await _wait_healthy(proc, rpc_url, log_path, health_timeout)
        yield ValidatorProcess(proc.pid, rpc_url, f"ws://{host}:{rpc_port + 1}", log_path)
    finally:
        await _stop(proc)
