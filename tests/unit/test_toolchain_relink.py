"""ELF structure of the relinker's output (SBPF v0 shared object) and its link-time checks."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import Section, SymbolTableSection

from program.toolchain import SYSCALLS, ToolchainError, check_instructions
from program.toolchain.relink import V0_OPCODES

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "program" / "toolchain" / "testdata" / "hello" / "lib.rs"
TOOLCHAIN = Path("/usr/bin/llc-22").exists()
needs_toolchain = pytest.mark.skipif(
    not TOOLCHAIN,
    reason="needs the apt toolchain (llvm-22, clang-22, rustc-web, libstd-rust-web-dev-bpf)",
)
MAPPED = {".text", ".rodata"}
EXPECTED_SECTIONS = {"", ".text", ".rodata", ".dynsym", ".dynstr", ".rel.dyn", ".dynamic",
                     ".shstrtab"}  # fmt: skip


@pytest.fixture(scope="module")
def hello_so() -> bytes:
    from program.toolchain import Toolchain

    with Toolchain() as tc:
        return tc.build(HELLO, "hello").image


@pytest.fixture(scope="module")
def elf(hello_so: bytes) -> ELFFile:
    return ELFFile(io.BytesIO(hello_so))


def section(elf: ELFFile, name: str) -> Section:
    sec = elf.get_section_by_name(name)
    assert sec is not None, f"no {name} section"
    return sec


def insn(opc: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", opc, dst | (src << 4), off, imm)


EXIT = insn(0x95)


# ----------------------------------------------------------------------- built image


@needs_toolchain
def test_header_is_sbpf_v0_shared_object(elf: ELFFile, hello_so: bytes) -> None:
    assert hello_so[:4] == b"\x7fELF"
    assert elf.elfclass == 64 and elf.little_endian
    assert elf["e_type"] == "ET_DYN"
    assert elf["e_machine"] in ("EM_BPF", 247)
    assert elf["e_flags"] == 0  # SBPF v0
    assert elf["e_ident"]["EI_OSABI"] == "ELFOSABI_SYSV"
    text = section(elf, ".text")
    assert text is not None
    entry = elf["e_entry"]
    assert text["sh_addr"] <= entry < text["sh_addr"] + text["sh_size"]
    assert (entry - text["sh_addr"]) % 8 == 0


@needs_toolchain
def test_sections(elf: ELFFile) -> None:
    names = [s.name for s in elf.iter_sections()]
    assert names.count(".text") == 1
    assert set(names) <= EXPECTED_SECTIONS
    for sec in elf.iter_sections():
        assert not sec["sh_flags"] & 0x1, f"{sec.name} is writable"
        if sec["sh_flags"] & 0x2:  # SHF_ALLOC: address must equal file offset
            assert sec["sh_addr"] == sec["sh_offset"], sec.name
    offsets = [s["sh_offset"] for s in elf.iter_sections() if s["sh_type"] != "SHT_NULL"]
    assert offsets == sorted(offsets)


@needs_toolchain
def test_program_headers(elf: ELFFile) -> None:
    loads = [seg for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]
    dynamic = [seg for seg in elf.iter_segments() if seg["p_type"] == "PT_DYNAMIC"]
    assert loads and len(dynamic) == 1
    assert [s["p_vaddr"] for s in loads] == sorted(s["p_vaddr"] for s in loads)
    text = section(elf, ".text")
    assert any(
        s["p_offset"] <= text["sh_offset"] < s["p_offset"] + s["p_filesz"] and s["p_flags"] & 1
        for s in loads
    )


@needs_toolchain
def test_dynamic_symbols_and_relocations_are_only_syscalls(elf: ELFFile) -> None:
    dynsym = section(elf, ".dynsym")
    rel = section(elf, ".rel.dyn")
    text = section(elf, ".text")
    assert isinstance(dynsym, SymbolTableSection) and isinstance(rel, RelocationSection)
    names = [s.name for s in dynsym.iter_symbols()][1:]
    assert names == sorted(set(names))
    assert set(names) <= SYSCALLS
    assert {"sol_log_", "sol_invoke_signed_c", "sol_try_find_program_address"} <= set(names)
    for sym in list(dynsym.iter_symbols())[1:]:
        assert sym["st_shndx"] == "SHN_UNDEF" and sym["st_value"] == 0
    code = text.data()
    used: set[str] = set()
    for r in rel.iter_relocations():
        assert r["r_info_type"] == 10  # R_BPF_64_32
        pos = r["r_offset"] - text["sh_addr"]
        opc, _regs, _off, imm = struct.unpack_from("<BBhi", code, pos)
        assert (opc, imm) == (0x85, -1), f"relocation at {r['r_offset']:#x} is not `call -1`"
        used.add(dynsym.get_symbol(r["r_info_sym"]).name)
    assert used == set(names)
    dynamic = section(elf, ".dynamic")
    assert isinstance(dynamic, DynamicSection)
    tags = {t.entry.d_tag for t in dynamic.iter_tags()}
    assert {"DT_SYMTAB", "DT_STRTAB", "DT_REL", "DT_RELSZ", "DT_RELENT"} <= tags


@needs_toolchain
def test_no_forbidden_opcodes(elf: ELFFile) -> None:
    code = section(elf, ".text").data()
    check_instructions(code)
    calls = 0
    pos = 0
    while pos < len(code):
        opc, _regs, off, imm = struct.unpack_from("<BBhi", code, pos)
        assert opc & 0x07 != 0x06, f"JMP32 at {pos:#x}"
        assert opc not in (0xC3, 0xDB), f"atomic at {pos:#x}"
        assert opc in V0_OPCODES, f"opcode {opc:#x} at {pos:#x}"
        if opc in (0x34, 0x3C, 0x37, 0x3F, 0x94, 0x9C, 0x97, 0x9F):
            assert off == 0, f"signed div/mod at {pos:#x}"
        if opc == 0x85 and imm != -1:  # internal call: pc-relative, inside .text
            target = pos // 8 + 1 + imm
            assert 0 <= target < len(code) // 8
            calls += 1
        pos += 16 if opc == 0x18 else 8
    assert calls > 0


@needs_toolchain
def test_lddw_of_a_string_is_its_absolute_address(elf: ELFFile) -> None:
    """The log message's pointer is resolved at link time to MM_PROGRAM_START + its offset."""
    code = section(elf, ".text").data()
    rodata = section(elf, ".rodata")
    where = rodata.data().find(b"hello from the toolchain")
    assert where >= 0
    want = 0x1_0000_0000 + rodata["sh_addr"] + where
    values = set()
    pos = 0
    while pos < len(code):
        opc, _regs, _off, imm = struct.unpack_from("<BBhi", code, pos)
        if opc == 0x18:
            (hi,) = struct.unpack_from("<I", code, pos + 12)
            values.add((hi << 32) | (imm & 0xFFFFFFFF))
            pos += 16
        else:
            pos += 8
    assert want in values


