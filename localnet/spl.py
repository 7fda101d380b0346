"""The few SPL Token / ATA instructions localnet needs, and the RPC's ``UiTokenAmount``.

Encoded with solders only (``spl.token`` costs ~0.25 s to import; startup must stay fast).
Account and mint layouts are decoded by :mod:`bourse_chain.token_layout` (re-exported here
under the names the RPC methods use).
"""

from __future__ import annotations

import struct

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID

from bourse_chain.token_layout import (
    ASSOCIATED_TOKEN_PROGRAM_ID,
    MINT_LEN,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    TOKEN_PROGRAMS,
    MintInfo,
    TokenAccountInfo,
    is_mint_data,
    is_token_account_data,
)
from bourse_chain.token_layout import TOKEN_ACCOUNT_LEN as ACCOUNT_LEN
from bourse_chain.token_layout import associated_token_address as get_associated_token_address
from bourse_chain.token_layout import decode_mint as parse_mint
from bourse_chain.token_layout import decode_token_account as parse_token_account

__all__ = [
    "ACCOUNT_LEN",
    "ASSOCIATED_TOKEN_PROGRAM_ID",
    "MINT_LEN",
    "TOKEN_2022_PROGRAM_ID",
    "TOKEN_PROGRAMS",
    "TOKEN_PROGRAM_ID",
    "MintInfo",
    "TokenAccountInfo",
    "create_associated_token_account_idempotent",
    "get_associated_token_address",
    "initialize_mint2",
    "is_mint_data",
    "is_token_account_data",
    "mint_to",
    "parse_mint",
    "parse_token_account",
    "ui_amount_string",
    "ui_token_amount",
]

_IX_MINT_TO = 7
_IX_INITIALIZE_MINT2 = 20
_ATA_CREATE_IDEMPOTENT = 1


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
