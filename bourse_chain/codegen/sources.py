"""Where the generator finds IDLs: ours in ``idl/*.json``, pump.fun's and PumpSwap's public
ones in the npm package ``@pump-fun/pump-sdk`` (``src/idl/``), installed by ``npm ci`` in
``tests/pump_node``. The external IDLs are read, never committed; their bindings are."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OWN_IDL_DIR = ROOT / "idl"
NODE_DIR = ROOT / "tests" / "pump_node"
NPM_PACKAGE = "@pump-fun/pump-sdk"
#: The public IDLs we generate bindings for (file names inside the package's ``src/idl``).
EXTERNAL_IDLS = ("pump.json", "pump_amm.json")


def npm_idl_dir(node_dir: Path = NODE_DIR) -> Path:
    """``src/idl`` of the installed npm package under ``node_dir``."""
    return node_dir.joinpath("node_modules", *NPM_PACKAGE.split("/"), "src", "idl")


def external_paths(idl_dir: Path) -> list[Path] | None:
    """The external IDL files in ``idl_dir``, or None unless all of them are there."""
    paths = [idl_dir / name for name in EXTERNAL_IDLS]
    return paths if all(p.is_file() for p in paths) else None


def external_packages() -> list[str]:
    """Package names of the external programs' bindings (one per IDL)."""
    return [Path(name).stem for name in EXTERNAL_IDLS]
