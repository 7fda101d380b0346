"""``python -m gateway.market --rpc-url URL``: serve the market page on its own."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from pydantic import TypeAdapter, ValidationError

from bourse_ops.common import read_manifest
from gateway.market.app import create_app
from gateway.market.schemas import CatalogEntry


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m gateway.market", description=__doc__)
    p.add_argument(
        "--rpc-url",
        action="append",
        required=True,
        help="Solana JSON-RPC URL (repeat for failover, in order)",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--catalog", type=Path, help="JSON list of catalog models (CatalogEntry)")
    p.add_argument("--localnet-manifest", type=Path, help="localnet.json (its program ids)")
    p.add_argument("--ttl", type=float, default=5.0, help="Seconds a chain read is reused")
    p.add_argument("--refresh", type=float, default=5.0, help="Seconds between page updates")
    p.add_argument("--days", type=int, default=30, help="Days in the charts and history")
    return p.parse_args(argv)


def load_catalog(path: Path | None) -> list[CatalogEntry]:
    if path is None:
        return []
    try:
        return TypeAdapter(list[CatalogEntry]).validate_python(json.loads(path.read_text()))
    except (OSError, ValueError, ValidationError) as exc:
        raise SystemExit(f"--catalog {path}: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.days < 1 or args.ttl < 0 or args.refresh <= 0:
        raise SystemExit("--days must be >= 1, --ttl >= 0 and --refresh > 0")
    options: dict[str, object] = {}
    if args.localnet_manifest is not None:
        manifest = read_manifest(args.localnet_manifest)
        if manifest is None:
            raise SystemExit(f"--localnet-manifest {args.localnet_manifest}: not readable")
        options["manifest"] = manifest
        if "compute_market" in manifest.program_ids:
            options["program_id"] = manifest.program_ids["compute_market"]
    app = create_app(
        args.rpc_url,
        catalog=load_catalog(args.catalog),
        ttl_secs=args.ttl,
        refresh_secs=args.refresh,
        window_days=args.days,
        **options,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
