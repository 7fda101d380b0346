"""The ``bourse`` command line.

Global options (``--url/-u``, ``--keypair/-k``, ``--output/-o``, ``--localnet-dir``,
``--config/-C``) default to the Solana CLI config like the Solana CLI, and may be given
anywhere on the line (``bourse market list -o json``). Each command group lives in its own
module; the work is done by the functions of ``scripts/``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from bourse_chain.version import package_version
from bourse_cli import admin, crank, demo, market, model, order, pool, provider, receipt
from bourse_cli.context import DEFAULT_LOCALNET_DIR, CliState
from bourse_cli.errors import fail
from bourse_cli.output import OutputMode
from gateway.cli import app as gateway_app

app: typer.Typer = typer.Typer(
    name="bourse",
    help="Bourse: list AI models as tokens, sell inference, buy back and burn. "
    "Start with `bourse demo`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

GROUPS: dict[str, typer.Typer] = {
    "model": model.app,
    "provider": provider.app,
    "admin": admin.app,
    "market": market.app,
    "order": order.app,
    "crank": crank.app,
    "pool": pool.app,
    "receipt": receipt.app,
    #: ``bourse gateway …`` = ``bourse-gateway …`` (its own options: see :data:`OWN_OPTIONS`)
    "gateway": gateway_app,
}
#: Groups that parse their own options (``--config`` is the gateway's TOML file there): global
#: options are not hoisted out of their command lines.
OWN_OPTIONS = frozenset({"gateway"})
for _name, _group in GROUPS.items():
    app.add_typer(_group, name=_name)
app.command("demo")(demo.demo)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"bourse {package_version()}")
        raise typer.Exit()


@app.callback()
def options(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            "-u",
            help="localnet | devnet | mainnet-beta | an RPC URL (default: Solana CLI config)",
        ),
    ] = None,
    keypair: Annotated[
        str | None,
        typer.Option(
            "--keypair",
            "-k",
            help="Signer keypair: a file, `env:VAR`, or a localnet role such as `admin` "
            "(default: $BOURSE_KEYPAIR, else the Solana CLI config's)",
        ),
    ] = None,
    output: Annotated[
        OutputMode, typer.Option("--output", "-o", help="json or table")
    ] = OutputMode.table,
    localnet_dir: Annotated[
        Path,
        typer.Option(help="Folder of the localnet manifest (localnet.json) and fixture keys"),
    ] = DEFAULT_LOCALNET_DIR,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-C", help="Solana CLI config file"),
    ] = None,
    timeout: Annotated[float, typer.Option(help="RPC timeout, seconds")] = 30.0,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit"
        ),
    ] = False,
) -> None:
    if timeout <= 0:
        raise fail(f"--timeout must be a positive number of seconds, got {timeout:g}")
    ctx.obj = CliState(url, keypair, output, localnet_dir, config, timeout)


#: Global options and whether each takes a value.
GLOBAL_OPTIONS: dict[str, bool] = {
    "--url": True,
    "-u": True,
    "--keypair": True,
    "-k": True,
    "--output": True,
    "-o": True,
    "--localnet-dir": True,
    "--config": True,
    "-C": True,
    "--timeout": True,
}


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """Move global options found after the command to the front, so they work anywhere.

    >>> hoist_global_options(["market", "list", "-o", "json", "--url=localnet"])
    ['-o', 'json', '--url=localnet', 'market', 'list']
    >>> hoist_global_options(["model", "status", "--", "-o"])
    ['model', 'status', '--', '-o']
    >>> hoist_global_options(["-o", "json", "gateway", "keys", "list", "--config", "gw.toml"])
    ['-o', 'json', 'gateway', 'keys', 'list', '--config', 'gw.toml']
    """
    front: list[str] = []
    rest: list[str] = []
    i = 0
    args = list(argv)
    while i < len(args):
        arg = args[i]
        if arg == "--" or (not rest and arg in OWN_OPTIONS):
            rest += args[i:]
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            front.append(arg)
            if GLOBAL_OPTIONS[name] and "=" not in arg and i + 1 < len(args):
                front.append(args[i + 1])
                i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


def main(argv: Sequence[str] | None = None) -> None:
    """The console script: ``bourse = "bourse_cli.app:main"``."""
    args = hoist_global_options(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    # The crank jobs log per-model failures; the command reports them itself, in one line.
    logging.getLogger("cranks").setLevel(logging.ERROR)
    app(args=args, prog_name="bourse")


def run_group(name: str, argv: Sequence[str] | None = None) -> None:
    """``python scripts/<module>.py ARGS`` = ``bourse <name> ARGS``."""
    args = list(sys.argv[1:] if argv is None else argv)
    main([name, *args])


if __name__ == "__main__":
    main()
