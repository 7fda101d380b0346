"""Textual LLVM IR rewrites that let upstream ``llc`` compile Rust for Solana.

Upstream LLVM's BPF backend targets the Linux kernel: it refuses libcalls
(``memcpy``, ``__multi3``, ``__udivti3`` …), aggregate returns, more than five
argument registers and (before cpu v4) signed division. Solana's SBPF v0 offers
syscalls for the memory functions and nothing for the rest. Each rewrite here
works on one instruction line of ``llvm-dis`` output, so every pattern is a
plain, documented instruction form; anything the rewrites do not recognise is
left for :func:`check_lowerable` to report by name before ``llc`` runs.

The rewrites (see README.md for the why of each):

* ``llvm.memcpy``/``llvm.memmove``/``llvm.memset`` with a runtime length (or a
  constant one above :data:`INLINE_MEM_MAX`) → ``sol_memmove_``/``sol_memset_``;
  ``memcmp``/``bcmp`` → ``sol_memcmp_`` (result through a pointer).
* ``sret`` attributes are dropped (the BPF backend calls them aggregate
  returns; the callee writes through the pointer either way).
* i128 ``mul``/``udiv``/``urem``/``sdiv``/``srem``, variable i128 shifts and
  funnel shifts, ``llvm.[us]mul.with.overflow.{i64,i128}`` and signed
  ``sdiv``/``srem`` of i64 and narrower → calls to the always-inline helpers in
  ``c/solfx.c``.
* Internal functions needing more than five argument registers get their
  excess parameters through a caller-built argument block (one pointer).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from program.toolchain.errors import ToolchainError

#: Constant-length memory intrinsics up to this many bytes stay inline (llc
#: expands them to loads/stores, cheaper than the ~10 CU syscall).
INLINE_MEM_MAX = 64

_NAME = r'(?:%[-a-zA-Z$._0-9]+|%"[^"]*")'
_INT_TYPE = re.compile(r"^i(\d+)$")
_BINOP_RE = re.compile(
    rf"^(?P<indent>\s*)(?P<res>{_NAME}) = (?P<op>mul|udiv|urem|sdiv|srem|shl|lshr|ashr)"
    r"(?P<flags>(?: (?:nuw|nsw|exact))*) (?P<ty>\S+) (?P<rest>.*)$"
)
_CALL_RE = re.compile(
    rf"^(?P<indent>\s*)(?:(?P<res>{_NAME}) = )?(?P<kind>(?:tail |musttail |notail )?call) "
    r"(?P<rest>.*)$"
)
_CALLEE_RE = re.compile(r"@([-a-zA-Z$._0-9]+)\(")
_DEFINE_RE = re.compile(r"^define [^@]*@([-a-zA-Z$._0-9]+|\"[^\"]*\")\(")
_LABEL_RE = re.compile(r'^(?:[-a-zA-Z$._0-9]+|"[^"]*"):')
_INT_LITERAL = re.compile(r"^-?\d+$")
_FLOAT_OPS = re.compile(
    r"= (?:fadd|fsub|fmul|fdiv|frem|fneg|fptoui|fptosi|uitofp|sitofp|fpext|fptrunc|fcmp) "
)
_ATTR_WORDS = frozenset(
    {
        "noundef",
        "nonnull",
        "noalias",
        "nocapture",
        "readonly",
        "writeonly",
        "readnone",
        "zeroext",
        "signext",
        "inreg",
        "returned",
        "immarg",
        "nofree",
        "dead_on_unwind",
        "writable",
        "swiftself",
        "swifterror",
        "allocalign",
        "allocptr",
        "nest",
    }
)
_ATTR_CALLS = (
    "align",
    "dereferenceable",
    "dereferenceable_or_null",
    "captures",
    "range",
    "initializes",
    "sret",
    "byval",
    "byref",
    "preallocated",
    "inalloca",
    "elementtype",
    "nofpclass",
    "dead_on_return",
)

#: Syscall name → (parameter types, return type) used by the rewrites.
MEM_SYSCALLS: dict[str, tuple[tuple[str, ...], str]] = {
    "sol_memcpy_": (("ptr", "ptr", "i64"), "void"),
    "sol_memmove_": (("ptr", "ptr", "i64"), "void"),
    "sol_memset_": (("ptr", "i8", "i64"), "void"),
    "sol_memcmp_": (("ptr", "ptr", "i64", "ptr"), "void"),
}

#: Helper name → (parameter types, return type); bodies live in c/solfx.c.
HELPERS: dict[str, tuple[tuple[str, ...], str]] = {
    **{
        f"__solfx_{op}128": (("ptr", "i64", "i64", "i64", "i64"), "void")
        for op in ("mul", "udiv", "urem", "sdiv", "srem", "umulo", "smulo")
    },
    **{
        f"__solfx_{op}128": (("ptr", "i64", "i64", "i64"), "void") for op in ("shl", "lshr", "ashr")
    },
    "__solfx_umulo64": (("ptr", "i64", "i64"), "void"),
    "__solfx_smulo64": (("ptr", "i64", "i64"), "void"),
    "__solfx_sdiv64": (("i64", "i64"), "i64"),
    "__solfx_srem64": (("i64", "i64"), "i64"),
}


@dataclass
class FixupStats:
    """What the rewrites changed (shown with ``-v``)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def summary(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items())) or "none"


