"""``bourse-crank``: the operator's command line.

    bourse-crank run [--config FILE] [--once] [--dry-run] [--job buyback] [--job harvest]
    bourse-crank config [--config FILE]      # the effective configuration, secrets masked

The config file is ``--config``, else ``$BOURSE_CRANK_CONFIG``, else none (defaults plus
``BOURSE_CRANK_*`` overrides). Exit codes: 0 ok; 1 a job failed (``--once``); 2 bad
configuration or setup (key, program config); 69 no RPC endpoint answered at start-up;
75 a run found its lock held by another daemon (``--once``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from solana.rpc.core import RPCException

from bourse_chain.keys import KeypairError
from bourse_chain.unreachable import is_unreachable, unreachable_reason
from bourse_chain.version import package_version
from cranks.config import CONFIG_ENV, ConfigError, CrankConfig, load_config, redacted
from cranks.daemon import CrankSetupError, Daemon, build_context, exit_code

log = logging.getLogger("cranks")

#: LogRecord attributes that are not "extra" fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and every ``extra`` field."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(fmt: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries stay quiet unless something is wrong.
    for noisy in ("apscheduler", "httpx", "httpx2", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bourse-crank",
        description="The Bourse crank operator's daemon: buyback-and-burn and Token-2022 "
        "fee harvest on a schedule (see docs/operators.md).",
        epilog="Exit codes: 0 ok; 1 a job failed (--once); 2 bad configuration or setup; "
        "69 no RPC endpoint answered at start-up; 75 lock held by another daemon (--once).",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the buyback and harvest jobs")
    run.add_argument("--config", help=f"TOML config file (default: ${CONFIG_ENV})")
    run.add_argument(
        "--once", action="store_true", help="run each job once and exit (non-zero if a job failed)"
    )
    run.add_argument("--dry-run", action="store_true", help="simulate every transaction, send none")
    run.add_argument(
        "--job",
        action="append",
        choices=["buyback", "harvest"],
        help="run only this job (repeatable; default: the enabled ones)",
    )
    show = sub.add_parser("config", help="print the effective configuration (secrets masked)")
    show.add_argument("--config", help=f"TOML config file (default: ${CONFIG_ENV})")
    return p


def _load(path: str | None) -> CrankConfig:
    return load_config(path or os.environ.get(CONFIG_ENV))


async def _run(config: CrankConfig, once: bool, dry_run: bool, jobs: Sequence[str] | None) -> int:
    ctx = await build_context(config, dry_run=dry_run)
    try:
        daemon = Daemon(ctx, jobs=jobs)
        if once:
            outcomes = await daemon.run_all_once()
            return exit_code(outcomes)
        await daemon.serve()
        return 0
    finally:
        await ctx.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = _load(args.config)
    except ConfigError as e:
        sys.stderr.write(f"bourse-crank: {e}\n")
        return 2
    if args.command == "config":
        sys.stdout.write(json.dumps(redacted(config), indent=2) + "\n")
        return 0
    setup_logging(config.log.format, config.log.level)
    try:
        return asyncio.run(_run(config, args.once, args.dry_run, args.job))
    except (ConfigError, CrankSetupError, KeypairError) as e:
        log.error("cannot start: %s", e, extra={"event": "setup_failed"})
        return 2
    except RPCException as e:
        log.error("the RPC endpoint refused: %s", e, extra={"event": "rpc_unreachable"})
        return 69
    except Exception as e:
        if not is_unreachable(e):
            raise
        reason = unreachable_reason(e)
        log.error("cannot reach the RPC endpoints: %s", reason, extra={"event": "rpc_unreachable"})
        return 69
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
