"""The committed bindings are exactly what the generator makes from ``idl/*.json`` and the
public pump.fun / PumpSwap IDLs of npm ``@pump-fun/pump-sdk`` (installed by ``npm ci`` in
tests/pump_node, as CI does).

If this fails after an IDL change or an npm bump, run ``python -m bourse_chain.codegen`` and
commit the result.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bourse_chain.codegen.__main__ import main
from bourse_chain.codegen.generate import MARKER, render
from bourse_chain.codegen.sources import external_packages, external_paths, npm_idl_dir

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "bourse_chain" / "generated"
NPM_IDLS = external_paths(npm_idl_dir())
needs_npm = pytest.mark.skipif(
    NPM_IDLS is None, reason="tests/pump_node/node_modules missing (cd tests/pump_node && npm ci)"
)


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@needs_npm
def test_regenerating_into_a_temp_dir_gives_the_committed_files(tmp_path: Path) -> None:
    # Given our IDLs and pump's from node_modules, when the generator writes into an empty dir
    out = tmp_path / "generated"
    assert main(["--idl-dir", str(ROOT / "idl"), "--out", str(out)]) == 0
    # then every file is byte-identical to the committed one, none missing, none extra
    fresh, committed = _tree(out), _tree(COMMITTED)
    assert sorted(fresh) == sorted(committed)
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale: {stale}; run `python -m bourse_chain.codegen`"
    # and there is one package per IDL
    for idl in (ROOT / "idl").glob("*.json"):
        assert f"{idl.stem}/__init__.py" in fresh
    for pkg in external_packages():
        assert f"{pkg}/__init__.py" in fresh
        assert fresh[f"{pkg}/errors.py"].splitlines()[1].startswith(b"# Source: npm @pump-fun/")


def test_without_the_npm_idls_the_pump_bindings_are_kept(tmp_path: Path) -> None:
    # Given a checkout whose node_modules are missing, the committed pump packages stay as
    # they are and the check still passes (other helpers regenerate our own bindings).
    out = tmp_path / "generated"
    shutil.copytree(COMMITTED, out, ignore=shutil.ignore_patterns("__pycache__"))
    nowhere = ["--external-idl-dir", str(tmp_path / "none"), "--out", str(out)]
    assert main([*nowhere, "--check"]) == 0
    assert main(nowhere) == 0
    assert _tree(out) == _tree(COMMITTED)
    # and a package with no IDL and no committed copy is simply not listed
    shutil.rmtree(out / "pump_amm")
    assert main(nowhere) == 0
    assert "pump_amm" not in (out / "__init__.py").read_text()
    assert (out / "pump" / "__init__.py").is_file()


@needs_npm
def test_check_mode_agrees() -> None:
    assert main(["--check"]) == 0


def test_output_is_deterministic_and_marked() -> None:
    first = render(ROOT / "idl").files
    second = render(ROOT / "idl").files
    assert first == second
    for name, text in first.items():
        assert text.startswith(MARKER + "\n"), name
        assert text.endswith("\n") and not text.endswith("\n\n"), name


@needs_npm
def test_stale_and_leftover_files_are_reported_then_fixed(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert main(["--out", str(out)]) == 0
    leftover = out / "compute_market" / "types" / "gone.py"
    leftover.write_text(MARKER + "\n")
    kept = out / "compute_market" / "notes.txt"  # not ours: never touched
    kept.write_text("hand-written")
    (out / "cp_pool" / "errors.py").write_text(MARKER + "\n# edited\n")
    assert main(["--out", str(out), "--check"]) == 1
    assert main(["--out", str(out)]) == 0
    assert not leftover.exists() and kept.exists()
    assert main(["--out", str(out), "--check"]) == 0


def test_committed_output_is_ruff_clean() -> None:
    for cmd in (
        [sys.executable, "-m", "ruff", "format", "--check"],
        [sys.executable, "-m", "ruff", "check"],
    ):
        done = subprocess.run([*cmd, str(COMMITTED)], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
