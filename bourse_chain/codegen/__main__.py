"""``python -m bourse_chain.codegen``: regenerate ``bourse_chain/generated`` from ``idl/*.json``
and the public pump.fun / PumpSwap IDLs of npm ``@pump-fun/pump-sdk``.

python -m bourse_chain.codegen            # (re)write the bindings
python -m bourse_chain.codegen --check    # exit 1 if the committed bindings are stale

The pump IDLs are read from ``tests/pump_node/node_modules`` (``cd tests/pump_node && npm
ci``) or ``--external-idl-dir``; when they are not installed, the committed ``pump`` and
``pump_amm`` packages are kept as they are (and a note says so).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bourse_chain.codegen.generate import render, stale, write
from bourse_chain.codegen.idl import UnsupportedIdl
from bourse_chain.codegen.sources import (
    OWN_IDL_DIR,
    ROOT,
    external_packages,
    external_paths,
    npm_idl_dir,
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bourse_chain.codegen", description=__doc__)
    ap.add_argument("--idl-dir", type=Path, default=OWN_IDL_DIR, help="directory of *.json IDLs")
    ap.add_argument(
        "--external-idl-dir",
        type=Path,
        default=npm_idl_dir(),
        help="directory holding pump.json and pump_amm.json (default: the npm package)",
    )
    ap.add_argument(
        "--out", type=Path, default=ROOT / "bourse_chain" / "generated", help="output package"
    )
    ap.add_argument("--check", action="store_true", help="fail if the output is stale")
    args = ap.parse_args(argv)
    extra = external_paths(args.external_idl_dir)
    keep: list[str] = []
    if extra is None:
        keep = [p for p in external_packages() if (args.out / p / "__init__.py").is_file()]
        sys.stderr.write(
            f"codegen: note: no pump IDLs in {args.external_idl_dir} (cd tests/pump_node && "
            f"npm ci); keeping {', '.join(keep) or 'nothing'}\n"
        )
    try:
        out = render(args.idl_dir, extra or (), keep)
    except UnsupportedIdl as e:
        sys.stderr.write(f"codegen: cannot express: {e}\n")
        return 2
    for note in out.notes:
        sys.stderr.write(f"codegen: note: {note}\n")
    if args.check:
        diff = stale(out, args.out)
        if diff:
            sys.stderr.write("codegen: stale generated files: " + ", ".join(diff) + "\n")
            return 1
        return 0
    for rel in write(out, args.out):
        sys.stderr.write(f"codegen: wrote {rel}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
