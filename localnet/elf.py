"""Tiny SBPF v0 ELF images, hand-assembled: test programs for the loader and the RPC.

Real programs come from ``program/bin``; these exist so that the deploy path and the
transaction/log plumbing can be exercised without a toolchain. Each image has one
``.text`` (and optionally ``.rodata``), addresses equal to file offsets, and syscalls left as
``call -1`` with an ``R_BPF_64_32`` dynamic relocation against the syscall's name, which the
loader resolves (or rejects as ``Unresolved symbol``) at deploy time.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

MM_PROGRAM_START = 0x1_0000_0000
EM_BPF = 247
_ET_DYN = 3
_PT_LOAD = 1
_SHT_PROGBITS = 1
_SHT_STRTAB = 3
_SHF_ALLOC = 0x2
_SHF_EXECINSTR = 0x4
_SHT_DYNAMIC = 6
_SHT_REL = 9
_SHT_DYNSYM = 11
_PT_NULL = 0
_PT_DYNAMIC = 2
_DT_STRTAB = 5
_DT_SYMTAB = 6
_DT_REL = 17
_DT_RELSZ = 18
_DT_RELENT = 19
_R_BPF_64_32 = 10
#: ELF header (64) + two program headers (2 x 56), already 8-aligned.
_TEXT_OFFSET = 64 + 2 * 56


def _ins(opcode: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", opcode, (src << 4) | dst, off, imm)


def _lddw(dst: int, value: int) -> bytes:
    lo, hi = value & 0xFFFFFFFF, value >> 32
    return struct.pack("<BBhI", 0x18, dst, 0, lo) + struct.pack("<BBhI", 0, 0, 0, hi)


def _mov_imm(dst: int, imm: int) -> bytes:
    return _ins(0xB7, dst=dst, imm=imm)


def _call() -> bytes:
    """``call -1``: a syscall placeholder, patched through a relocation."""
    return _ins(0x85, imm=-1)


_EXIT = _ins(0x95)


def _shdr(
    name: int,
    kind: int,
    flags: int,
    offset: int,
    size: int,
    link: int = 0,
    align: int = 1,
    entsize: int = 0,
) -> bytes:
    return struct.pack(
        "<IIQQQQIIQQ", name, kind, flags, offset, offset, size, link, 0, align, entsize
    )


def build_elf(text: bytes, rodata: bytes = b"", syscalls: Sequence[tuple[int, str]] = ()) -> bytes:
    """Wrap instructions (and read-only data placed right after them) into an SBPF v0 .so.

    ``text`` may reference rodata at ``rodata_address(len(text))``; ``syscalls`` lists
    ``(byte offset in text of a call instruction, syscall name)`` pairs, emitted as
    ``R_BPF_64_32`` dynamic relocations the loader resolves (or rejects) at deploy time.
    """
    text_off = _TEXT_OFFSET
    ro_off = text_off + len(text)
    names = [".text", ".rodata", ".dynamic", ".dynsym", ".dynstr", ".rel.dyn", ".shstrtab"]
    shstrtab = b"\0" + b"".join(n.encode() + b"\0" for n in names)
    name_at = {n: shstrtab.index(b"\0" + n.encode() + b"\0") + 1 for n in names}

    out = bytearray(bytes(text_off))
    out += text + rodata
    sections: list[bytes] = [bytes(64)]
    sections.append(
        _shdr(
            name_at[".text"],
            _SHT_PROGBITS,
            _SHF_ALLOC | _SHF_EXECINSTR,
            text_off,
            len(text),
            align=8,
        )
    )
    if rodata:
        sections.append(_shdr(name_at[".rodata"], _SHT_PROGBITS, _SHF_ALLOC, ro_off, len(rodata)))
    load_end = len(out)
    dyn_off = dyn_size = 0
    if syscalls:
        dynstr = bytearray(b"\0")
        syms = bytearray(bytes(24))
        rels = bytearray()
        index: dict[str, int] = {}
        for at, name in syscalls:
            if name not in index:
                index[name] = len(syms) // 24
                syms += struct.pack("<IBBHQQ", len(dynstr), 0x10, 0, 0, 0, 0)
                dynstr += name.encode() + b"\0"
            rels += struct.pack("<QQ", text_off + at, (index[name] << 32) | _R_BPF_64_32)
        out += bytes((-len(out)) % 8)
        dyn_off = len(out)
        dyn_size = 16 * 6
        sym_off = dyn_off + dyn_size
        str_off = sym_off + len(syms)
        rel_off = str_off + len(dynstr)
        rel_off += (-rel_off) % 8
        dynamic = struct.pack(
            "<12Q",
            _DT_SYMTAB,
            sym_off,
            _DT_STRTAB,
            str_off,
            _DT_REL,
            rel_off,
            _DT_RELSZ,
            len(rels),
            _DT_RELENT,
            16,
            0,
            0,
        )
        out += dynamic + syms + dynstr
        out += bytes(rel_off - len(out))
        out += rels
        first_dyn = len(sections)
        sections.append(
            _shdr(
                name_at[".dynamic"],
                _SHT_DYNAMIC,
                _SHF_ALLOC,
                dyn_off,
                dyn_size,
                link=first_dyn + 2,
                align=8,
                entsize=16,
            )
        )
        sections.append(
            _shdr(
                name_at[".dynsym"],
                _SHT_DYNSYM,
                _SHF_ALLOC,
                sym_off,
                len(syms),
                link=first_dyn + 2,
                align=8,
                entsize=24,
            )
        )
        sections.append(_shdr(name_at[".dynstr"], _SHT_STRTAB, _SHF_ALLOC, str_off, len(dynstr)))
        sections.append(
            _shdr(
                name_at[".rel.dyn"],
                _SHT_REL,
                _SHF_ALLOC,
                rel_off,
                len(rels),
                link=first_dyn + 1,
                align=8,
                entsize=16,
            )
        )
    str_off = len(out)
    out += shstrtab
    sections.append(_shdr(name_at[".shstrtab"], _SHT_STRTAB, 0, str_off, len(shstrtab)))
    out += bytes((-len(out)) % 8)
    sh_off = len(out)
    for sec in sections:
        out += sec

    phdrs = struct.pack(
        "<IIQQQQQQ",
        _PT_LOAD,
        5,
        text_off,
        text_off,
        text_off,
        load_end - text_off,
        load_end - text_off,
        8,
    )
    if syscalls:
        phdrs += struct.pack(
            "<IIQQQQQQ", _PT_DYNAMIC, 4, dyn_off, dyn_off, dyn_off, dyn_size, dyn_size, 8
        )
    else:
        phdrs += struct.pack("<IIQQQQQQ", _PT_NULL, 0, 0, 0, 0, 0, 0, 0)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    ehdr = ident + struct.pack(
        "<HHIQQQIHHHHHH",
        _ET_DYN,
        EM_BPF,
        1,
        text_off,
        64,
        sh_off,
        0,
        64,
        56,
        2,
        64,
        len(sections),
        len(sections) - 1,
    )
    out[0 : len(ehdr) + len(phdrs)] = ehdr + phdrs
    return bytes(out)


def rodata_address(text_len: int) -> int:
    """The VM address of the first rodata byte for a ``text`` of ``text_len`` bytes."""
    return MM_PROGRAM_START + _TEXT_OFFSET + text_len


def noop_program() -> bytes:
    """``return 0``: the smallest valid program."""
    return build_elf(_mov_imm(0, 0) + _EXIT)


def log_program(message: str = "hello from localnet") -> bytes:
    """Logs ``message`` with ``sol_log_`` then returns 0."""
    msg = message.encode()
    text_len = 8 * 6
    head = _lddw(1, rodata_address(text_len)) + _mov_imm(2, len(msg))
    text = head + _call() + _mov_imm(0, 0) + _EXIT
    return build_elf(text, msg, [(len(head), "sol_log_")])


def failing_program(code: int) -> bytes:
    """Returns custom error ``code`` (a ``Custom(code)`` InstructionError)."""
    return build_elf(_mov_imm(0, code) + _EXIT)


def unresolved_syscall_program() -> bytes:
    """Calls a syscall that does not exist: the loader must reject it at deploy time."""
    return build_elf(_call() + _mov_imm(0, 0) + _EXIT, syscalls=[(0, "sol_no_such_syscall")])


def return_data_program(data: bytes) -> bytes:
    """Sets ``data`` as return data (``sol_set_return_data``), logs, then returns 0."""
    text_len = 8 * 6
    head = _lddw(1, rodata_address(text_len)) + _mov_imm(2, len(data))
    text = head + _call() + _mov_imm(0, 0) + _EXIT
    return build_elf(text, data, [(len(head), "sol_set_return_data")])
