"""The named constants of one program's bindings: PDA seed prefixes and fixed addresses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from solders.pubkey import Pubkey

from bourse_chain.codegen.names import upper

#: Addresses every Solana developer knows by name.
WELL_KNOWN = {
    "11111111111111111111111111111111": "SYSTEM_PROGRAM_ID",
    "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA": "TOKEN_PROGRAM_ID",
    "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb": "TOKEN_2022_PROGRAM_ID",
    "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL": "ASSOCIATED_TOKEN_PROGRAM_ID",
    "BPFLoaderUpgradeab1e11111111111111111111111": "BPF_LOADER_UPGRADEABLE_ID",
    "ComputeBudget111111111111111111111111111111": "COMPUTE_BUDGET_PROGRAM_ID",
    "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr": "MEMO_PROGRAM_ID",
    "SysvarRent111111111111111111111111111111111": "SYSVAR_RENT_ID",
    "SysvarC1ock11111111111111111111111111111111": "SYSVAR_CLOCK_ID",
    "Sysvar1nstructions1111111111111111111111111": "SYSVAR_INSTRUCTIONS_ID",
}

_PRINTABLE = re.compile(rb"[A-Za-z0-9_\-.:/ ]+")


@dataclass
class Constants:
    """Collects the constants the builders use, named on first use, rendered in that order."""

    seeds: dict[bytes, str] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)

    def _unique(self, name: str) -> str:
        taken = set(self.seeds.values()) | set(self.addresses.values())
        out, i = name, 2
        while out in taken:
            out, i = f"{name}_{i}", i + 1
        return out

    def seed(self, value: bytes, hint: str) -> str:
        if value not in self.seeds:
            if _PRINTABLE.fullmatch(value):
                base = re.sub(r"[^A-Za-z0-9]+", "_", value.decode()).strip("_").upper()
            else:
                base = upper(hint)
            self.seeds[value] = self._unique(f"SEED_{base or upper(hint)}")
        return self.seeds[value]

    def address(self, b58: str, hint: str) -> str:
        if b58 not in self.addresses:
            name = WELL_KNOWN.get(b58)
            if name is None:
                h = upper(hint)
                name = h if h.endswith("_ID") else f"{h}_ID"
            self.addresses[b58] = self._unique(name)
        return self.addresses[b58]

    def render(self) -> list[str]:
        out: list[str] = []
        if self.seeds:
            out += ["# PDA seed prefixes (const seeds of the IDL's pdas).", ""]
            for value, name in self.seeds.items():
                one = f"{name}: Final = {_bytes_literal(value)}"
                if len(one) <= 100:
                    out.append(one)
                elif (lit := _bytes_literal(value)).startswith("bytes(Pubkey"):
                    out += [f"{name}: Final = bytes(", f"    {lit[len('bytes(') : -1]}", ")"]
                else:
                    out += [f"{name}: Final = (", f"    {lit}", ")"]
            out.append("")
        if self.addresses:
            out += ["# Fixed addresses of instruction accounts and PDA owner programs.", ""]
            for b58, name in self.addresses.items():
                one = f'{name}: Final = Pubkey.from_string("{b58}")'
                if len(one) <= 100:
                    out.append(one)
                else:
                    out += [f"{name}: Final = Pubkey.from_string(", f'    "{b58}"', ")"]
            out.append("")
        return out


def _bytes_literal(value: bytes) -> str:
    if _PRINTABLE.fullmatch(value):
        return f'b"{value.decode()}"'
    if len(value) == 32:
        return f'bytes(Pubkey.from_string("{Pubkey(value)}"))'
    return f'bytes.fromhex("{value.hex()}")'