# --------------------------------------------------------------------------- parsing


def split_top(text: str, sep: str = ",") -> list[str]:
    """Split ``text`` on ``sep`` outside (), [], {}, <> and quotes."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    tail = text[start:].strip()
    if tail or parts:
        parts.append(tail)
    return parts


def _matching_paren(text: str, open_index: int) -> int:
    depth = 0
    quoted = False
    for i in range(open_index, len(text)):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    raise ToolchainError(f"unbalanced parentheses in IR: {text.strip()[:200]}")


def _strip_attrs(text: str) -> str:
    """Drop leading parameter attributes (``noundef``, ``align 8``, ``range(..)``…)."""
    s = text.strip()
    while True:
        word = re.match(r"[a-z_]+", s)
        if not word:
            return s
        w = word.group(0)
        rest = s[len(w) :]
        if w in _ATTR_WORDS and (not rest or rest[0] == " "):
            s = rest.strip()
        elif w == "align" and re.match(r"\s+\d+", rest):
            s = re.sub(r"^\s+\d+", "", rest).strip()
        elif w in _ATTR_CALLS and rest.startswith("("):
            s = rest[_matching_paren(rest, 0) + 1 :].strip()
        else:
            return s


@dataclass
class Arg:
    """One call argument: its type and its value text (attributes dropped)."""

    ty: str
    value: str

    @property
    def text(self) -> str:
        return f"{self.ty} {self.value}"


def parse_arg(text: str) -> Arg:
    text = text.strip()
    if text.startswith("{") or text.startswith("["):
        close = {"{": "}", "[": "]"}[text[0]]
        end = text.index(close) + 1
        ty, rest = text[:end], text[end:]
    else:
        ty, _, rest = text.partition(" ")
    return Arg(ty, _strip_attrs(rest))


@dataclass
class Call:
    indent: str
    result: str | None
    kind: str
    prefix: str  # everything between "call " and "@callee"
    callee: str
    args: list[Arg]
    suffix: str  # everything after the closing parenthesis


def parse_call(line: str) -> Call | None:
    m = _CALL_RE.match(line)
    if not m:
        return None
    rest = m.group("rest")
    cm = _CALLEE_RE.search(rest)
    if not cm:
        return None
    open_index = cm.end() - 1
    close = _matching_paren(rest, open_index)
    args = [parse_arg(a) for a in split_top(rest[open_index + 1 : close])]
    return Call(
        indent=m.group("indent"),
        result=m.group("res"),
        kind=m.group("kind"),
        prefix=rest[: cm.start()],
        callee=cm.group(1),
        args=args,
        suffix=rest[close + 1 :],
    )


def _int_width(ty: str) -> int | None:
    m = _INT_TYPE.match(ty)
    return int(m.group(1)) if m else None


def _const_int(value: str) -> int | None:
    if _INT_LITERAL.match(value):
        return int(value)
    if value in ("true", "false"):
        return int(value == "true")
    return None


# --------------------------------------------------------------------------- module


@dataclass
class _Function:
    name: str
    start: int  # index of the define line
    end: int  # index of the closing "}"


def _functions(lines: list[str]) -> Iterator[_Function]:
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("define ") and line.rstrip().endswith("{"):
            m = _DEFINE_RE.match(line)
            name = m.group(1) if m else "?"
            j = i + 1
            while lines[j] != "}":
                j += 1
            yield _Function(name, i, j)
            i = j
        i += 1


class _Rewriter:
    """Rewrites one module; new values are named ``%__fx.N``."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.counter = 0
        self.stats = FixupStats()
        self.needed_decls: dict[str, tuple[tuple[str, ...], str]] = {}
        self.allocas: list[str] = []

    # -- helpers
    def tmp(self) -> str:
        self.counter += 1
        return f"%__fx.{self.counter}"

    def alloca(self, words: int) -> str:
        name = self.tmp()
        self.allocas.append(f"  {name} = alloca [{words} x i64], align 8")
        return name

    def need(self, name: str, sig: tuple[tuple[str, ...], str]) -> None:
        self.needed_decls[name] = sig

    def limbs(self, value: str, out: list[str], indent: str) -> tuple[str, str]:
        """(lo, hi) i64 operands of an i128 value."""
        const = _const_int(value)
        if const is not None:
            const &= (1 << 128) - 1
            return str(const & (2**64 - 1)), str(const >> 64)
        lo, sh, hi = self.tmp(), self.tmp(), self.tmp()
        out.append(f"{indent}{lo} = trunc i128 {value} to i64")
        out.append(f"{indent}{sh} = lshr i128 {value}, 64")
        out.append(f"{indent}{hi} = trunc i128 {sh} to i64")
        return lo, hi

    def low64(self, ty: str, value: str, out: list[str], indent: str) -> str:
        const = _const_int(value)
        if const is not None:
            return str(const & (2**64 - 1))
        if ty == "i64":
            return value
        t = self.tmp()
        op = "trunc" if ty == "i128" else "zext"
        out.append(f"{indent}{t} = {op} {ty} {value} to i64")
        return t

    def call_helper128(
        self, helper: str, args: list[str], indent: str, out: list[str], words: int = 2
    ) -> str:
        slot = self.alloca(max(words, 2))
        self.need(helper, HELPERS[helper])
        arg_text = ", ".join(f"i64 {a}" for a in args)
        out.append(f"{indent}call void @{helper}(ptr {slot}, {arg_text})")
        return slot

    # -- rewrites
    def rewrite_binop(self, line: str, out: list[str]) -> bool:
        m = _BINOP_RE.match(line)
        if not m:
            return False
        ty, op, res, ind = m.group("ty"), m.group("op"), m.group("res"), m.group("indent")
        ops = [p for p in split_top(m.group("rest")) if not p.startswith("!")]
        if len(ops) != 2:
            return False
        a, b = ops
        if ty.startswith("<"):
            if "i128" in ty or op in ("sdiv", "srem"):
                raise ToolchainError(f"vector {op} on {ty} is not supported: {line.strip()}")
            return False
        width = _int_width(ty)
        if width is None:
            return False
        if width == 128:
            if op in ("shl", "lshr", "ashr"):
                if _const_int(b) is not None:
                    return False  # constant shifts lower inline
                al, ah = self.limbs(a, out, ind)
                s = self.low64("i128", b, out, ind)
                slot = self.call_helper128(f"__solfx_{op}128", [al, ah, s], ind, out)
            else:
                al, ah = self.limbs(a, out, ind)
                bl, bh = self.limbs(b, out, ind)
                slot = self.call_helper128(f"__solfx_{op}128", [al, ah, bl, bh], ind, out)
            out.append(f"{ind}{res} = load i128, ptr {slot}, align 8")
            self.stats.add(f"i128.{op}")
            return True
        if op in ("sdiv", "srem") and width <= 64:
            helper = f"__solfx_{op}64"
            self.need(helper, HELPERS[helper])
            args = []
            for v in (a, b):
                const = _const_int(v)
                if const is not None:
                    args.append(str(const))
                elif width == 64:
                    args.append(v)
                else:
                    t = self.tmp()
                    out.append(f"{ind}{t} = sext {ty} {v} to i64")
                    args.append(t)
            if width == 64:
                out.append(f"{ind}{res} = call i64 @{helper}(i64 {args[0]}, i64 {args[1]})")
            else:
                t = self.tmp()
                out.append(f"{ind}{t} = call i64 @{helper}(i64 {args[0]}, i64 {args[1]})")
                out.append(f"{ind}{res} = trunc i64 {t} to {ty}")
            self.stats.add(f"i{width}.{op}")
            return True
        return False

    def rewrite_call(self, line: str, out: list[str]) -> bool:
        call = parse_call(line)
        if call is None:
            return False
        name, ind, res, args = call.callee, call.indent, call.result, call.args
        base = name.split(".p0")[0]
        if base in ("llvm.memcpy", "llvm.memmove", "memcpy", "memmove"):
            n = _const_int(args[2].value)
            if n is not None and n <= INLINE_MEM_MAX and name.startswith("llvm."):
                return False
            length = self.low64(args[2].ty, args[2].value, out, ind)
            self.need("sol_memmove_", MEM_SYSCALLS["sol_memmove_"])
            out.append(
                f"{ind}call void @sol_memmove_(ptr {args[0].value}, ptr {args[1].value}, "
                f"i64 {length})"
            )
            if res is not None:  # libc memcpy returns dst
                out.append(f"{ind}{res} = getelementptr i8, ptr {args[0].value}, i64 0")
            self.stats.add(base.removeprefix("llvm."))
            return True
        if base in ("llvm.memset", "memset"):
            n = _const_int(args[2].value)
            if n is not None and n <= INLINE_MEM_MAX and name.startswith("llvm."):
                return False
            length = self.low64(args[2].ty, args[2].value, out, ind)
            value = args[1].value
            if args[1].ty != "i8":
                value = self.tmp()
                out.append(f"{ind}{value} = trunc {args[1].text} to i8")
            self.need("sol_memset_", MEM_SYSCALLS["sol_memset_"])
            out.append(
                f"{ind}call void @sol_memset_(ptr {args[0].value}, i8 {value}, i64 {length})"
            )
            if res is not None:
                out.append(f"{ind}{res} = getelementptr i8, ptr {args[0].value}, i64 0")
            self.stats.add("memset")
            return True
        if name in ("memcmp", "bcmp"):
            slot = self.tmp()
            self.allocas.append(f"  {slot} = alloca i32, align 4")
            length = self.low64(args[2].ty, args[2].value, out, ind)
            self.need("sol_memcmp_", MEM_SYSCALLS["sol_memcmp_"])
            out.append(
                f"{ind}call void @sol_memcmp_(ptr {args[0].value}, ptr {args[1].value}, "
                f"i64 {length}, ptr {slot})"
            )
            if res is not None:
                out.append(f"{ind}{res} = load i32, ptr {slot}, align 4")
            self.stats.add(name)
            return True
        m = re.match(r"llvm\.([us])mul\.with\.overflow\.i(\d+)$", name)
        if m and res is not None:
            sign, width = m.group(1), int(m.group(2))
            if width not in (64, 128):
                return False  # narrower ones widen to a native 64-bit multiply
            a, b = args
            if width == 64:
                slot = self.alloca(2)
                helper = f"__solfx_{sign}mulo64"
                self.need(helper, HELPERS[helper])
                out.append(f"{ind}call void @{helper}(ptr {slot}, {a.text}, {b.text})")
                flag_off = 8
            else:
                al, ah = self.limbs(a.value, out, ind)
                bl, bh = self.limbs(b.value, out, ind)
                slot = self.call_helper128(f"__solfx_{sign}mulo128", [al, ah, bl, bh], ind, out, 3)
                flag_off = 16
            ty = f"i{width}"
            val, fp, fw, flag, agg = (self.tmp() for _ in range(5))
            out.append(f"{ind}{val} = load {ty}, ptr {slot}, align 8")
            out.append(f"{ind}{fp} = getelementptr inbounds i8, ptr {slot}, i64 {flag_off}")
            out.append(f"{ind}{fw} = load i64, ptr {fp}, align 8")
            out.append(f"{ind}{flag} = icmp ne i64 {fw}, 0")
            out.append(f"{ind}{agg} = insertvalue {{ {ty}, i1 }} poison, {ty} {val}, 0")
            out.append(f"{ind}{res} = insertvalue {{ {ty}, i1 }} {agg}, i1 {flag}, 1")
            self.stats.add(f"{sign}mulo{width}")
            return True
        m = re.match(r"llvm\.(fsh[lr])\.i128$", name)
        if m and res is not None:
            fa, fb, fc = (x.value for x in args)
            if _const_int(fc) is not None:
                return False
            # fshl(a, b, c) = c%128 == 0 ? a : (a << c%128) | (b >> (128 - c%128)); fshr mirrors
            cm = self.tmp()
            out.append(f"{ind}{cm} = and i128 {fc}, 127")
            inv = self.tmp()
            out.append(f"{ind}{inv} = sub i128 128, {cm}")
            # fshr(a, b, c) = c%128 == 0 ? b : (a << (128 - c%128)) | (b >> c%128)
            sh_a, sh_b = (cm, inv) if m.group(1) == "fshl" else (inv, cm)
            part: list[str] = []
            for op, v, s in (("shl", fa, sh_a), ("lshr", fb, sh_b)):
                vl, vh = self.limbs(v, out, ind)
                sl = self.low64("i128", s, out, ind)
                slot = self.call_helper128(f"__solfx_{op}128", [vl, vh, sl], ind, out)
                t = self.tmp()
                out.append(f"{ind}{t} = load i128, ptr {slot}, align 8")
                part.append(t)
            both, zero = self.tmp(), self.tmp()
            out.append(f"{ind}{both} = or i128 {part[0]}, {part[1]}")
            out.append(f"{ind}{zero} = icmp eq i128 {cm}, 0")
            keep = fa if m.group(1) == "fshl" else fb
            out.append(f"{ind}{res} = select i1 {zero}, i128 {keep}, i128 {both}")
            self.stats.add(f"{m.group(1)}128")
            return True
        return False

    # -- driver
    def run(self) -> str:
        new_lines: list[str] = []
        pos = 0
        for fn in list(_functions(self.lines)):
            new_lines.extend(self.lines[pos : fn.start])
            body: list[str] = []
            self.allocas = []
            for line in self.lines[fn.start + 1 : fn.end]:
                line = _drop_sret(line)
                if " = " in line and _FLOAT_OPS.search(line):
                    raise ToolchainError(
                        f"floating point is not supported on SBPF (function {fn.name}): "
                        f"{line.strip()}"
                    )
                if self.rewrite_binop(line, body) or self.rewrite_call(line, body):
                    continue
                body.append(line)
            new_lines.append(_drop_sret(self.lines[fn.start]))
            if self.allocas:
                insert_at = 1 if body and _LABEL_RE.match(body[0]) else 0
                body[insert_at:insert_at] = self.allocas
            new_lines.extend(body)
            new_lines.append("}")
            pos = fn.end + 1
        new_lines.extend(self.lines[pos:])
        new_lines = [_drop_sret(x) if x.startswith("declare ") else x for x in new_lines]
        text = "\n".join(new_lines)
        return self.add_declarations(text)

    def add_declarations(self, text: str) -> str:
        extra: list[str] = []
        for name, (params, ret) in sorted(self.needed_decls.items()):
            m = re.search(rf"^declare (.*)@{re.escape(name)}\((.*)\)", text, re.MULTILINE)
            if m is None:
                extra.append(f"declare {ret} @{name}({', '.join(params)})")
                continue
            have = tuple(parse_arg(p).ty for p in split_top(m.group(2)))
            if have != params:
                raise ToolchainError(
                    f"{name} is declared as ({', '.join(have)}) but the fix-ups call it as "
                    f"({', '.join(params)}); fix the extern declaration"
                )
        if extra:
            text = text.rstrip("\n") + "\n\n" + "\n".join(extra) + "\n"
        return text


