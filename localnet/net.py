"""``Localnet``: start a chain with its fixtures, serve JSON-RPC, hand out what clients need.

    async with Localnet.start(port=0, workdir=tmp, backend="embedded") as net:
        net.rpc_url, net.keypairs["admin"], net.usdc_mint, net.program_ids
        await net.airdrop(pubkey, 10**9)
        await net.mint_usdc(owner, 5_000_000)
        await net.warp_time(3600)          # embedded only

From synchronous code, ``with Localnet.start_in_thread(...) as net:`` runs the same thing on
a background thread's event loop; its helpers are then plain (blocking) calls.
The helpers speak JSON-RPC, so apart from ``warp_time`` they work on both backends.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import logging
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiohttp
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from localnet import spl
from localnet.chain import DEFAULT_DEPTHS, Chain
from localnet.fixtures import Fixtures, build_state, default_programs_dir, prepare
from localnet.pubsub.server import PubSubServer
from localnet.rpc import RpcServer
from localnet.validator import run_validator, validator_path

log = logging.getLogger(__name__)

Backend = Literal["auto", "embedded", "validator"]
T = TypeVar("T")
CONFIRM_TIMEOUT = 30.0
PORT_PAIR_TRIES = 20


class LocalnetRpcError(RuntimeError):
    """A JSON-RPC call made by a helper returned an error object."""

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        super().__init__(f"{method}: {error.get('message')} ({error.get('code')})")
        self.error = error


async def start_servers(chain: Chain, host: str, port: int) -> tuple[RpcServer, PubSubServer]:
    """JSON-RPC on ``port`` and PubSub on ``port + 1`` (a validator's layout). ``port=0``
    picks a free port whose successor is free too (a bounded number of tries)."""
    for attempt in range(PORT_PAIR_TRIES):
        server = RpcServer(chain, host, port)
        await server.start()
        pubsub = PubSubServer(chain, host, server.port + 1)
        try:
            await pubsub.start()
        except OSError:
            await server.close()
            if port != 0 or attempt == PORT_PAIR_TRIES - 1:
                raise
            continue
        chain.endpoints = {"rpc": f"{host}:{server.port}", "pubsub": f"{host}:{pubsub.port}"}
        return server, pubsub
    raise OSError("no free port pair")  # pragma: no cover - the loop returns or raises


def resolve_backend(backend: Backend) -> Literal["embedded", "validator"]:
    if backend == "auto":
        return "validator" if validator_path() is not None else "embedded"
    if backend not in ("embedded", "validator"):
        raise ValueError(f"unknown backend {backend!r}")
    return backend


@dataclass
class Localnet:
    """A running localnet (either backend). Create it with ``start`` / ``start_in_thread``."""

    rpc_url: str
    ws_url: str | None
    backend: str
    fixtures: Fixtures
    manifest_path: Path
    chain: Chain | None = None
    pubsub: PubSubServer | None = None
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    # ------------------------------------------------------------- accessors
    @property
    def workdir(self) -> Path:
        return self.fixtures.workdir

    @property
    def keypairs(self) -> dict[str, Keypair]:
        return self.fixtures.keypairs

    @property
    def keypair_paths(self) -> dict[str, Path]:
        return self.fixtures.keypair_paths

    @property
    def usdc_mint(self) -> Pubkey:
        return self.fixtures.usdc_mint

    @property
    def usdc_accounts(self) -> dict[str, Pubkey]:
        return self.fixtures.usdc_accounts

    @property
    def program_ids(self) -> dict[str, Pubkey]:
        return self.fixtures.program_ids

    # --------------------------------------------------------------- startup
    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        *,
        port: int = 0,
        workdir: str | Path | None = None,
        backend: Backend = "embedded",
        host: str = "127.0.0.1",
        programs_dir: str | Path | None = None,
        depths: tuple[int, int] = DEFAULT_DEPTHS,
    ) -> AsyncIterator[Localnet]:
        """Start a localnet; ``port=0`` picks a free port; no ``workdir``: a temporary one.
        ``depths``: slots until a transaction is confirmed / finalized (embedded backend)."""
        chosen = resolve_backend(backend)
        with contextlib.ExitStack() as stack:
            if workdir is None:
                workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="localnet-"))
            progs = Path(programs_dir) if programs_dir is not None else default_programs_dir()
            fixtures = prepare(Path(workdir), progs)
            if chosen == "embedded":
                async with cls._embedded(fixtures, host, port, depths) as net:
                    yield net
            else:
                async with cls._validator(fixtures, host, port) as net:
                    yield net

    @classmethod
    @contextlib.asynccontextmanager
    async def _embedded(
        cls, fixtures: Fixtures, host: str, port: int, depths: tuple[int, int]
    ) -> AsyncIterator[Localnet]:
        started = time.perf_counter()
        chain = Chain(depths=depths)
        build_state(chain, fixtures)
        server, pubsub = await start_servers(chain, host, port)
        manifest = fixtures.write_manifest(
            rpc_url=server.url, backend="embedded", ws_url=pubsub.url
        )
        net = cls(server.url, pubsub.url, "embedded", fixtures, manifest, chain, pubsub)
        log.info(
            "embedded localnet ready in %.3f s at %s (PubSub %s)",
            time.perf_counter() - started,
            net.rpc_url,
            net.ws_url,
        )
        try:
            yield net
        finally:
            await net.aclose()
            await pubsub.close()
            await server.close()

    @classmethod
    @contextlib.asynccontextmanager
    async def _validator(cls, fixtures: Fixtures, host: str, port: int) -> AsyncIterator[Localnet]:
        async with run_validator(fixtures, host=host, port=port) as proc:
            manifest = fixtures.write_manifest(
                rpc_url=proc.rpc_url,
                backend="validator",
                ws_url=proc.ws_url,
                extra={"validator_pid": proc.pid, "validator_log": str(proc.log_path)},
            )
            net = cls(proc.rpc_url, proc.ws_url, "validator", fixtures, manifest)
            try:
                yield net
            finally:
                await net.aclose()

    @classmethod
    @contextlib.contextmanager
    def start_in_thread(
        cls,
        *,
        port: int = 0,
        workdir: str | Path | None = None,
        backend: Backend = "embedded",
        host: str = "127.0.0.1",
        programs_dir: str | Path | None = None,
        timeout: float = 180.0,
        depths: tuple[int, int] = DEFAULT_DEPTHS,
    ) -> Iterator[ThreadedLocalnet]:
        """Run the localnet on a background thread (for synchronous callers)."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        box: dict[str, Any] = {}

        async def serve() -> None:
            stop = asyncio.Event()
            box["stop"] = stop
            try:
                async with cls.start(
                    port=port, workdir=workdir, backend=backend, host=host,
                    programs_dir=programs_dir, depths=depths,
                ) as net:  # fmt: skip
                    box["net"] = net
                    ready.set()
                    await stop.wait()
            except BaseException as exc:
                box["error"] = exc
                raise
            finally:
                ready.set()

        def run() -> None:
            asyncio.set_event_loop(loop)
            with contextlib.suppress(BaseException):
                loop.run_until_complete(serve())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        thread = threading.Thread(target=run, name="localnet", daemon=True)
        thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("localnet did not start in time")
        if "error" in box:
            thread.join(timeout)
            raise RuntimeError("localnet failed to start") from box["error"]
        try:
            yield ThreadedLocalnet(box["net"], loop)
        finally:
            loop.call_soon_threadsafe(box["stop"].set)
            thread.join(timeout)

    # ---------------------------------------------------------------- RPC
    async def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        """One JSON-RPC call; raises LocalnetRpcError on an error object."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params or []}
        async with self._session.post(self.rpc_url, json=body) as resp:
            reply = await resp.json(content_type=None)
        if "error" in reply:
            raise LocalnetRpcError(method, reply["error"])
        return reply["result"]

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def confirm(self, signature: Signature | str) -> None:
        """Wait (up to CONFIRM_TIMEOUT) until the transaction is confirmed; raise if it failed."""
        async with asyncio.timeout(CONFIRM_TIMEOUT):
            while True:
                status = (await self.rpc("getSignatureStatuses", [[str(signature)]]))["value"][0]
                if status is not None and status.get("confirmationStatus") in (
                    "confirmed",
                    "finalized",
                ):
                    if status["err"] is not None:
                        raise LocalnetRpcError("confirm", {"message": str(status["err"])})
                    return
                await asyncio.sleep(0.05 if self.backend == "embedded" else 0.25)

    async def send(self, instructions: list[Instruction], payer: Keypair, *signers: Keypair) -> str:
        """Sign with ``payer`` (+ ``signers``), send with preflight, wait for confirmation."""
        latest = (await self.rpc("getLatestBlockhash", [{"commitment": "confirmed"}]))["value"]
        message = Message.new_with_blockhash(
            instructions, payer.pubkey(), Hash.from_string(latest["blockhash"])
        )
        unique = {kp.pubkey(): kp for kp in (payer, *signers)}
        tx = VersionedTransaction(message, list(unique.values()))
        encoded = base64.b64encode(bytes(tx)).decode()
        signature: str = await self.rpc(
            "sendTransaction", [encoded, {"encoding": "base64", "preflightCommitment": "confirmed"}]
        )
        await self.confirm(signature)
        return signature

    # ------------------------------------------------------------- helpers
    async def airdrop(self, pubkey: Pubkey, lamports: int) -> str:
        signature: str = await self.rpc("requestAirdrop", [str(pubkey), lamports])
        await self.confirm(signature)
        return signature

    async def mint_usdc(self, owner: Pubkey, amount: int) -> Pubkey:
        """Mint ``amount`` micro-USDC to ``owner``'s ATA (created if needed); returns the ATA."""
        authority = self.keypairs["mint_authority"]
        ata = spl.get_associated_token_address(owner, self.usdc_mint)
        await self.send(
            [
                spl.create_associated_token_account_idempotent(
                    authority.pubkey(), owner, self.usdc_mint
                ),
                spl.mint_to(self.usdc_mint, ata, authority.pubkey(), amount),
            ],
            authority,
        )
        return ata

    def deploy_program(self, program: Keypair, so_bytes: bytes) -> Pubkey:
        """Deploy an extra program (admin = payer and upgrade authority; embedded only)."""
        if self.chain is None:
            raise NotImplementedError("deploy_program needs the embedded backend")
        admin = self.keypairs["admin"]
        self.chain.deploy(admin, program, so_bytes, admin)
        return program.pubkey()

    async def warp_time(self, seconds: float) -> dict[str, int]:
        """Let ``seconds`` pass on the chain clock (embedded backend only)."""
        if self.backend != "embedded":
            raise NotImplementedError("warp_time needs the embedded backend")
        clock: dict[str, int] = await self.rpc("bourse_warpTime", [seconds])
        return clock


class ThreadedLocalnet:
    """A ``Localnet`` running on a background thread, with blocking helpers."""

    def __init__(self, net: Localnet, loop: asyncio.AbstractEventLoop) -> None:
        self.net = net
        self._loop = loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        """Run a coroutine on the localnet's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @property
    def rpc_url(self) -> str:
        return self.net.rpc_url

    @property
    def ws_url(self) -> str | None:
        return self.net.ws_url

    @property
    def backend(self) -> str:
        return self.net.backend

    @property
    def workdir(self) -> Path:
        return self.net.workdir

    @property
    def manifest_path(self) -> Path:
        return self.net.manifest_path

    @property
    def keypairs(self) -> dict[str, Keypair]:
        return self.net.keypairs

    @property
    def keypair_paths(self) -> dict[str, Path]:
        return self.net.keypair_paths

    @property
    def usdc_mint(self) -> Pubkey:
        return self.net.usdc_mint

    @property
    def usdc_accounts(self) -> dict[str, Pubkey]:
        return self.net.usdc_accounts

    @property
    def program_ids(self) -> dict[str, Pubkey]:
        return self.net.program_ids

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        return self.run(self.net.rpc(method, params))

    def airdrop(self, pubkey: Pubkey, lamports: int) -> str:
        return self.run(self.net.airdrop(pubkey, lamports))

    def mint_usdc(self, owner: Pubkey, amount: int) -> Pubkey:
        return self.run(self.net.mint_usdc(owner, amount))

    def warp_time(self, seconds: float) -> dict[str, int]:
        return self.run(self.net.warp_time(seconds))
