"""Package boundaries: what ``pip install .`` puts in an environment, and how our top-level
packages import each other.

* ``pip install .`` into an empty virtual environment installs only the project's own
  top-level names (read back from the installed distribution's ``top_level.txt`` and
  ``RECORD``), and ships the built programs as package data.
* No installed package, script or benchmark imports ``tests``.
* The import graph between top-level packages has no cycle (walked with ``ast``, counting
  every import, also those inside functions).
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: The project's own top-level names (``gateway`` is announced).
OURS = {"bourse_chain", "bourse_ops", "bourse_cli", "cranks", "localnet", "gateway"}
#: What each installed package may import of ours (README, "Layout").
LAYERS: dict[str, set[str]] = {
    "bourse_chain": set(),
    "localnet": {"bourse_chain"},
    "cranks": {"bourse_chain"},
    "bourse_ops": {"bourse_chain", "localnet", "cranks"},
    "gateway": {"bourse_chain", "localnet", "cranks", "bourse_ops"},
    "bourse_cli": {"bourse_chain", "localnet", "cranks", "bourse_ops", "gateway"},
}
#: Checkout folders that are not installed but import the packages.
CHECKOUT = {"scripts", "benchmarks", "idl", "program"}


def _tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    return [f for f in out.split("\0") if f and (REPO / f).is_file()]


def _imports(path: Path) -> set[str]:
    """Top-level module names imported anywhere in ``path`` (absolute imports)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _python_files(top: str) -> list[Path]:
    return [p for p in (REPO / top).rglob("*.py") if "node_modules" not in p.parts]


def import_graph() -> dict[str, set[str]]:
    tops = sorted(t for t in OURS | CHECKOUT if (REPO / t).is_dir())
    graph: dict[str, set[str]] = {}
    for top in tops:
        deps: set[str] = set()
        for path in _python_files(top):
            deps |= _imports(path)
        graph[top] = {d for d in deps if d in OURS | CHECKOUT | {"tests"} and d != top}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_between_top_level_packages() -> None:
    graph = import_graph()
    assert {"bourse_chain", "bourse_ops", "bourse_cli", "cranks", "localnet"} <= set(graph)
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph) or [])}"
    # the layering the README's layout table states
    for package, allowed in LAYERS.items():
        assert graph[package] <= allowed, (package, sorted(graph[package] - allowed))


def test_no_package_or_benchmark_imports_tests() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for top in sorted((OURS | CHECKOUT) - {"idl", "program"})
        if (REPO / top).is_dir()
        for path in _python_files(top)
        if "tests" in _imports(path)
    ]
    assert offenders == []


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """``pip install --no-deps .`` of a copy of the checkout into an empty venv; returns
    the installed distribution's ``top_level.txt`` lines and ``RECORD`` paths."""
    root = tmp_path_factory.mktemp("pkg")
    src = root / "src"
    for rel in _tracked_files():
        dest = src / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, dest)
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(src)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    probe = (
        "import json, importlib.metadata as m; d = m.distribution('bourse-chain'); "
        "print(json.dumps({'top_level': (d.read_text('top_level.txt') or '').split(), "
        "'record': [str(f) for f in d.files or []]}))"
    )
    out = subprocess.run(
        [str(python), "-c", probe], check=True, capture_output=True, text=True, cwd=root
    ).stdout
    result: dict[str, list[str]] = json.loads(out)
    return result


def test_pip_install_puts_only_our_names_in_site_packages(
    installed: dict[str, list[str]],
) -> None:
    assert set(installed["top_level"]) <= OURS
    assert {"bourse_chain", "bourse_ops", "bourse_cli", "cranks", "localnet"} <= set(
        installed["top_level"]
    )
    tops = {
        Path(f).parts[0]
        for f in installed["record"]
        if not Path(f).parts[0].endswith((".dist-info", ".data")) and not f.startswith("..")
    }
    assert tops <= OURS, f"installed outside the project's names: {sorted(tops - OURS)}"
    # the built programs ship as package data of the package that deploys them
    assert {"localnet/programs/bin/compute_market.so", "localnet/programs/bin/cp_pool.so"} <= set(
        installed["record"]
    )


def test_the_console_scripts_are_declared(installed: dict[str, list[str]]) -> None:
    scripts = {Path(f).name for f in installed["record"] if f.startswith("../../../bin/")}
    assert {"bourse", "bourse-crank", "bourse-localnet"} <= scripts
