"""Offline Solana (SBPF v0) program toolchain: Debian rustc + LLVM 22 + a Python relinker.

See README.md in this directory for the pipeline and why each step exists.
"""

from __future__ import annotations

from program.toolchain.errors import ToolchainError
from program.toolchain.pipeline import BuildResult, Toolchain, build_program
from program.toolchain.relink import LinkResult, check_instructions, relink
from program.toolchain.syscalls import SYSCALLS
from program.toolchain.tools import Tools, find_tools

__all__ = [
    "SYSCALLS",
    "BuildResult",
    "LinkResult",
    "Toolchain",
    "ToolchainError",
    "Tools",
    "build_program",
    "check_instructions",
    "find_tools",
    "relink",
]
