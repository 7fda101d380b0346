"""Program builds are reproducible: same source → same bytes, wherever it is built."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from localnet.programs import BIN_DIR

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "program" / "toolchain" / "testdata" / "hello" / "lib.rs"
BUILT = sorted((BIN_DIR).glob("*.so"))

needs_toolchain = pytest.mark.skipif(
    not Path("/usr/bin/llc-22").exists(),
    reason="needs the apt toolchain (llvm-22, clang-22, rustc-web, libstd-rust-web-dev-bpf)",
)


def _build(source: Path) -> bytes:
    from program.toolchain import Toolchain

    with Toolchain() as tc:  # a fresh temp dir (and helper build) each time
        return tc.build(source, "hello").image


@needs_toolchain
def test_two_builds_give_identical_bytes(tmp_path: Path) -> None:
    first = _build(HELLO)
    second = _build(HELLO)
    assert first == second
    moved = tmp_path / "elsewhere" / "hello" / "lib.rs"  # another absolute path
    moved.parent.mkdir(parents=True)
    shutil.copy(HELLO, moved)
    assert _build(moved) == first


@needs_toolchain
@pytest.mark.skipif(not BUILT, reason="no localnet/programs/bin/*.so committed yet")
def test_committed_programs_match_a_fresh_build() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "program.build", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "check passed" in proc.stdout


def _fake_tool(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)


@pytest.mark.parametrize(
    ("present", "package"),
    [
        ([], "rustc-web"),
        (["rustc"], "llvm-22"),
        (["rustc", "llvm-link-22", "opt-22", "llc-22"], "clang-22"),
        (["rustc", "llvm-link-22", "opt-22", "llc-22", "clang-22"], "libstd-rust-web-dev-bpf"),
    ],
)
def test_missing_tools_name_their_debian_package(
    tmp_path: Path, present: list[str], package: str
) -> None:
    from program.toolchain import ToolchainError, find_tools

    for tool in present:
        _fake_tool(tmp_path / "bin" / tool)
    with pytest.raises(ToolchainError, match=package):
        find_tools(tmp_path)
