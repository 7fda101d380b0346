"""Differential test of the IR fix-ups: the hello program's integer arithmetic vs Python.

The hello test program (program/toolchain/testdata/hello/lib.rs, tag 1) runs u64, i64,
u32, u128 and i128 operations that upstream LLVM would lower to libcalls (checked and
widening multiplies, 128-bit division, variable 128-bit shifts, signed division) and
returns every result as return data. Each case is one LiteSVM transaction; the bytes must
match this file's Python model exactly.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import TransactionMetadata

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "program" / "toolchain" / "testdata" / "hello" / "lib.rs"
CASES = 1200

needs_toolchain = pytest.mark.skipif(
    not Path("/usr/bin/llc-22").exists(),
    reason="needs the apt toolchain (llvm-22, clang-22, rustc-web, libstd-rust-web-dev-bpf)",
)

M64 = (1 << 64) - 1
M128 = (1 << 128) - 1


def s64(x: int) -> int:
    return x - (1 << 64) if x >> 63 else x


def s128(x: int) -> int:
    return x - (1 << 128) if x >> 127 else x


def tdiv(a: int, b: int) -> int:
    """Division truncating toward zero (Rust / on signed integers)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


class Out:
    def __init__(self) -> None:
        self.buf = bytearray()

    def u64(self, v: int) -> None:
        self.buf += struct.pack("<Q", v & M64)

    def u128(self, v: int) -> None:
        self.u64(v)
        self.u64(v >> 64)

    def opt_u64(self, v: int | None) -> None:
        self.buf.append(0 if v is None else 1)
        self.u64(0 if v is None else v)

    def opt_u128(self, v: int | None) -> None:
        self.buf.append(0 if v is None else 1)
        self.u128(0 if v is None else v)


def in_range(v: int, bits: int, signed: bool) -> int | None:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return v if lo <= v <= hi else None


def signed_div(a: int, b: int, bits: int, rem: bool) -> int | None:
    if b == 0 or (a == -(1 << (bits - 1)) and b == -1):
        return None
    q = tdiv(a, b)
    return a - b * q if rem else q


