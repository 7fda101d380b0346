"""Failures in the user's words: one line on stderr and a non-zero exit, never a traceback.

:func:`describe` maps our typed errors (``bourse_chain.errors``, the programs' generated
error classes, the scripts' errors) and the common failures (no keypair, node unreachable,
RPC refusal) to one line; :func:`guard` prints it and exits 1. ``BOURSE_DEBUG=1`` re-raises
instead, for a traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import click
import typer
from solana.rpc.core import RPCException

from bourse_chain.client import TransactionExpired
from bourse_chain.cluster import ClusterError
from bourse_chain.errors import BourseError, ProgramError, TransactionFailed
from bourse_chain.generated.compute_market import errors as cm
from bourse_chain.keys import KeypairError, KeypairMissing
from bourse_chain.unreachable import is_unreachable, unreachable_reason
from bourse_ops.errors import ScriptError
from cranks.venues.errors import VenueError

EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130
DEBUG_ENV = "BOURSE_DEBUG"

#: Program errors whose generic text deserves a pointer to the fix.
_HINTS: dict[type[ProgramError], str] = {
    cm.FeeAboveCap: "fee above cap: the fee is above the cap fixed when the market was initialized",
    cm.Unauthorized: "not authorized: the keypair is not the authority this operation needs "
    "(admin, creator, settler or crank; see `bourse admin config`)",
    cm.UpgradeAuthorityMismatch: "not authorized: only the program's upgrade authority may "
    "initialize the market",
    cm.ProgramPaused: "the market is paused (`bourse admin update --unpause`)",
    cm.ModelNotApproved: "the model is not approved (`bourse admin approve SLUG`)",
    cm.BuybackCooldown: "the buyback cooldown of this model has not elapsed yet",
    cm.NothingToBurn: "nothing to burn: the buyback vault is empty",
}


class CliError(Exception):
    """A usage problem found by the command line itself."""


def describe(exc: BaseException, url: str | None = None) -> str:
    """The one-line message for ``exc``."""
    where = f" at {url}" if url else ""
    if isinstance(exc, KeypairMissing):
        return (
            f"missing keypair: {exc}; pass --keypair/-k PATH or set one with "
            "`solana config set --keypair PATH` (create one with `solana-keygen new`)"
        )
    if isinstance(exc, KeypairError):
        return (
            f"invalid keypair: {exc} (a Solana keypair file is a JSON array of 64 bytes, "
            "as `solana-keygen new` writes)"
        )
    if isinstance(exc, ScriptError | CliError | ClusterError):
        return str(exc)
    if isinstance(exc, ProgramError):
        hint = _HINTS.get(type(exc))
        detail = f"{exc.name}: {exc.msg}"
        return f"{hint} ({detail})" if hint else f"the program refused the transaction: {detail}"
    if isinstance(exc, TransactionExpired):
        return f"the transaction did not land before its blockhash expired: {exc}"
    if isinstance(exc, TransactionFailed):
        return f"transaction failed: {exc.err}{_last_error_log(exc.logs)}"
    if isinstance(exc, VenueError):
        return f"swap venue {exc.venue or ''}: {exc}".replace("venue : ", "venue: ")
    if isinstance(exc, BourseError):
        return str(exc)
    if is_unreachable(exc):
        return f"cannot reach the RPC node{where}: {unreachable_reason(exc)}"
    if isinstance(exc, RPCException):
        return f"the RPC node{where} refused the request: {_rpc_message(exc)}"
    if isinstance(exc, FileNotFoundError):
        return str(exc)
    return f"unexpected error: {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 to see the traceback)"


def _rpc_message(exc: RPCException) -> str:
    detail = exc.args[0] if exc.args else exc
    message = getattr(detail, "message", None)
    return str(message if message is not None else detail)


def _last_error_log(logs: tuple[str, ...]) -> str:
    for line in reversed(logs):
        if "Error" in line or "error" in line:
            return f" ({line.removeprefix('Program log: ')})"
    return ""


def fail(message: str, code: int = EXIT_FAILURE) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    return typer.Exit(code)


@contextlib.contextmanager
def guard(url: str | None = None, *, interrupt_ok: bool = False) -> Iterator[None]:
    """Turn any failure inside into one line on stderr and exit code 1; Ctrl-C exits 130
    (0 and silently with ``interrupt_ok``, for commands that run until interrupted)."""
    try:
        yield
    except (typer.Exit, typer.Abort, click.ClickException):
        raise
    except KeyboardInterrupt:
        if interrupt_ok:
            raise typer.Exit(0) from None
        raise fail("interrupted", EXIT_INTERRUPTED) from None
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        raise fail(describe(exc, url)) from None
