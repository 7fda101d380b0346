"""SPL Token / Token-2022 / ATA constants, account layouts and the few instructions localnet needs.

Encoded with solders only (``spl.token`` costs ~0.25 s to import; startup must stay fast).
Layouts: a token account is 165 bytes (mint, owner, amount, delegate, state, is_native,
delegated_amount, close_authority); a mint is 82. Token-2022 accounts with extensions are
longer and carry an account-type byte at offset 165 (1 = mint, 2 = account).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID

TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
TOKEN_PROGRAMS = frozenset({TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID})

ACCOUNT_LEN = 165
MINT_LEN = 82
_ACCOUNT_TYPE_OFFSET = 165
_ACCOUNT_TYPE_MINT = 1
_ACCOUNT_TYPE_ACCOUNT = 2

_IX_MINT_TO = 7
_IX_INITIALIZE_MINT2 = 20
_ATA_CREATE_IDEMPOTENT = 1


@dataclass(frozen=True)
class TokenAccountInfo:
    mint: Pubkey
    owner: Pubkey
    amount: int
    delegate: Pubkey | None
    state: int  # 0 uninitialized, 1 initialized, 2 frozen
    is_native: int | None
    delegated_amount: int
    close_authority: Pubkey | None


@dataclass(frozen=True)
class MintInfo:
    mint_authority: Pubkey | None
    supply: int
    decimals: int
    is_initialized: bool
    freeze_authority: Pubkey | None


def _coption_pubkey(data: bytes, offset: int) -> Pubkey | None:
    tag = int.from_bytes(data[offset : offset + 4], "little")
    return Pubkey.from_bytes(data[offset + 4 : offset + 36]) if tag == 1 else None


def is_token_account_data(owner: Pubkey, data: bytes) -> bool:
    if owner not in TOKEN_PROGRAMS or len(data) < ACCOUNT_LEN:
        return False
    if len(data) > ACCOUNT_LEN and (
        owner != TOKEN_2022_PROGRAM_ID or data[_ACCOUNT_TYPE_OFFSET] != _ACCOUNT_TYPE_ACCOUNT
    ):
        return False
    return data[108] != 0  # state: initialized or frozen


def is_mint_data(owner: Pubkey, data: bytes) -> bool:
    if owner not in TOKEN_PROGRAMS or len(data) < MINT_LEN:
        return False
    if len(data) == ACCOUNT_LEN:
        return False
    if len(data) > MINT_LEN and (
        owner != TOKEN_2022_PROGRAM_ID
        or len(data) <= _ACCOUNT_TYPE_OFFSET
        or data[_ACCOUNT_TYPE_OFFSET] != _ACCOUNT_TYPE_MINT
    ):
        return False
    return data[45] == 1


def parse_token_account(data: bytes) -> TokenAccountInfo:
    native_tag = int.from_bytes(data[109:113], "little")
    return TokenAccountInfo(
        mint=Pubkey.from_bytes(data[0:32]),
        owner=Pubkey.from_bytes(data[32:64]),
        amount=int.from_bytes(data[64:72], "little"),
        delegate=_coption_pubkey(data, 72),
        state=data[108],
        is_native=int.from_bytes(data[113:121], "little") if native_tag == 1 else None,
        delegated_amount=int.from_bytes(data[121:129], "little"),
        close_authority=_coption_pubkey(data, 129),
    )


def parse_mint(data: bytes) -> MintInfo:
    return MintInfo(
        mint_authority=_coption_pubkey(data, 0),
        supply=int.from_bytes(data[36:44], "little"),
        decimals=data[44],
        is_initialized=data[45] == 1,
        freeze_authority=_coption_pubkey(data, 46),
    )


def ui_amount_string(amount: int, decimals: int) -> str:
    """``real_number_string_trimmed`` of the account decoder: ``1500000, 6 -> "1.5"``."""
    if decimals == 0:
        return str(amount)
    s = str(amount).rjust(decimals + 1, "0")
    s = f"{s[:-decimals]}.{s[-decimals:]}"
    return s.rstrip("0").rstrip(".")


def ui_token_amount(amount: int, decimals: int) -> dict[str, object]:
    """The RPC's ``UiTokenAmount``."""
    return {
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": amount / 10**decimals,
        "uiAmountString": ui_amount_string(amount, decimals),
    }


def get_associated_token_address(
    owner: Pubkey, mint: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID
) -> Pubkey:
    seeds = [bytes(owner), bytes(token_program), bytes(mint)]
    return Pubkey.find_program_address(seeds, ASSOCIATED_TOKEN_PROGRAM_ID)[0]


def initialize_mint2(
    mint: Pubkey,
    decimals: int,
    mint_authority: Pubkey,
    freeze_authority: Pubkey | None = None,
    token_program: Pubkey = TOKEN_PROGRAM_ID,
) -> Instruction:
    data = struct.pack("<BB", _IX_INITIALIZE_MINT2, decimals) + bytes(mint_authority)
    data += b"\x01" + bytes(freeze_authority) if freeze_authority else b"\x00" + bytes(32)
    return Instruction(token_program, data, [AccountMeta(mint, False, True)])


def mint_to(
    mint: Pubkey,
    destination: Pubkey,
    authority: Pubkey,
    amount: int,
    token_program: Pubkey = TOKEN_PROGRAM_ID,
) -> Instruction:
    return Instruction(
        token_program,
        struct.pack("<BQ", _IX_MINT_TO, amount),
        [
            AccountMeta(mint, False, True),
            AccountMeta(destination, False, True),
            AccountMeta(authority, True, False),
        ],
    )


def create_associated_token_account_idempotent(
    payer: Pubkey, owner: Pubkey, mint: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID
) -> Instruction:
    ata = get_associated_token_address(owner, mint, token_program)
    return Instruction(
        ASSOCIATED_TOKEN_PROGRAM_ID,
        bytes([_ATA_CREATE_IDEMPOTENT]),
        [
            AccountMeta(payer, True, True),
            AccountMeta(ata, False, True),
            AccountMeta(owner, False, False),
            AccountMeta(mint, False, False),
            AccountMeta(SYSTEM_PROGRAM_ID, False, False),
            AccountMeta(token_program, False, False),
        ],
    )