def expected(a: int, b: int, c: int, e: int, s: int) -> bytes:
    """Python model of `arith` in hello/lib.rs, field by field."""
    o = Out()
    o.u64(a + b)
    o.u64(a - b)
    o.u64(a * b)
    o.opt_u64(in_range(a * b, 64, False))
    o.opt_u64(in_range(a + b, 64, False))
    o.opt_u64(a // b if b else None)
    o.opt_u64(a % b if b else None)
    o.u64(a << (s & 63))
    o.u64(a >> (s & 63))
    sa, sb = s64(a), s64(b)
    o.opt_u64(signed_div(sa, sb, 64, rem=False))
    o.opt_u64(signed_div(sa, sb, 64, rem=True))
    o.opt_u64(in_range(sa * sb, 64, True))
    o.u64(sa >> (s & 63))
    a32, b32 = a & 0xFFFF_FFFF, b & 0xFFFF_FFFF
    o.opt_u64(in_range(a32 * b32, 32, False))
    o.u128(a * b)
    o.u128((c + e) & M128)
    o.u128((c - e) & M128)
    o.u128((c * e) & M128)
    o.opt_u128(in_range(c * e, 128, False))
    o.opt_u128(in_range(c + e, 128, False))
    o.opt_u128(c // e if e else None)
    o.opt_u128(c % e if e else None)
    o.u128((c << (s & 127)) & M128)
    o.u128(c >> (s & 127))
    o.u64(128 - c.bit_length())
    o.u64(bin(c).count("1"))
    sc, se = s128(c), s128(e)
    o.opt_u128(in_range(sc * se, 128, True))
    o.opt_u128(signed_div(sc, se, 128, rem=False))
    o.opt_u128(signed_div(sc, se, 128, rem=True))
    o.u128(sc >> (s & 127))
    ca = in_range(c * a, 128, False)
    o.opt_u128(None if ca is None or e == 0 else ca // e)
    r = s & 127
    o.u128(((c << r) | (c >> (128 - r))) & M128)
    o.u128(((c >> r) | (c << (128 - r))) & M128)
    r = s & 63
    o.u64(((a << r) | (a >> (64 - r))) & M64)
    o.opt_u64(None if sb == 0 or (sa == -(1 << 63) and sb == -1) else sa % abs(sb))
    o.opt_u64(None if sb == 0 or (sa == -(1 << 63) and sb == -1) else (sa - sa % abs(sb)) // sb)
    a32s, b32s = s32(a), s32(b)
    o.opt_u64(none_or_mask(in_range(a32s * b32s, 32, True), 32))
    o.opt_u64(none_or_mask(signed_div(a32s, b32s, 32, rem=False), 32))
    o.opt_u64(none_or_mask(signed_div(s16(a), s16(b), 16, rem=True), 16))
    o.u128(min(c * e, M128))
    o.u128(max(min(sc * se, (1 << 127) - 1), -(1 << 127)))
    o.u64((c & -c).bit_length() - 1 if c else 128)
    o.u128(c**3)
    o.u128(abs(sc))
    return bytes(o.buf)


def s32(x: int) -> int:
    x &= 0xFFFF_FFFF
    return x - (1 << 32) if x >> 31 else x


def s16(x: int) -> int:
    x &= 0xFFFF
    return x - (1 << 16) if x >> 15 else x


def none_or_mask(v: int | None, bits: int) -> int | None:
    return None if v is None else v & ((1 << bits) - 1)


FIELDS = [
    *("add", "sub", "mul", "checked_mul", "checked_add", "checked_div", "checked_rem"),
    *("shl", "shr", "i64_div", "i64_rem", "i64_checked_mul", "i64_shr", "u32_checked_mul"),
    *("widening_mul", "u128_add", "u128_sub", "u128_mul", "u128_checked_mul"),
    *("u128_checked_add", "u128_div", "u128_rem", "u128_shl", "u128_shr", "u128_clz"),
    *("u128_popcount", "i128_checked_mul", "i128_div", "i128_rem", "i128_shr", "mul_div"),
    *("u128_rotl", "u128_rotr", "u64_rotl", "i64_rem_euclid", "i64_div_euclid"),
    *("i32_checked_mul", "i32_checked_div", "i16_checked_rem", "u128_saturating_mul"),
    *("i128_saturating_mul", "u128_ctz", "u128_pow3", "i128_abs"),
]
FIELD_SIZES = (8, 8, 8, 9, 9, 9, 9, 8, 8, 9, 9, 9, 8, 9, 16, 16, 16, 16, 17, 17, 17, 17,
               16, 16, 8, 8, 17, 17, 17, 16, 17, 16, 16, 8, 9, 9, 9, 9, 9, 16, 16, 8,
               16, 16)  # fmt: skip


def first_difference(got: bytes, want: bytes) -> str:
    pos = 0
    for name, size in zip(FIELDS, FIELD_SIZES, strict=True):
        if got[pos : pos + size] != want[pos : pos + size]:
            return f"{name}: got {got[pos : pos + size].hex()} want {want[pos : pos + size].hex()}"
        pos += size
    return f"length {len(got)} vs {len(want)}"


def _u64_gen(rng: random.Random) -> Callable[[], int]:
    edges = [0, 1, 2, 3, 7, 10, 255, 1 << 31, (1 << 32) - 1, 1 << 32, (1 << 63) - 1, 1 << 63,
             M64 - 1, M64]  # fmt: skip

    def gen() -> int:
        kind = rng.randrange(6)
        if kind == 0:
            return rng.choice(edges)
        if kind == 1:
            return rng.getrandbits(rng.randrange(1, 65))
        if kind == 2:
            return rng.getrandbits(32)
        if kind == 3:  # negative as i64
            return (-rng.getrandbits(rng.randrange(1, 63)) - 1) & M64
        return rng.getrandbits(64)

    return gen


def _u128_gen(rng: random.Random) -> Callable[[], int]:
    edges = [0, 1, 2, M64, 1 << 64, (1 << 64) + 1, (1 << 127) - 1, 1 << 127, M128 - 1, M128]

    def gen() -> int:
        kind = rng.randrange(8)
        if kind == 0:
            return rng.choice(edges)
        if kind == 1:
            return rng.getrandbits(rng.randrange(1, 129))
        if kind == 2:  # fits in 64 bits: the common fee-math shape
            return rng.getrandbits(64)
        if kind == 3:  # just above 64 bits: exercises the 128/64 division path
            return rng.getrandbits(rng.randrange(65, 80))
        if kind == 4:  # negative as i128
            return (-rng.getrandbits(rng.randrange(1, 127)) - 1) & M128
        if kind == 5:
            return 1 << rng.randrange(128)
        return rng.getrandbits(128)

    return gen


def cases(n: int, seed: int = 20240611) -> Iterator[tuple[int, int, int, int, int]]:
    rng = random.Random(seed)
    u64, u128 = _u64_gen(rng), _u128_gen(rng)
    seen: set[tuple[int, int, int, int, int]] = set()
    while len(seen) < n:
        case = (u64(), u64(), u128(), u128(), rng.randrange(256))
        if rng.randrange(4) == 0:  # related operands: quotient near a power of two, equal
            case = (case[0], case[0] >> rng.randrange(64), case[2], case[2] >> rng.randrange(128),
                    case[4])  # fmt: skip
        if case not in seen:
            seen.add(case)
            yield case


@pytest.fixture(scope="module")
def hello_so() -> bytes:
    from program.toolchain import Toolchain

    with Toolchain() as tc:
        return tc.build(HELLO, "hello").image


@needs_toolchain
def test_arithmetic_matches_python(hello_so: bytes) -> None:
    svm = LiteSVM()
    program_id = Pubkey.new_unique()
    svm.add_program(program_id, hello_so)
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 10**12)
    failures: list[str] = []
    count = 0
    for a, b, c, e, s in cases(CASES):
        data = bytes([1]) + struct.pack("<QQ", a, b)
        data += (c & M64).to_bytes(8, "little") + (c >> 64).to_bytes(8, "little")
        data += (e & M64).to_bytes(8, "little") + (e >> 64).to_bytes(8, "little") + bytes([s])
        msg = Message.new_with_blockhash(
            [Instruction(program_id, data, [])], payer.pubkey(), svm.latest_blockhash()
        )
        result = svm.send_transaction(VersionedTransaction(msg, [payer]))
        assert isinstance(result, TransactionMetadata), f"case {(a, b, c, e, s)}: {result}"
        got = bytes(result.return_data().data)
        want = expected(a, b, c, e, s)
        if got != want:
            failures.append(f"a={a} b={b} c={c} e={e} s={s}: {first_difference(got, want)}")
        count += 1
    assert count >= 1000
    assert not failures, f"{len(failures)} of {count} cases differ:\n" + "\n".join(failures[:20])


def test_model_field_layout_matches() -> None:
    """The field table used for error messages adds up to the model's output size."""
    assert sum(FIELD_SIZES) == len(expected(1, 2, 3, 4, 5))


# ----------------------------------------------------------------------- IR text rewrites
# (no toolchain needed: these run on hand-written IR)

_IR = """\
define internal fastcc void @callee(ptr %out, i64 %a, i64 %b, i64 %c, i64 %d, i64 %e) {
bb:
  store i64 %e, ptr %out, align 8
  ret void
}

define i64 @entrypoint(ptr %input, i128 %x, i128 %y) {
start:
  %p = mul nuw i128 %x, %y
  %q = udiv exact i128 %p, 10
  %k = shl i128 %q, 3
  %n = load i64, ptr %input, align 8
  call void @llvm.memcpy.p0.p0.i64(ptr %input, ptr align 1 %input, i64 range(i64 0, 9) %n, i1 0)
  call void @llvm.memcpy.p0.p0.i64(ptr align 8 %input, ptr align 8 %input, i64 16, i1 false)
  call void @llvm.memset.p0.i64(ptr align 8 %input, i8 0, i64 100, i1 false)
  %c = tail call i32 @bcmp(ptr %input, ptr %input, i64 32)
  %s = sdiv i64 %n, -3
  %o = tail call { i64, i1 } @llvm.umul.with.overflow.i64(i64 %n, i64 7)
  call fastcc void @callee(ptr sret([8 x i8]) %input, i64 1, i64 2, i64 3, i64 %n, i64 %s)
  ret i64 %s
}
"""


def test_rewrite_replaces_libcall_shapes() -> None:
    from program.toolchain.ir_fixups import check_lowerable, rewrite

    out, stats = rewrite(_IR)
    assert "call void @__solfx_mul128(ptr %__fx." in out
    assert "call void @__solfx_udiv128(" in out and ", i64 10, i64 0)" in out
    assert "shl i128 %q, 3" in out  # constant shifts stay
    assert "call void @sol_memmove_(ptr %input, ptr %input, i64 %n)" in out
    assert "@llvm.memcpy.p0.p0.i64(ptr align 8 %input, ptr align 8 %input, i64 16" in out
    assert "call void @sol_memset_(ptr %input, i8 0, i64 100)" in out
    assert "call void @sol_memcmp_(ptr %input, ptr %input, i64 32, ptr %__fx." in out
    assert "%c = load i32, ptr %__fx." in out
    assert "%s = call i64 @__solfx_sdiv64(i64 %n, i64 -3)" in out
    assert "call void @__solfx_umulo64(" in out
    assert "sret" not in out
    # the 6-register callee takes its 5th and 6th arguments from a block
    assert "define internal fastcc void @callee(ptr %out, i64 %a, i64 %b, i64 %c, ptr" in out
    assert "%e = load i64, ptr %__fx.argp.5" in out
    assert "call fastcc void @callee(ptr %input, i64 1, i64 2, i64 3, ptr %__fx.ab1)" in out
    lines = out.splitlines()
    start = lines.index("start:")
    assert lines[start + 1].lstrip().startswith("%__fx.")  # allocas open the entry block
    assert "alloca" in lines[start + 1]
    for decl in ("@__solfx_mul128(ptr, i64, i64, i64, i64)", "@sol_memmove_(ptr, ptr, i64)"):
        assert f"declare void {decl}" in out
    assert stats.counts["i128.mul"] == 1
    check_lowerable(out.replace("declare", "; declare"))  # nothing unlowerable left


def test_rewrite_rejects_floats_and_address_taken_wide_functions() -> None:
    from program.toolchain import ToolchainError
    from program.toolchain.ir_fixups import rewrite

    floats = "define i64 @f(double %x) {\n  %y = fadd double %x, 1.0\n  ret i64 0\n}\n"
    with pytest.raises(ToolchainError, match="floating point"):
        rewrite(floats)
    taken = _IR + "@table = constant [1 x ptr] [ptr @callee]\n"
    with pytest.raises(ToolchainError, match="used other than by a direct call"):
        rewrite(taken)


def test_check_lowerable_names_the_function() -> None:
    from program.toolchain import ToolchainError
    from program.toolchain.ir_fixups import check_lowerable

    ir = "define i128 @f(i128 %a, i128 %b) {\n  %q = udiv i128 %a, %b\n  ret i128 %q\n}\n"
    with pytest.raises(ToolchainError, match="f: 128-bit udiv"):
        check_lowerable(ir)