def _drop_sret(line: str) -> str:
    while True:
        i = line.find("sret(")
        if i < 0:
            return line
        end = _matching_paren(line, i + 4)
        line = line[:i].rstrip() + " " + line[end + 1 :].lstrip()


def normalize_target(text: str, cpu: str = "v2") -> str:
    """Pin every function to one cpu and drop per-function feature strings.

    Debian's core is built for cpu "generic"; a cpu mismatch blocks inlining
    and lets JMP32 instructions in. Inlining also needs equal feature strings.
    """
    text = re.sub(r'"target-cpu"="[^"]*"', f'"target-cpu"="{cpu}"', text)
    return re.sub(r'\s*"target-features"="[^"]*"', "", text)


def rewrite(text: str) -> tuple[str, FixupStats]:
    """Apply all instruction rewrites; returns the new IR and what changed."""
    rw = _Rewriter(text)
    out = rw.run()
    out = split_wide_signatures(out, rw.stats)
    return out, rw.stats


# --------------------------------------------------------------------------- argument registers


def _param_words(ty: str) -> int:
    width = _int_width(ty)
    if width is not None and width > 64:
        return (width + 63) // 64
    if ty.startswith("{") or ty.startswith("["):
        return max(1, len(split_top(ty[1:-1])))
    return 1