# ----------------------------------------------------------------------- instruction checks


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (insn(0x16, 1, 0, 1, 0) + EXIT, "JMP32"),  # jeq32 w1, 0
        (insn(0xDB, 1, 2) + EXIT, "atomic"),  # lock *(u64 *)(r1) += r2
        (insn(0x3F, 1, 2, off=1) + EXIT, "signed division"),  # sdiv r1, r2 (cpu v4)
        (insn(0x9F, 1, 2, off=1) + EXIT, "signed division"),  # smod
        (insn(0xBF, 1, 2, off=8) + EXIT, "sign-extending"),  # movsx
        (insn(0x91, 1, 2) + EXIT, "not in SBPF v0"),  # ldxsb (cpu v4)
        (insn(0xD7, 1, imm=16) + EXIT, "not in SBPF v0"),  # bswap16 (cpu v4)
        (insn(0x18, 1) + EXIT, "incomplete lddw"),
        (b"\x95\x00\x00\x00", "multiple of 8"),
    ],
)
def test_check_instructions_rejects(code: bytes, message: str) -> None:
    with pytest.raises(ToolchainError, match=message):
        check_instructions(code)


def test_check_instructions_accepts_v0() -> None:
    code = (
        insn(0xB7, 0, imm=1)  # mov r0, 1
        + insn(0x18, 1, imm=5) + insn(0, imm=1)  # lddw r1, 0x1_0000_0005
        + insn(0x3F, 0, 1)  # div r0, r1 (unsigned)
        + insn(0x85, imm=-1)  # syscall
        + insn(0x8D, imm=2)  # callx r2 (v0: register in imm)
        + EXIT
    )  # fmt: skip
    check_instructions(code)


# ----------------------------------------------------------------------- link-time errors


def _build_snippet(tmp_path: Path, body: str) -> None:
    from program.toolchain import Toolchain

    src = tmp_path / "lib.rs"
    src.write_text(
        "#![no_std]\n"
        'extern "C" { fn abort() -> !; fn sol_log_64_(a: u64, b: u64, c: u64, d: u64, e: u64); }\n'
        "#[panic_handler] fn panic(_: &core::panic::PanicInfo) -> ! { unsafe { abort() } }\n" + body
    )
    with Toolchain() as tc:
        tc.build(src, "snippet")


@needs_toolchain
def test_static_mut_is_rejected(tmp_path: Path) -> None:
    body = (
        "static mut COUNTER: u64 = 5;\n"
        '#[no_mangle] pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {\n'
        "    COUNTER += *(input as *const u64); sol_log_64_(COUNTER, 0, 0, 0, 0); 0 }\n"
    )
    with pytest.raises(ToolchainError, match=r"writable section \.data"):
        _build_snippet(tmp_path, body)


@needs_toolchain
def test_unknown_syscall_is_rejected(tmp_path: Path) -> None:
    body = (
        'extern "C" { fn sol_not_a_real_syscall(x: u64) -> u64; }\n'
        '#[no_mangle] pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {\n'
        "    sol_not_a_real_syscall(*(input as *const u64)) }\n"
    )
    with pytest.raises(ToolchainError, match="unknown syscall 'sol_not_a_real_syscall'"):
        _build_snippet(tmp_path, body)


@needs_toolchain
def test_oversized_stack_frame_is_explained(tmp_path: Path) -> None:
    body = (
        '#[no_mangle] pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {\n'
        "    let mut buf = [0u8; 5000];\n"
        "    let n = *(input as *const u64) as usize;\n"
        "    core::ptr::write_volatile(&mut buf[n % 5000], 3);\n"
        "    sol_log_64_(buf[(n * 7) % 5000] as u64, 0, 0, 0, 0); 0 }\n"
    )
    with pytest.raises(ToolchainError, match="more than 4 KiB of stack"):
        _build_snippet(tmp_path, body)


@needs_toolchain
def test_six_argument_function_keeps_working(tmp_path: Path) -> None:
    """A non-inlined function with 6 arguments gets an argument block instead of failing."""
    body = (
        "#[inline(never)] fn six(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64) -> u64 {\n"
        "    a ^ (b << 1) ^ (c << 2) ^ (d << 3) ^ (e << 4) ^ (f << 5) }\n"
        '#[no_mangle] pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {\n'
        "    let p = input as *const u64;\n"
        "    let r = six(*p, *p.add(1), *p.add(2), *p.add(3), *p.add(4), *p.add(5));\n"
        "    sol_log_64_(r, 0, 0, 0, 0); 0 }\n"
    )
    _build_snippet(tmp_path, body)
