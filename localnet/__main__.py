"""``python -m localnet`` / ``bourse-localnet``: run a localnet until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from collections.abc import Sequence

from localnet.net import Localnet
from localnet.rpc import DEFAULT_PORT


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m localnet",
        description="Solana localnet with the Bourse programs, a USDC mint and funded keypairs.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="RPC port (0: any free)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--dir", default=".localnet", help="folder for keypairs and manifest")
    parser.add_argument(
        "--backend",
        choices=("auto", "embedded", "validator"),
        default="auto",
        help="auto: solana-test-validator when on PATH, else embedded LiteSVM",
    )
    parser.add_argument("--programs-dir", default=None, help="folder with keys/ and bin/")
    parser.add_argument(
        "--commitment-depths",
        default="0,1",
        help="slots until a transaction is confirmed,finalized (embedded; a validator: ~1,32)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    return parser.parse_args(argv)


def say(text: str) -> None:
    """Console output of the command (the library itself only logs)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def serve(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Localnet.start(
        port=args.port,
        workdir=args.dir,
        backend=args.backend,
        host=args.host,
        programs_dir=args.programs_dir,
        depths=args.depths,
    ) as net:
        elapsed = time.perf_counter() - started
        say(f"localnet ({net.backend}) ready in {elapsed:.2f} s: {net.rpc_url}")
        if net.ws_url is not None:
            say(f"  pubsub: {net.ws_url}")
        for name, program_id in net.program_ids.items():
            say(f"  program {name}: {program_id}")
        for name in net.fixtures.missing_programs:
            say(f"  program {name}: not built, skipped")
        say(f"  usdc mint: {net.usdc_mint}")
        say(f"manifest: {net.manifest_path}")
        await stop.wait()
    say("localnet stopped")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        confirmed, finalized = (int(x) for x in args.commitment_depths.split(","))
    except ValueError:
        sys.stderr.write("localnet: --commitment-depths takes two integers, e.g. 1,2\n")
        return 2
    args.depths = (confirmed, finalized)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:  # before the signal handlers were installed
        pass
    except (OSError, RuntimeError, ValueError) as exc:  # port in use, fixtures, bad depths
        sys.stderr.write(f"localnet: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
