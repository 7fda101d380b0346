"""Locate the Debian-packaged compilers the pipeline runs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from program.toolchain.errors import ToolchainError

TARGET = "bpfel-unknown-none"
LLVM_VERSION = "22"


@dataclass(frozen=True)
class Tools:
    rustc: Path
    rust_target_lib: Path
    llvm_link: Path
    opt: Path
    llc: Path
    clang: Path

    def rlib(self, crate: str) -> Path:
        found = sorted(self.rust_target_lib.glob(f"lib{crate}-*.rlib"))
        if not found:
            raise ToolchainError(
                f"no lib{crate}-*.rlib in {self.rust_target_lib}: install the Debian package "
                "libstd-rust-web-dev-bpf (apt-get install libstd-rust-web-dev-bpf)"
            )
        if len(found) > 1:
            raise ToolchainError(f"several lib{crate} rlibs in {self.rust_target_lib}: {found}")
        return found[0]


def _need(path: Path, package: str, what: str) -> Path:
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ToolchainError(
            f"{what} not found at {path}: install the Debian package {package} "
            f"(apt-get update && apt-get install {package})"
        )
    return path


def find_tools(usr: Path = Path("/usr")) -> Tools:
    """The tool paths, or a :class:`ToolchainError` naming the missing package.

    Uses Debian's ``/usr/bin/rustc`` (package rustc-web) on purpose: a rustup
    ``rustc`` earlier on PATH has no ``core`` for the BPF target.
    """
    bin_dir = usr / "bin"
    v = LLVM_VERSION
    tools = Tools(
        rustc=_need(bin_dir / "rustc", "rustc-web", "Debian rustc"),
        rust_target_lib=usr / "lib" / "rustlib" / TARGET / "lib",
        llvm_link=_need(bin_dir / f"llvm-link-{v}", f"llvm-{v}", f"llvm-link-{v}"),
        opt=_need(bin_dir / f"opt-{v}", f"llvm-{v}", f"opt-{v}"),
        llc=_need(bin_dir / f"llc-{v}", f"llvm-{v}", f"llc-{v}"),
        clang=_need(bin_dir / f"clang-{v}", f"clang-{v}", f"clang-{v}"),
    )
    if not tools.rust_target_lib.is_dir():
        raise ToolchainError(
            f"{tools.rust_target_lib} is missing: install the Debian package "
            "libstd-rust-web-dev-bpf (prebuilt core/alloc for bpfel-unknown-none)"
        )
    tools.rlib("core")
    return tools
