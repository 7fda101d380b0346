"""Helpers for testing the command line in-process (typer's ``CliRunner``) against a
localnet, and for reading the chain back from synchronous tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from solders.pubkey import Pubkey
from typer.testing import CliRunner, Result

from bourse_chain.client import BourseClient
from bourse_cli.app import app, hoist_global_options

T = TypeVar("T")


@dataclass
class Run:
    """The outcome of one ``bourse`` invocation."""

    result: Result

    @property
    def code(self) -> int:
        return self.result.exit_code

    @property
    def stdout(self) -> str:
        return self.result.stdout

    @property
    def stderr(self) -> str:
        return self.result.stderr

    def json(self) -> Any:
        """stdout parsed as JSON; fails with the command's stderr when it did not succeed."""
        if self.code != 0:
            raise AssertionError(f"bourse exited {self.code}: {self.stderr or self.result.output}")
        return json.loads(self.stdout)


class Bourse:
    """``bourse`` bound to one localnet: ``Bourse(url, dir)("market", "list")``."""

    def __init__(self, url: str, localnet_dir: Path, env: dict[str, str] | None = None) -> None:
        self.url = url
        self.localnet_dir = localnet_dir
        self.env = env or {}
        self.runner = CliRunner()

    def __call__(self, *args: str, keypair: str | Path | None = None, output: str = "json") -> Run:
        argv: list[str] = ["-u", self.url, "--localnet-dir", str(self.localnet_dir)]
        argv += ["-o", output]
        if keypair is not None:
            argv += ["-k", str(keypair)]
        return self.raw(*argv, *args)

    def raw(self, *args: str) -> Run:
        """Exactly these arguments (global options hoisted as ``bourse`` does)."""
        argv: Sequence[str] = hoist_global_options(args)
        return Run(self.runner.invoke(app, list(argv), env=self.env, catch_exceptions=True))


def chain_read(url: str, work: Callable[[BourseClient], Awaitable[T]]) -> T:
    """Run ``work`` with a fresh client on ``url`` (from synchronous code)."""

    async def go() -> T:
        async with BourseClient.connect(url) as client:
            return await work(client)

    return asyncio.run(go())


def token_balance(url: str, account: Pubkey) -> int:
    async def read(c: BourseClient) -> int:
        return int((await c.rpc.get_token_account_balance(account)).value.amount)

    return chain_read(url, read)


def token_supply(url: str, mint: Pubkey) -> int:
    async def read(c: BourseClient) -> int:
        return int((await c.rpc.get_token_supply(mint)).value.amount)

    return chain_read(url, read)
