"""Rust source → SBPF v0 ``.so`` with Debian's rustc and LLVM 22 (no platform-tools).

Steps (one temporary directory per build; nothing depends on wall-clock time
or absolute paths, so the same source gives the same bytes):

1. ``rustc`` → LLVM bitcode of the crate (``--crate-type=lib``, no rustc passes).
2. ``llvm-link --only-needed`` with Debian's prebuilt ``alloc``/``core`` bitcode,
   plus the allocator shim when ``alloc`` is used (:mod:`shims`).
3. Every function pinned to ``target-cpu=v2`` (Debian's core says "generic").
4. ``opt``: internalize everything but ``entrypoint``; the O3 pipeline
   without ``argpromotion`` (it splits ``&(u128, u128)`` into >5 registers)
   and never inlining a callee with a frame over 512 bytes (4 KiB frames);
   ``instnamer`` so the text rewrites never meet numbered values.
5. IR fix-ups (:mod:`ir_fixups`), link ``c/solfx.c`` helpers (built by clang),
   inline them, clean up, and check nothing unlowerable is left.
6. ``llc`` → relocatable eBPF object.
7. The relinker (:mod:`relink`) → SBPF v0 ET_DYN image.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from program.toolchain import ir_fixups, shims
from program.toolchain.errors import ToolchainError
from program.toolchain.relink import LinkResult, relink
from program.toolchain.syscalls import SYSCALLS
from program.toolchain.tools import TARGET, Tools, find_tools

HELPERS_C = Path(__file__).parent / "c" / "solfx.c"
ENTRYPOINT = "entrypoint"

RUSTC_FLAGS = (
    "--edition",
    "2021",
    "--crate-type=lib",
    "--target",
    TARGET,
    "-C",
    "panic=abort",
    "-C",
    "opt-level=3",
    "-C",
    "codegen-units=1",
    "-C",
    "target-cpu=v2",
    "-C",
    "overflow-checks=off",
    "-C",
    "debuginfo=0",
    "-C",
    "no-prepopulate-passes",
    "--emit=llvm-bc",
)
OPT_PASSES = "internalize,default<O3>,function(instnamer)"
#: Never inline a callee whose frame exceeds this (bytes): SBPF frames are a
#: fixed 4 KiB, so merging big callee frames into callers overflows them.
INLINE_MAX_STACK = 512
CLEANUP_PASSES = (
    "internalize,always-inline,"
    "function(sroa<modify-cfg>,early-cse<memssa>,instcombine<no-verify-fixpoint>,"
    "simplifycfg,dse,adce,instnamer),globaldce"
)
LLC_FLAGS = (
    "-march=bpfel",
    "-mcpu=v2",
    "-mattr=+allows-misaligned-mem-access",
    "-bpf-stack-size=4096",
    "-filetype=obj",
)
CLANG_FLAGS = (
    "--target=bpfel",
    "-mcpu=v2",
    "-O2",
    "-fno-stack-protector",
    "-fomit-frame-pointer",
    "-nostdinc",
    "-emit-llvm",
    "-c",
)

# llc diagnostics → what to change in the Rust source.
_LLC_HINTS = (
    (
        "too many arguments",
        "a call passes more than 5 argument registers (u128 and slices "
        "count 2): pass a struct by reference",
    ),
    (
        "stack arguments are not supported",
        "a function takes more than 5 argument registers "
        "(u128 and slices count 2): pass a struct by reference",
    ),
    ("aggregate returns", "a function returns a struct by value: return through &mut"),
    ("only small returns", "a call returns more than 64 bits (u128?): return through &mut"),
    ("built-in function", "a libcall the IR fix-ups do not cover"),
    (
        "stack limit",
        "a function uses more than 4 KiB of stack: move large arrays to the heap "
        "or to account data",
    ),
    ("signed division", "signed division survived the fix-ups"),
    (
        "Branch target out of insn range",
        "a function is over 32K instructions (16-bit jump offsets): split it with "
        "#[inline(never)] helpers",
    ),
)


@dataclass
class BuildResult:
    """A built program and how it was made."""

    name: str
    image: bytes
    link: LinkResult
    timings: dict[str, float] = field(default_factory=dict)
    fixups: str = ""
    rustc_warnings: str = ""

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())


def _run(
    argv: Sequence[str | Path], what: str, *, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in argv],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
    )
    if proc.returncode != 0:
        raise ToolchainError(f"{what} failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
    return proc


def read_ar_members(data: bytes) -> list[tuple[str, bytes]]:
    """Members of a Unix ``ar`` archive (an rlib): ``(name, contents)``."""
    if not data.startswith(b"!<arch>\n"):
        raise ToolchainError("not an ar archive")
    members: list[tuple[str, bytes]] = []
    long_names = b""
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode().rstrip()
        size = int(header[48:58].decode().strip())
        body = data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size & 1)
        if name == "//":
            long_names = body
            continue
        if name.startswith("/") and name[1:].isdigit():
            start = int(name[1:])
            end = long_names.index(b"/\n", start)
            name = long_names[start:end].decode()
        members.append((name.rstrip("/"), body))
    return members


def _bitcode_members(rlib: Path) -> list[bytes]:
    found = [
        body
        for _name, body in read_ar_members(rlib.read_bytes())
        if body[:4] == b"BC\xc0\xde" or body[:4] == b"\xde\xc0\x17\x0b"
    ]
    if not found:
        raise ToolchainError(f"{rlib} holds no LLVM bitcode")
    return found


class Toolchain:
    """Builds programs; caches the extracted core/alloc bitcode and the C helpers."""

    def __init__(self, tools: Tools | None = None) -> None:
        self.tools = tools or find_tools()
        self._tmp = tempfile.TemporaryDirectory(prefix="sbpf-toolchain-")
        self.work = Path(self._tmp.name)
        self._stdlib: list[Path] | None = None
        self._helpers: Path | None = None

    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> Toolchain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- cached inputs
    def stdlib_bitcode(self) -> list[Path]:
        if self._stdlib is None:
            paths: list[Path] = []
            for crate in ("alloc", "core"):
                for i, body in enumerate(_bitcode_members(self.tools.rlib(crate))):
                    p = self.work / f"{crate}.{i}.bc"
                    p.write_bytes(body)
                    paths.append(p)
            self._stdlib = paths
        return self._stdlib

    def helpers_bitcode(self) -> Path:
        if self._helpers is None:
            out = self.work / "solfx.bc"
            _run(
                [self.tools.clang, *CLANG_FLAGS, HELPERS_C.name, "-o", out],
                "clang (c/solfx.c helpers)",
                cwd=HELPERS_C.parent,
            )
            self._helpers = out
        return self._helpers

    # ---------------------------------------------------------------- build
    def build(
        self,
        source: Path,
        name: str,
        *,
        cfg: Sequence[str] = (),
        crate_dir: Path | None = None,
        allowed_syscalls: Iterable[str] = SYSCALLS,
    ) -> BuildResult:
        """Build the crate rooted at ``source`` (a lib.rs) into an SBPF image.

        ``cfg`` adds ``--cfg`` flags; ``crate_dir`` is rustc's working directory
        (default: the source's directory); ``allowed_syscalls`` is the relinker's
        allow-list (tests widen it to show what the loader does without it).
        """
        source = source.resolve()
        if not source.is_file():
            raise ToolchainError(f"no such source file: {source}")
        crate_dir = (crate_dir or source.parent).resolve()
        work = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.work))
        timings: dict[str, float] = {}

        def step(label: str, t0: float) -> float:
            now = time.perf_counter()
            timings[label] = timings.get(label, 0.0) + now - t0
            return now

        t = time.perf_counter()
        crate_bc = work / f"{name}.bc"
        rel_source = source.relative_to(crate_dir) if source.is_relative_to(crate_dir) else source
        argv: list[str | Path] = [
            self.tools.rustc,
            *RUSTC_FLAGS,
            "--crate-name",
            name,
            f"--remap-path-prefix={crate_dir}={name}",
            "-o",
            crate_bc,
        ]
        for c in cfg:
            argv += ["--cfg", c]
        argv.append(rel_source)
        rustc = _run(argv, f"rustc ({name})", cwd=crate_dir)
        t = step("rustc", t)

        linked = _run(
            [self.tools.llvm_link, crate_bc, "--only-needed", *self.stdlib_bitcode(), "-S"],
            "llvm-link (core/alloc)",
        ).stdout
        shim = shims.allocator_shim(linked)
        if shim is not None:
            shim_ll = work / "alloc_shim.ll"
            shim_ll.write_text(shim)
            linked_ll = work / "linked.ll"
            linked_ll.write_text(linked)
            linked = _run(
                [self.tools.llvm_link, linked_ll, shim_ll, "-S"], "llvm-link (allocator shim)"
            ).stdout
        t = step("link", t)

        optimized = _run(
            [
                self.tools.opt,
                "-strip-debug",
                f"-passes={OPT_PASSES}",
                f"-internalize-public-api-list={ENTRYPOINT}",
                "-opt-disable=argpromotion",
                f"-inline-max-stacksize={INLINE_MAX_STACK}",
                "-S",
                "-",
            ],
            "opt (O3)",
            stdin=ir_fixups.normalize_target(linked),
        ).stdout
        t = step("opt", t)

        fixed, stats = ir_fixups.rewrite(optimized)
        t = step("fixups", t)
        # Helpers are inlined and cleaned up by a second, short opt run; a
        # program that needed none skips it.
        final = self._link_helpers_and_clean(fixed, work) if "@__solfx_" in fixed else fixed
        for _round in range(2):
            try:
                ir_fixups.check_lowerable(final)
                break
            except ToolchainError:
                again, more = ir_fixups.rewrite(final)
                for k, v in more.counts.items():
                    stats.counts[k] = stats.counts.get(k, 0) + v
                final = self._link_helpers_and_clean(again, work)
        ir_fixups.check_lowerable(final)
        t = step("helpers", t)

        obj = work / f"{name}.o"
        final_ll = work / "final.ll"
        final_ll.write_text(final)
        proc = subprocess.run(
            [str(self.tools.llc), *LLC_FLAGS, str(final_ll), "-o", str(obj)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise ToolchainError(_explain_llc(name, proc.stderr))
        t = step("llc", t)

        link = relink(obj.read_bytes(), allowed_syscalls)
        step("relink", t)
        return BuildResult(
            name=name,
            image=link.image,
            link=link,
            timings=timings,
            fixups=stats.summary(),
            rustc_warnings=rustc.stderr.strip(),
        )

    def _link_helpers_and_clean(self, fixed: str, work: Path) -> str:
        fixed_ll = work / "fixed.ll"
        fixed_ll.write_text(fixed)
        with_helpers = _run(
            [self.tools.llvm_link, fixed_ll, "--only-needed", self.helpers_bitcode(), "-S"],
            "llvm-link (helpers)",
        ).stdout
        return _run(
            [
                self.tools.opt,
                f"-passes={CLEANUP_PASSES}",
                f"-internalize-public-api-list={ENTRYPOINT}",
                "-S",
                "-",
            ],
            "opt (inline helpers)",
            stdin=ir_fixups.normalize_target(with_helpers),
        ).stdout


def _explain_llc(name: str, stderr: str) -> str:
    lines: list[str] = []
    seen: set[str] = set()
    for raw in stderr.strip().splitlines():
        line = raw.strip()
        if not line or line in seen or line.startswith("#") or "Stack dump" in line:
            continue
        seen.add(line)
        m = re.search(r"in function (\S+)", line)
        hint = next((h for key, h in _LLC_HINTS if key in line), None)
        if hint and m:
            line = f"{line}\n    → {hint} (function {m.group(1)})"
        elif hint:
            line = f"{line}\n    → {hint}"
        lines.append(line)
        if len(lines) >= 12:
            break
    return f"llc failed for {name}:\n" + "\n".join(lines)


def build_program(source: Path, name: str, *, cfg: Sequence[str] = ()) -> BuildResult:
    """One-shot build (creates and discards a :class:`Toolchain`)."""
    with Toolchain() as tc:
        return tc.build(source, name, cfg=cfg)
