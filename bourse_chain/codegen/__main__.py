"""``python -m bourse_chain.codegen``: regenerate ``bourse_chain/generated`` from ``idl/*.json``.

python -m bourse_chain.codegen            # (re)write the bindings
python -m bourse_chain.codegen --check    # exit 1 if the committed bindings are stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bourse_chain.codegen.generate import render, stale, write
from bourse_chain.codegen.idl import UnsupportedIdl

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bourse_chain.codegen", description=__doc__)
    ap.add_argument("--idl-dir", type=Path, default=ROOT / "idl", help="directory of *.json IDLs")
    ap.add_argument(
        "--out", type=Path, default=ROOT / "bourse_chain" / "generated", help="output package"
    )
    ap.add_argument("--check", action="store_true", help="fail if the output is stale")
    args = ap.parse_args(argv)
    try:
        out = render(args.idl_dir)
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