@dataclass
class _WideSignature:
    """How one function's parameters are split between registers and an argument block."""

    kept: list[int]  # indexes of parameters still passed in registers
    moved: list[tuple[int, str, int]]  # (index, type, byte offset in the block)
    block_words: int


def _plan_split(params: list[Arg]) -> _WideSignature:
    kept: list[int] = []
    moved: list[tuple[int, str, int]] = []
    regs = 0
    offset = 0
    for i, p in enumerate(params):
        words = _param_words(p.ty)
        if p.ty.startswith("{") or p.ty.startswith("["):
            raise ToolchainError(f"cannot move aggregate parameter {p.text} to an argument block")
        if not moved and regs + words <= 4:
            kept.append(i)
            regs += words
        else:
            offset = _align_up(offset, 8 * words)
            moved.append((i, p.ty, offset))
            offset += 8 * words
    return _WideSignature(kept, moved, max(1, offset // 8))


def _align_up(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def split_wide_signatures(text: str, stats: FixupStats | None = None) -> str:
    """Pass the excess parameters of >5-register internal functions through memory.

    SBPF has five argument registers (a u128 or slice takes two, an ``sret``
    pointer one). For each internal function needing more, the first
    parameters that fit in four registers stay, the rest are stored by every
    caller into an ``alloca`` block whose address becomes the fifth argument,
    and the callee loads them back in its entry block. Needs named values
    (run ``instnamer`` first) and direct calls only.
    """
    lines = text.split("\n")
    plans: dict[str, _WideSignature] = {}
    for i, line in enumerate(lines):
        if not (line.startswith("define internal ") or line.startswith("define private ")):
            continue
        m = _DEFINE_RE.match(line)
        if not m:
            continue
        open_index = m.end() - 1
        close = _matching_paren(line, open_index)
        param_texts = split_top(line[open_index + 1 : close])
        params = [parse_arg(p) for p in param_texts]
        if sum(_param_words(p.ty) for p in params) <= 5:
            continue
        name = m.group(1)
        if any(not p.value.startswith("%") for p in params):
            raise ToolchainError(f"unnamed parameters in {name}: run instnamer first")
        plan = _plan_split(params)
        plans[name] = plan
        new_params = [param_texts[k] for k in plan.kept] + ["ptr noalias %__fx.argblock"]
        lines[i] = line[: open_index + 1] + ", ".join(new_params) + line[close:]
        loads: list[str] = []
        for idx, ty, off in plan.moved:
            gep = f"%__fx.argp.{idx}"
            loads.append(f"  {gep} = getelementptr inbounds i8, ptr %__fx.argblock, i64 {off}")
            loads.append(f"  {params[idx].value} = load {ty}, ptr {gep}, align 8")
        insert_at = i + 1
        if _LABEL_RE.match(lines[insert_at]):
            insert_at += 1
        lines[insert_at:insert_at] = loads
        if stats is not None:
            stats.add("argblock(>5 registers)")
    if not plans:
        return text

    names = "|".join(re.escape(n) for n in sorted(plans, key=len, reverse=True))
    use_re = re.compile(rf"@({names})(?![-a-zA-Z$._0-9])(\(?)")
    out: list[str] = []
    counter = 0
    entry_allocas: list[str] = []
    fn_start = -1
    for line in lines:
        if line.startswith("define "):
            fn_start = len(out)
            entry_allocas = []
            out.append(line)
            continue
        if line == "}" and fn_start >= 0:
            if entry_allocas:
                at = fn_start + 1
                if _LABEL_RE.match(out[at]):
                    at += 1
                out[at:at] = entry_allocas
            fn_start = -1
            out.append(line)
            continue
        uses = list(use_re.finditer(line))
        if not uses:
            out.append(line)
            continue
        call = parse_call(line)
        if call is None or call.callee not in plans or len(uses) != 1 or not uses[0].group(2):
            raise ToolchainError(
                f"function {uses[0].group(1)} needs more than 5 argument registers and is "
                f"used other than by a direct call: {line.strip()[:200]}"
            )
        plan = plans[call.callee]
        counter += 1
        block = f"%__fx.ab{counter}"
        entry_allocas.append(f"  {block} = alloca [{plan.block_words} x i64], align 8")
        for idx, ty, off in plan.moved:
            arg = call.args[idx]
            gep = f"{block}.{idx}"
            out.append(f"{call.indent}{gep} = getelementptr inbounds i8, ptr {block}, i64 {off}")
            out.append(f"{call.indent}store {ty} {arg.value}, ptr {gep}, align 8")
        args = [call.args[k].text for k in plan.kept] + [f"ptr {block}"]
        result = f"{call.result} = " if call.result else ""
        kind = "notail call" if "musttail" in call.kind else "call"  # block lives in our frame
        out.append(
            f"{call.indent}{result}{kind} {call.prefix}@{call.callee}({', '.join(args)})"
            f"{call.suffix}"
        )
    return "\n".join(out)


# --------------------------------------------------------------------------- final check

_FORBIDDEN_CALLS = re.compile(
    r"@(memcpy|memmove|memset|memcmp|bcmp|__\w+ti3|__mulodi4|__muloti4)\("
)


def check_lowerable(text: str) -> None:
    """Raise a :class:`ToolchainError` naming the first construct llc cannot lower."""
    problems: list[str] = []
    lines = text.split("\n")
    for fn in _functions(lines):
        for line in lines[fn.start + 1 : fn.end]:
            s = line.strip()
            m = _BINOP_RE.match(line)
            if m:
                ops = [p for p in split_top(m.group("rest")) if not p.startswith("!")]
                width = _int_width(m.group("ty"))
                op = m.group("op")
                variable = _const_int(ops[1]) is None
                if width == 128 and (op not in ("shl", "lshr", "ashr") or variable):
                    problems.append(f"{fn.name}: 128-bit {op}: {s}")
                elif op in ("sdiv", "srem"):
                    problems.append(f"{fn.name}: signed division: {s}")
            call = parse_call(line) if " call " in line else None
            if call is not None:
                base = call.callee.split(".p0")[0]
                if base in ("llvm.memcpy", "llvm.memmove", "llvm.memset"):
                    n = _const_int(call.args[2].value)
                    if n is None or n > INLINE_MEM_MAX:
                        problems.append(f"{fn.name}: {base} of runtime length: {s}")
                elif _FORBIDDEN_CALLS.search(line) or re.search(
                    r"@llvm\.[us]mul\.with\.overflow\.i(64|128)\(", line
                ):
                    problems.append(f"{fn.name}: libcall: {s}")
    if problems:
        shown = "\n  ".join(problems[:10])
        raise ToolchainError(f"IR still needs libcalls after the fix-ups:\n  {shown}")
