"""The global options, resolved like the Solana CLI: ``--url`` and ``--keypair`` default to
the Solana CLI config (``~/.config/solana/cli/config.yml``); on a localnet the manifest
(``<localnet-dir>/localnet.json``) adds the USDC mint, the program ids and the fixture
keypairs (``-k admin`` names the manifest's ``admin`` keypair)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import typer
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.cluster import CliConfig, load_cli_config, resolve_cluster
from bourse_chain.keys import KeypairError, load_keypair
from bourse_cli.errors import guard
from bourse_cli.output import Output, OutputMode
from bourse_ops.common import LocalnetManifest, Session, read_manifest

T = TypeVar("T")
DEFAULT_LOCALNET_DIR = Path(".localnet")
MANIFEST_NAME = "localnet.json"


@dataclass
class CliState:
    """What the global options say; commands get it from ``ctx.obj``."""

    url_option: str | None
    keypair_option: str | None
    output_mode: OutputMode
    localnet_dir: Path
    config_path: Path | None
    timeout: float

    @cached_property
    def out(self) -> Output:
        return Output(self.output_mode)

    @cached_property
    def cli_config(self) -> CliConfig:
        with guard():
            return load_cli_config(self.config_path)

    @cached_property
    def url(self) -> str:
        with guard():
            return resolve_cluster(self.url_option or self.cli_config.json_rpc_url).url

    @cached_property
    def manifest(self) -> LocalnetManifest | None:
        return read_manifest(self.localnet_dir / MANIFEST_NAME, self.url)

    def keypair(self) -> Keypair:
        """The signer: ``--keypair`` (a path, a JSON array, base58, ``env:VAR``, or a localnet
        manifest role such as ``admin``), else ``$BOURSE_KEYPAIR``, else the CLI config's."""
        option = self.keypair_option
        roles = self.manifest.keypairs if self.manifest is not None else {}
        if option is not None and option in roles and not Path(option).exists():
            return load_keypair(roles[option])
        if option is None:
            return load_keypair(None, cli_config=self.config_path)
        return load_keypair(option)

    def pubkey_or_self(self, value: Pubkey | None) -> Pubkey:
        return value if value is not None else self.keypair().pubkey()

    def role(self, name: str) -> Pubkey | None:
        """A localnet fixture's public key (``settler``, ``crank``...), when known."""
        return self.manifest.pubkeys.get(name) if self.manifest is not None else None

    def run(self, work: Callable[[Session], Awaitable[T]], *, interrupt_ok: bool = False) -> T:
        """Open a session on the cluster, run ``work``, close; failures become one line."""
        with guard(self.url, interrupt_ok=interrupt_ok):
            return asyncio.run(self._run(work))

    async def _run(self, work: Callable[[Session], Awaitable[T]]) -> T:
        session = await Session.open(self.url, manifest=self.manifest, rpc_timeout=self.timeout)
        async with session:
            return await work(session)

    def signer(self) -> Keypair:
        """The keypair, loading failures turned into the one-line message."""
        with guard(self.url):
            return self.keypair()


def state_of(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        raise RuntimeError("the bourse app callback did not run")
    return obj


__all__ = ["CliState", "KeypairError", "state_of"]
