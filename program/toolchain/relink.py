"""Relinker: relocatable eBPF object (``llc`` output) → Solana SBPF v0 program.

The SBPF v0 loader maps the file at ``MM_PROGRAM_START`` + file offset, so the
output keeps every section's address equal to its file offset and resolves
every internal reference here, at link time:

* ``lddw`` immediates (R_BPF_64_64) and pointers stored in read-only data
  (R_BPF_64_ABS64) become absolute VM addresses;
* calls between functions (R_BPF_64_32 against a defined symbol, or resolved
  by the assembler) become pc-relative ``call imm``;
* only syscalls stay dynamic: ``call -1`` plus an R_BPF_64_32 entry in
  ``.rel.dyn`` against a ``.dynsym`` symbol carrying the syscall's name.

The image holds ``.text``, ``.rodata`` (all read-only input data merged),
``.dynsym``, ``.dynstr``, ``.rel.dyn``, ``.dynamic`` and ``.shstrtab``; two
PT_LOAD headers and a PT_DYNAMIC. Everything is laid out in a fixed order from
the input alone, so the same object always gives the same bytes.

Instructions are checked against the SBPF v0 instruction set: JMP32, atomics,
signed division and the other cpu v3/v4 forms are rejected, and ``callx`` is
re-encoded (LLVM puts the register in a register field, v0 wants it in imm).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import Section, SymbolTableSection

from program.toolchain.errors import ToolchainError
from program.toolchain.syscalls import SYSCALLS

MM_PROGRAM_START = 0x1_0000_0000
INSN_SIZE = 8
ENTRYPOINT = "entrypoint"

EM_BPF = 247
ET_DYN = 3
SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
SHT_PROGBITS = 1
SHT_STRTAB = 3
SHT_DYNAMIC = 6
SHT_NOBITS = 8
SHT_REL = 9
SHT_DYNSYM = 11
PT_LOAD = 1
PT_DYNAMIC = 2
PF_X, PF_R = 1, 4
DT_NULL, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT = 0, 5, 6, 10, 11
DT_REL, DT_RELSZ, DT_RELENT, DT_TEXTREL = 17, 18, 19, 22

R_BPF_64_64 = 1
R_BPF_64_ABS64 = 2
R_BPF_64_32 = 10

OP_LDDW = 0x18
OP_CALL = 0x85
OP_CALLX = 0x8D
OP_EXIT = 0x95

# SBPF v0 opcodes (sbpf crate, ebpf.rs) other than lddw/call/callx/exit.
_ALU_OPS = (0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xA0, 0xB0, 0xC0)
_JMP_OPS = (0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xA0, 0xB0, 0xC0, 0xD0)
V0_OPCODES: frozenset[int] = frozenset(
    {0x61, 0x69, 0x71, 0x79, 0x62, 0x6A, 0x72, 0x7A, 0x63, 0x6B, 0x73, 0x7B}  # ldx, st, stx
    | {cls | op | src for cls in (0x04, 0x07) for op in _ALU_OPS for src in (0x00, 0x08)}
    | {0x84, 0x87, 0xD4, 0xDC}  # neg32, neg64, le, be
    | {0x05 | op | src for op in _JMP_OPS for src in (0x00, 0x08)}
    | {0x05, OP_LDDW, OP_CALL, OP_CALLX, OP_EXIT}
)
_DIV_MOD = frozenset({0x34, 0x3C, 0x37, 0x3F, 0x94, 0x9C, 0x97, 0x9F})
_MOV = frozenset({0xB4, 0xBC, 0xB7, 0xBF})


@dataclass
class LinkResult:
    """The program image and what went into it."""

    image: bytes
    text_size: int
    rodata_size: int
    syscalls: list[str] = field(default_factory=list)


@dataclass
class _Input:
    index: int
    name: str
    data: bytearray
    align: int
    out_offset: int = 0


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def _insn(text: bytes | bytearray, off: int) -> tuple[int, int, int, int, int]:
    """(opcode, dst, src, offset, imm) of the instruction at byte ``off``."""
    opc, regs, offset, imm = struct.unpack_from("<BBhi", text, off)
    return opc, regs & 0xF, regs >> 4, offset, imm


def _describe(opc: int, off: int, function_at: dict[int, str] | None) -> str:
    where = f"at .text+{off:#x}"
    if function_at:
        starts = [s for s in function_at if s <= off]
        if starts:
            where += f" in {function_at[max(starts)]}"
    return f"opcode {opc:#04x} {where}"


def check_instructions(text: bytes | bytearray, function_at: dict[int, str] | None = None) -> None:
    """Raise unless every instruction in ``text`` is valid SBPF v0."""
    if len(text) % INSN_SIZE:
        raise ToolchainError(f".text size {len(text)} is not a multiple of {INSN_SIZE}")
    off = 0
    while off < len(text):
        opc, dst, src, offset, imm = _insn(text, off)
        problem = _v0_problem(text, off, opc, dst, src, offset, imm)
        if problem is not None:
            raise ToolchainError(problem.format(what=_describe(opc, off, function_at)))
        if opc == OP_LDDW:
            off += 2 * INSN_SIZE
            continue
        off += INSN_SIZE


def _v0_problem(
    text: bytes | bytearray, off: int, opc: int, dst: int, src: int, offset: int, imm: int
) -> str | None:
    """Why the instruction is not valid SBPF v0 (a template with ``{what}``), or None."""
    if opc & 0x07 == 0x06:
        return "JMP32 instruction ({what}) is not in SBPF v0: build for cpu v2"
    if opc in (0xC3, 0xDB):
        return "atomic instruction ({what}): SBPF has no atomics"
    if opc in _DIV_MOD and offset != 0:
        return "signed division ({what}) is not in SBPF v0: divide unsigned values"
    if opc in _MOV and offset != 0:
        return "sign-extending move ({what}) is not in SBPF v0"
    if opc not in V0_OPCODES:
        return "instruction {what} is not in SBPF v0"
    if opc == OP_LDDW and (off + 2 * INSN_SIZE > len(text) or text[off + INSN_SIZE] != 0):
        return "incomplete lddw {what}"
    if opc == OP_CALLX and not (0 <= imm <= 9 and dst == 0 and src == 0):
        return "callx not in SBPF v0 encoding ({what})"
    return None


def _symbol_table(elf: ELFFile) -> SymbolTableSection:
    symtab = elf.get_section_by_name(".symtab")
    if not isinstance(symtab, SymbolTableSection):
        raise ToolchainError("object file has no symbol table")
    return symtab


def relink(obj: bytes, allowed_syscalls: Iterable[str] = SYSCALLS) -> LinkResult:
    """Link one relocatable eBPF object into an SBPF v0 shared object."""
    allowed = frozenset(allowed_syscalls)
    elf = ELFFile(io.BytesIO(obj))
    if elf.elfclass != 64 or not elf.little_endian:
        raise ToolchainError("expected a 64-bit little-endian ELF object")
    if elf["e_machine"] not in ("EM_BPF", EM_BPF) or elf["e_type"] != "ET_REL":
        raise ToolchainError(f"expected an eBPF relocatable object, got {elf['e_machine']}")

    texts: list[_Input] = []
    rodatas: list[_Input] = []
    for index, sec in enumerate(elf.iter_sections()):
        flags = sec["sh_flags"]
        if not flags & SHF_ALLOC:
            continue
        size = sec["sh_size"]
        data = bytearray(sec.data()) if sec["sh_type"] != "SHT_NOBITS" else bytearray(size)
        item = _Input(index, sec.name, data, max(1, sec["sh_addralign"]))
        if flags & SHF_EXECINSTR:
            texts.append(item)
        elif flags & SHF_WRITE and not sec.name.startswith(".data.rel.ro"):
            if size == 0:
                continue
            raise ToolchainError(
                f"writable section {sec.name} ({size} bytes): SBPF v0 programs cannot have "
                "mutable statics (static mut, atomics, interior mutability in statics)"
            )
        else:
            rodatas.append(item)
    if not texts:
        raise ToolchainError("object has no code")

    # ---- layout: ELF header, program headers, .text, .rodata, dynamic sections
    n_phdrs = 3
    offset = 64 + 56 * n_phdrs
    text_off = offset = _align(offset, INSN_SIZE)
    for t in texts:
        offset = _align(offset, max(t.align, INSN_SIZE))
        t.out_offset = offset
        offset += len(t.data)
    text_end = _align(offset, INSN_SIZE)
    offset = text_end
    rodata_align = max([8, *(r.align for r in rodatas)])
    rodata_off = offset = _align(offset, rodata_align)
    for r in rodatas:
        offset = _align(offset, r.align)
        r.out_offset = offset
        offset += len(r.data)
    rodata_end = offset
    placed = {item.index: item for item in (*texts, *rodatas)}

    text = bytearray(text_end - text_off)
    for t in texts:
        text[t.out_offset - text_off : t.out_offset - text_off + len(t.data)] = t.data
    rodata = bytearray(rodata_end - rodata_off)
    for r in rodatas:
        rodata[r.out_offset - rodata_off : r.out_offset - rodata_off + len(r.data)] = r.data

    # ---- symbols
    symtab = _symbol_table(elf)
    function_at: dict[int, str] = {}
    entry: int | None = None
    for sym in symtab.iter_symbols():
        shndx = sym["st_shndx"]
        if isinstance(shndx, int) and shndx in placed and sym["st_info"]["type"] == "STT_FUNC":
            addr = placed[shndx].out_offset + sym["st_value"]
            function_at[addr - text_off] = sym.name
            if sym.name == ENTRYPOINT and sym["st_info"]["bind"] == "STB_GLOBAL":
                entry = addr
    if entry is None:
        raise ToolchainError(f"no global function named {ENTRYPOINT!r} in .text")

    def symbol_address(sym_index: int, where: str) -> tuple[str, int | None, bool]:
        """(name, output address or None if undefined, is in .text)."""
        sym = symtab.get_symbol(sym_index)
        shndx = sym["st_shndx"]
        if shndx == "SHN_UNDEF":
            return sym.name, None, False
        if shndx == "SHN_ABS":
            return sym.name, sym["st_value"], False
        if not isinstance(shndx, int) or shndx not in placed:
            raise ToolchainError(f"relocation {where} refers to unsupported symbol {sym.name!r}")
        target = placed[shndx]
        return sym.name, target.out_offset + sym["st_value"], any(t is target for t in texts)

    # ---- relocations
    syscall_sites: list[tuple[int, str]] = []  # (offset in .text, name)
    relocated_calls: set[int] = set()
    for rel_sec in elf.iter_sections():
        if not isinstance(rel_sec, RelocationSection):
            continue
        if rel_sec.is_RELA():
            raise ToolchainError(f"unexpected RELA section {rel_sec.name}")
        target_index = rel_sec["sh_info"]
        if target_index not in placed:
            continue  # debug info, BTF, …
        target = placed[target_index]
        in_text = any(t is target for t in texts)
        for rel in rel_sec.iter_relocations():
            r_type = rel["r_info_type"]
            r_off = rel["r_offset"]
            where = f"in {target.name}+{r_off:#x}"
            name, addr, sym_in_text = symbol_address(rel["r_info_sym"], where)
            if in_text:
                pos = target.out_offset - text_off + r_off
                opc, _dst, _src, _o, imm = _insn(text, pos)
                if r_type == R_BPF_64_64:
                    if opc != OP_LDDW:
                        raise ToolchainError(f"R_BPF_64_64 on a non-lddw instruction {where}")
                    if addr is None:
                        raise ToolchainError(f"undefined symbol {name!r} referenced {where}")
                    value = MM_PROGRAM_START + addr + (imm & 0xFFFFFFFF)
                    struct.pack_into("<I", text, pos + 4, value & 0xFFFFFFFF)
                    struct.pack_into("<I", text, pos + 12, value >> 32)
                elif r_type == R_BPF_64_32:
                    if opc != OP_CALL:
                        raise ToolchainError(f"R_BPF_64_32 on a non-call instruction {where}")
                    relocated_calls.add(pos)
                    if addr is None:
                        if name not in allowed:
                            caller = _function_name(function_at, pos)
                            raise ToolchainError(
                                f"unknown syscall {name!r} called from {caller}: not in the "
                                "relinker's allow-list (program/toolchain/syscalls.py); is it "
                                "a typo, or a libc/compiler-rt function the fix-ups missed?"
                            )
                        syscall_sites.append((pos, name))
                        text[pos + 1] = 0x00  # dst = src = 0
                        struct.pack_into("<i", text, pos + 4, -1)
                    else:
                        if not sym_in_text:
                            raise ToolchainError(f"call to non-code symbol {name!r} {where}")
                        dest = addr + (imm + 1) * INSN_SIZE - text_off
                        _write_relative_call(text, pos, dest, where)
                else:
                    raise ToolchainError(f"unsupported relocation type {r_type} {where}")
            else:
                pos = target.out_offset - rodata_off + r_off
                if r_type != R_BPF_64_ABS64:
                    raise ToolchainError(
                        f"unsupported relocation type {r_type} in read-only data {where}"
                    )
                if addr is None:
                    raise ToolchainError(f"undefined symbol {name!r} referenced {where}")
                (addend,) = struct.unpack_from("<Q", rodata, pos)
                struct.pack_into("<Q", rodata, pos, MM_PROGRAM_START + addr + addend)

    # ---- calls resolved by the assembler, callx encoding, instruction set
    for pos in range(0, len(text), INSN_SIZE):  # lddw tails have opcode 0: never match
        opc, dst, src, _o, imm = _insn(text, pos)
        if opc == OP_CALL and pos not in relocated_calls:
            if imm == -1:
                raise ToolchainError(f"unresolved call at .text+{pos:#x}")
            text[pos + 1] = 0x10  # internal call: src = 1
        elif opc == OP_CALLX:
            reg = dst if dst != 0 else src
            if imm != 0 and (dst, src) == (0, 0):
                reg = imm
            text[pos + 1] = 0x00
            struct.pack_into("<i", text, pos + 4, reg)
    check_instructions(text, function_at)

    # ---- dynamic symbols and relocations (syscalls only)
    names = sorted({n for _, n in syscall_sites})
    dynstr = bytearray(b"\0")
    name_off: dict[str, int] = {}
    for n in names:
        name_off[n] = len(dynstr)
        dynstr += n.encode() + b"\0"
    dynsym = bytearray(24)
    for n in names:  # STB_GLOBAL | STT_FUNC, undefined
        dynsym += struct.pack("<IBBHQQ", name_off[n], 0x12, 0, 0, 0, 0)
    sym_index = {n: i + 1 for i, n in enumerate(names)}

    dynsym_off = _align(rodata_end, 8)
    dynstr_off = dynsym_off + len(dynsym)
    reldyn_off = _align(dynstr_off + len(dynstr), 8)
    reldyn = bytearray()
    for pos, n in sorted(syscall_sites):
        reldyn += struct.pack("<QQ", text_off + pos, (sym_index[n] << 32) | R_BPF_64_32)
    dynamic_off = _align(reldyn_off + len(reldyn), 8)
    dyn_entries = [
        (DT_SYMTAB, dynsym_off),
        (DT_STRTAB, dynstr_off),
        (DT_STRSZ, len(dynstr)),
        (DT_SYMENT, 24),
    ]
    if reldyn:
        dyn_entries += [
            (DT_REL, reldyn_off),
            (DT_RELSZ, len(reldyn)),
            (DT_RELENT, 16),
            (DT_TEXTREL, 0),
        ]
    dyn_entries.append((DT_NULL, 0))
    dynamic = b"".join(struct.pack("<QQ", tag, val) for tag, val in dyn_entries)
    dynamic_end = dynamic_off + len(dynamic)

    # ---- section headers
    shstrtab = bytearray(b"\0")

    def sh_name(n: str) -> int:
        off = len(shstrtab)
        shstrtab.extend(n.encode() + b"\0")
        return off

    sections: list[tuple[str, int, int, int, int, int, int, int, int]] = []
    # (name, type, flags, offset, size, link, info, align, entsize)
    sections.append(
        (".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text_off, len(text), 0, 0, 8, 0)
    )
    if rodata:
        sections.append(
            (".rodata", SHT_PROGBITS, SHF_ALLOC, rodata_off, len(rodata), 0, 0, rodata_align, 0)
        )
    dynsym_idx = len(sections) + 1
    dynstr_idx = dynsym_idx + 1
    sections.append(
        (".dynsym", SHT_DYNSYM, SHF_ALLOC, dynsym_off, len(dynsym), dynstr_idx, 1, 8, 24)
    )
    sections.append((".dynstr", SHT_STRTAB, SHF_ALLOC, dynstr_off, len(dynstr), 0, 0, 1, 0))
    if reldyn:
        sections.append(
            (".rel.dyn", SHT_REL, SHF_ALLOC, reldyn_off, len(reldyn), dynsym_idx, 0, 8, 16)
        )
    sections.append(
        (".dynamic", SHT_DYNAMIC, SHF_ALLOC, dynamic_off, len(dynamic), dynstr_idx, 0, 8, 16)
    )
    shstrtab_off = dynamic_end
    names_off = [sh_name(s[0]) for s in sections]
    shstrtab_name = sh_name(".shstrtab")
    shdr_off = _align(shstrtab_off + len(shstrtab), 8)
    shnum = len(sections) + 2

    out = bytearray(shdr_off + 64 * shnum)
    # ELF header
    out[0:16] = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    struct.pack_into(
        "<HHIQQQIHHHHHH",
        out,
        16,
        ET_DYN,
        EM_BPF,
        1,
        entry,
        64,
        shdr_off,
        0,
        64,
        56,
        n_phdrs,
        64,
        shnum,
        shnum - 1,
    )
    # program headers
    phdrs = [
        (PT_LOAD, PF_R | PF_X, text_off, rodata_end - text_off, 8),
        (PT_LOAD, PF_R, dynsym_off, dynamic_end - dynsym_off, 8),
        (PT_DYNAMIC, PF_R, dynamic_off, len(dynamic), 8),
    ]
    for i, (p_type, flags, off, size, align) in enumerate(phdrs):
        struct.pack_into(
            "<IIQQQQQQ", out, 64 + 56 * i, p_type, flags, off, off, off, size, size, align
        )
    # contents
    out[text_off : text_off + len(text)] = text
    out[rodata_off : rodata_off + len(rodata)] = rodata
    out[dynsym_off : dynsym_off + len(dynsym)] = dynsym
    out[dynstr_off : dynstr_off + len(dynstr)] = dynstr
    out[reldyn_off : reldyn_off + len(reldyn)] = reldyn
    out[dynamic_off : dynamic_off + len(dynamic)] = dynamic
    out[shstrtab_off : shstrtab_off + len(shstrtab)] = shstrtab
    # section headers (index 0 stays all zero)
    for i, (_n, s_type, flags, off, size, link, info, align, entsize) in enumerate(sections):
        struct.pack_into(
            "<IIQQQQIIQQ",
            out,
            shdr_off + 64 * (i + 1),
            names_off[i],
            s_type,
            flags,
            off,
            off,
            size,
            link,
            info,
            align,
            entsize,
        )
    struct.pack_into(
        "<IIQQQQIIQQ",
        out,
        shdr_off + 64 * (shnum - 1),
        shstrtab_name,
        SHT_STRTAB,
        0,
        0,
        shstrtab_off,
        len(shstrtab),
        0,
        0,
        1,
        0,
    )
    return LinkResult(bytes(out), len(text), len(rodata), names)


def _function_name(function_at: dict[int, str], pos: int) -> str:
    starts = [s for s in function_at if s <= pos]
    return function_at[max(starts)] if starts else f".text+{pos:#x}"


def _write_relative_call(text: bytearray, pos: int, dest: int, where: str) -> None:
    if dest % INSN_SIZE or not 0 <= dest < len(text):
        raise ToolchainError(f"call target outside .text {where}")
    rel = (dest - pos) // INSN_SIZE - 1
    text[pos + 1] = 0x10
    struct.pack_into("<i", text, pos + 4, rel)


def read_sections(image: bytes) -> dict[str, Section]:
    """Sections of a linked image by name (for tests and ``-v`` output)."""
    elf = ELFFile(io.BytesIO(image))
    return {s.name: s for s in elf.iter_sections()}
