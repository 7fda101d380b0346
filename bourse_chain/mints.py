"""Instructions that create a model token the program will accept.

`tokenize_model` requires a fixed supply (no mint authority) and no freeze
authority; a Token-2022 mint may carry the transfer-fee extension only if its
withdraw-withheld authority is the program's config PDA. These builders mint
the whole supply to the creator and then revoke the mint authority, in one
transaction.

solana-py lacks a TransferCheckedWithFee builder, so `transfer_checked_with_fee`
is written here from the Token-2022 interface (extension tag 26, sub-tag 1).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from spl.token import models as spl_models
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_associated_token_account,
    get_associated_token_address,
    initialize_mint2,
    initialize_transfer_fee_config,
    mint_to_checked,
    set_authority,
)

from bourse_chain.token_layout import MINT_LEN, TRANSFER_FEE_MINT_LEN

#: Lamports per byte-year x 2 years (the rent sysvar's defaults on every cluster).
_RENT_PER_BYTE = 3480 * 2


def rent_exempt_lamports(space: int) -> int:
    """Rent-exempt minimum for `space` bytes (default rent parameters)."""
    return (space + 128) * _RENT_PER_BYTE


@dataclass(frozen=True)
class ModelMint:
    """The instructions creating a model mint, and the addresses they create."""

    mint: Pubkey
    token_program: Pubkey
    creator_token_account: Pubkey
    instructions: list[Instruction]


def spl_model_mint(
    payer: Pubkey, mint: Pubkey, creator: Pubkey, supply: int, decimals: int = 6
) -> ModelMint:
    """A classic SPL mint with `supply` minted to the creator, then frozen forever."""
    return _model_mint(payer, mint, creator, supply, decimals, TOKEN_PROGRAM_ID, None)


@dataclass(frozen=True)
class TransferFeeSetup:
    """The transfer fee a new Token-2022 model mint is created with (the decoded
    extension is :class:`bourse_chain.token_layout.TransferFeeConfig`)."""

    bps: int
    maximum_fee: int
    withdraw_withheld_authority: Pubkey
    config_authority: Pubkey | None = None


def token2022_model_mint(
    payer: Pubkey,
    mint: Pubkey,
    creator: Pubkey,
    supply: int,
    decimals: int = 6,
    transfer_fee: TransferFeeSetup | None = None,
) -> ModelMint:
    """A Token-2022 mint, optionally with the transfer-fee extension."""
    return _model_mint(payer, mint, creator, supply, decimals, TOKEN_2022_PROGRAM_ID, transfer_fee)


def _model_mint(
    payer: Pubkey,
    mint: Pubkey,
    creator: Pubkey,
    supply: int,
    decimals: int,
    token_program: Pubkey,
    fee: TransferFeeSetup | None,
) -> ModelMint:
    space = TRANSFER_FEE_MINT_LEN if fee else MINT_LEN
    ixs = [
        create_account(
            CreateAccountParams(
                from_pubkey=payer,
                to_pubkey=mint,
                lamports=rent_exempt_lamports(space),
                space=space,
                owner=token_program,
            )
        )
    ]
    if fee:
        ixs.append(
            initialize_transfer_fee_config(
                spl_models.InitializeTransferFeeConfigParams(
                    program_id=token_program,
                    mint=mint,
                    transfer_fee_config_authority=fee.config_authority,
                    withdraw_withheld_authority=fee.withdraw_withheld_authority,
                    transfer_fee_basis_points=fee.bps,
                    maximum_fee=fee.maximum_fee,
                )
            )
        )
    ixs.append(
        initialize_mint2(
            spl_models.InitializeMint2Params(
                decimals=decimals,
                program_id=token_program,
                mint=mint,
                mint_authority=payer,
                freeze_authority=None,
            )
        )
    )
    ata = get_associated_token_address(creator, mint, token_program)
    ixs.append(create_associated_token_account(payer, creator, mint, token_program))
    ixs.append(
        mint_to_checked(
            spl_models.MintToCheckedParams(
                program_id=token_program,
                mint=mint,
                dest=ata,
                mint_authority=payer,
                amount=supply,
                decimals=decimals,
                signers=[],
            )
        )
    )
    ixs.append(
        set_authority(
            spl_models.SetAuthorityParams(
                program_id=token_program,
                account=mint,
                authority=spl_models.AuthorityType.MINT_TOKENS,
                current_authority=payer,
                new_authority=None,
                signers=[],
            )
        )
    )
    return ModelMint(
        mint=mint, token_program=token_program, creator_token_account=ata, instructions=ixs
    )


def transfer_checked_with_fee(
    source: Pubkey,
    mint: Pubkey,
    destination: Pubkey,
    owner: Pubkey,
    amount: int,
    decimals: int,
    fee: int,
) -> Instruction:
    """Token-2022 TransferCheckedWithFee: fails with FeeMismatch unless `fee` is exact."""
    data = bytes([26, 1]) + struct.pack("<QBQ", amount, decimals, fee)
    return Instruction(
        TOKEN_2022_PROGRAM_ID,
        data,
        [
            AccountMeta(source, is_signer=False, is_writable=True),
            AccountMeta(mint, is_signer=False, is_writable=False),
            AccountMeta(destination, is_signer=False, is_writable=True),
            AccountMeta(owner, is_signer=True, is_writable=False),
        ],
    )
