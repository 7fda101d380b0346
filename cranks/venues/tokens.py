"""Just enough SPL Token / Token-2022 decoding to quote: balances, decimals, transfer fees.

Layouts (both programs share the base ones):

* token account: ``mint`` [0..32], ``owner`` [32..64], ``amount`` u64 [64..72],
  ``state`` u8 at 108 (0 uninitialized, 1 initialized, 2 frozen); base length 165.
* mint: ``mint_authority`` COption (u32 tag at 0), ``supply`` u64 at 36, ``decimals`` u8 at
  44, ``is_initialized`` at 45, ``freeze_authority`` COption (u32 tag at 46); base length 82.
  A Token-2022 mint with extensions is padded to 165, has the account type (1 = mint) at
  165, then TLV entries (``u16`` type, ``u16`` length, value) from 166.
* ``TransferFeeConfig`` (extension type 1, 108 bytes): two authorities (32 + 32),
  ``withheld_amount`` u64, then ``older`` and ``newer`` fees, each ``epoch`` u64,
  ``maximum_fee`` u64, ``transfer_fee_basis_points`` u16. The newer fee applies from its
  epoch on; the fee on a transfer of ``a`` is ``min(ceil(a * bps / 10000), maximum_fee)``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
CLOCK_SYSVAR_ID = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")
TOKEN_PROGRAMS = (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)

MINT_LEN = 82
TOKEN_ACCOUNT_LEN = 165
ACCOUNT_TYPE_MINT = 1
EXT_TRANSFER_FEE_CONFIG = 1
TRANSFER_FEE_CONFIG_LEN = 108
ONE_IN_BASIS_POINTS = 10_000

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_TLV_HEADER = struct.Struct("<HH")
_FEE = struct.Struct("<QQH")  # epoch, maximum_fee, transfer_fee_basis_points
_CLOCK = struct.Struct("<QqQQq")  # slot, epoch_start_timestamp, epoch, leader_epoch, unix_ts


class TokenDecodeError(ValueError):
    """Account data that is not the token account, mint or sysvar we expected."""


@dataclass(frozen=True, slots=True)
class TransferFee:
    epoch: int
    maximum_fee: int
    basis_points: int

    def fee(self, amount: int) -> int:
        """Token-2022's fee on a transfer of ``amount`` (ceil, capped at ``maximum_fee``)."""
        if self.basis_points == 0 or amount == 0:
            return 0
        raw = -(-amount * self.basis_points // ONE_IN_BASIS_POINTS)
        return min(raw, self.maximum_fee)


@dataclass(frozen=True, slots=True)
class TransferFeeConfig:
    older: TransferFee
    newer: TransferFee

    def fee(self, amount: int, epoch: int | None) -> int:
        """The fee at ``epoch``; with the epoch unknown, the larger of the two (conservative)."""
        if epoch is None:
            return max(self.older.fee(amount), self.newer.fee(amount))
        return (self.newer if epoch >= self.newer.epoch else self.older).fee(amount)


@dataclass(frozen=True, slots=True)
class MintInfo:
    decimals: int
    transfer_fee: TransferFeeConfig | None = None
    #: Token-2022 extension types present, in TLV order (empty for a base-size mint).
    extensions: tuple[int, ...] = ()
    has_mint_authority: bool = False
    has_freeze_authority: bool = False
    supply: int = 0

    def transfer_fee_on(self, amount: int, epoch: int | None) -> int:
        return 0 if self.transfer_fee is None else self.transfer_fee.fee(amount, epoch)

    def received(self, amount: int, epoch: int | None) -> int:
        """What arrives when ``amount`` is sent."""
        return amount - self.transfer_fee_on(amount, epoch)


@dataclass(frozen=True, slots=True)
class TokenAccountInfo:
    mint: Pubkey
    owner: Pubkey
    amount: int
    state: int


def decode_token_account(data: bytes) -> TokenAccountInfo:
    if len(data) < TOKEN_ACCOUNT_LEN:
        raise TokenDecodeError(f"token account is {len(data)} bytes, expected >= 165")
    state = data[108]
    if state not in (1, 2):
        raise TokenDecodeError(f"token account state {state} is not initialized")
    return TokenAccountInfo(
        mint=Pubkey.from_bytes(data[0:32]),
        owner=Pubkey.from_bytes(data[32:64]),
        amount=_U64.unpack_from(data, 64)[0],
        state=state,
    )


def _decode_fee_config(value: bytes) -> TransferFeeConfig:
    if len(value) != TRANSFER_FEE_CONFIG_LEN:
        raise TokenDecodeError(f"TransferFeeConfig is {len(value)} bytes, expected 108")
    older = TransferFee(*_FEE.unpack_from(value, 72))
    newer = TransferFee(*_FEE.unpack_from(value, 72 + _FEE.size))
    return TransferFeeConfig(older=older, newer=newer)


def decode_mint(data: bytes) -> MintInfo:
    """Decimals and, for a Token-2022 mint, its transfer fee configuration."""
    if len(data) < MINT_LEN:
        raise TokenDecodeError(f"mint is {len(data)} bytes, expected >= 82")
    if data[45] != 1:
        raise TokenDecodeError("mint is not initialized")
    decimals = data[44]
    base = {
        "has_mint_authority": _U32.unpack_from(data, 0)[0] != 0,
        "has_freeze_authority": _U32.unpack_from(data, 46)[0] != 0,
        "supply": _U64.unpack_from(data, 36)[0],
    }
    if len(data) == MINT_LEN:
        return MintInfo(decimals=decimals, **base)
    if len(data) <= TOKEN_ACCOUNT_LEN or data[TOKEN_ACCOUNT_LEN] != ACCOUNT_TYPE_MINT:
        raise TokenDecodeError("data past the base mint is not a Token-2022 mint extension area")
    fee: TransferFeeConfig | None = None
    extensions: list[int] = []
    off = TOKEN_ACCOUNT_LEN + 1
    while off + _TLV_HEADER.size <= len(data):
        ext_type, length = _TLV_HEADER.unpack_from(data, off)
        if ext_type == 0:  # uninitialized: the rest is padding
            break
        extensions.append(ext_type)
        start = off + _TLV_HEADER.size
        end = start + length
        if end > len(data):
            raise TokenDecodeError(f"extension {ext_type} overruns the account")
        if ext_type == EXT_TRANSFER_FEE_CONFIG:
            fee = _decode_fee_config(data[start:end])
        off = end
    return MintInfo(decimals=decimals, transfer_fee=fee, extensions=tuple(extensions), **base)


def decode_clock_epoch(data: bytes) -> int:
    if len(data) < _CLOCK.size:
        raise TokenDecodeError(f"clock sysvar is {len(data)} bytes, expected {_CLOCK.size}")
    return int(_CLOCK.unpack_from(data, 0)[2])


def associated_token_address(owner: Pubkey, mint: Pubkey, token_program: Pubkey) -> Pubkey:
    """The associated token account of ``owner`` for ``mint`` under ``token_program``."""
    address, _bump = Pubkey.find_program_address(
        [bytes(owner), bytes(token_program), bytes(mint)], ASSOCIATED_TOKEN_PROGRAM_ID
    )
    return address
