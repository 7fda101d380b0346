"""Build every on-chain program crate into ``localnet/programs/bin/<name>.so``.

Usage (from the repository root)::

    python -m program.build            # build all program/*/src/lib.rs
    python -m program.build --only cp_pool -v
    python -m program.build --check    # rebuild in a temp dir, compare with localnet/programs/bin

The toolchain (Debian rustc-web, libstd-rust-web-dev-bpf, llvm-22, clang-22) is
described in program/toolchain/README.md. Builds are reproducible: ``--check``
fails when a committed ``.so`` differs byte for byte from a fresh build.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from program.toolchain import BuildResult, Toolchain, ToolchainError

PROGRAM_DIR = Path(__file__).resolve().parent
BIN_DIR = PROGRAM_DIR.parent / "localnet" / "programs" / "bin"


def discover(program_dir: Path = PROGRAM_DIR) -> dict[str, Path]:
    """Program crates: ``program/<name>/src/lib.rs`` → name (sorted)."""
    return {lib.parent.parent.name: lib for lib in sorted(program_dir.glob("*/src/lib.rs"))}


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _fail(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _describe(result: BuildResult, verbose: bool) -> str:
    link = result.link
    line = (
        f"{result.name}: {len(result.image):,} bytes "
        f"(text {link.text_size:,}, rodata {link.rodata_size:,}) in {result.seconds:.2f} s"
    )
    if verbose:
        steps = ", ".join(f"{k} {v:.3f}" for k, v in result.timings.items())
        line += f"\n  steps: {steps}\n  fix-ups: {result.fixups}"
        line += f"\n  syscalls: {', '.join(link.syscalls) or 'none'}"
        if result.rustc_warnings:
            line += "\n  rustc: " + result.rustc_warnings.replace("\n", "\n  ")
    return line


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def build_all(
    crates: dict[str, Path], out_dir: Path, *, verbose: bool = False
) -> dict[str, BuildResult]:
    """Build ``crates`` into ``out_dir/<name>.so``."""
    results: dict[str, BuildResult] = {}
    with Toolchain() as tc:
        for name, lib in crates.items():
            result = tc.build(lib, name, crate_dir=lib.parent.parent)
            _write_atomic(out_dir / f"{name}.so", result.image)
            results[name] = result
            _say(_describe(result, verbose))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m program.build", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild into a temp dir; fail if localnet/programs/bin/*.so differ",
    )
    parser.add_argument("--only", metavar="NAME", help="build just this program")
    parser.add_argument("-v", "--verbose", action="store_true", help="show steps and fix-ups")
    args = parser.parse_args(argv)

    crates = discover()
    if args.only:
        if args.only not in crates:
            known = ", ".join(crates) or "none"
            _fail(
                f"error: no program {args.only!r} (program/{args.only}/src/lib.rs); found: {known}"
            )
            return 2
        crates = {args.only: crates[args.only]}
    if not crates:
        _say("no program crates (program/*/src/lib.rs) found")
        return 0

    try:
        if not args.check:
            build_all(crates, BIN_DIR, verbose=args.verbose)
            return 0
        with tempfile.TemporaryDirectory(prefix="program-build-check-") as tmp:
            results = build_all(crates, Path(tmp), verbose=args.verbose)
            stale = []
            for name, result in results.items():
                committed = BIN_DIR / f"{name}.so"
                if not committed.is_file():
                    stale.append(f"{committed.relative_to(PROGRAM_DIR.parent)} is missing")
                elif committed.read_bytes() != result.image:
                    stale.append(
                        f"{committed.relative_to(PROGRAM_DIR.parent)} differs from a fresh build "
                        f"({committed.stat().st_size:,} vs {len(result.image):,} bytes)"
                    )
    except ToolchainError as e:
        _fail(f"error: {e}")
        return 1
    if not args.only:
        for orphan in sorted(set(BIN_DIR.glob("*.so")) - {BIN_DIR / f"{n}.so" for n in crates}):
            _fail(f"warning: {orphan.relative_to(PROGRAM_DIR.parent)} has no program/*/src/lib.rs")
    if stale:
        _fail(
            "check failed: localnet/programs/bin is stale; run `python -m program.build`, commit:"
        )
        for s in stale:
            _fail(f"  {s}")
        return 1
    _say(f"check passed: {len(results)} program(s) match localnet/programs/bin")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
