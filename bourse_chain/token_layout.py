"""SPL Token / Token-2022 accounts and mints: the one decoder of their byte layouts.

Layouts (both programs share the base ones):

* token account (165 bytes): ``mint`` [0..32], ``owner`` [32..64], ``amount`` u64 [64..72],
  ``delegate`` COption<Pubkey> [72..108], ``state`` u8 at 108 (0 uninitialized,
  1 initialized, 2 frozen), ``is_native`` COption<u64> [109..121], ``delegated_amount`` u64
  [121..129], ``close_authority`` COption<Pubkey> [129..165].
* mint (82 bytes): ``mint_authority`` COption<Pubkey> [0..36], ``supply`` u64 [36..44],
  ``decimals`` u8 at 44, ``is_initialized`` at 45, ``freeze_authority`` COption<Pubkey>
  [46..82].
* Token-2022 accounts with extensions: a mint is padded to 165 bytes; both carry the account
  type at 165 (1 = mint, 2 = account), then TLV entries (``u16`` type, ``u16`` length,
  value) from 166; type 0 ends the list.
* ``TransferFeeConfig`` (mint extension 1, 108 bytes): config authority and
  withdraw-withheld authority (32 + 32), ``withheld_amount`` u64, then ``older`` and
  ``newer`` fees, each ``epoch`` u64, ``maximum_fee`` u64, ``transfer_fee_basis_points`` u16.
  The newer fee applies from its epoch on; the fee on a transfer of ``a`` is
  ``min(ceil(a * bps / 10000), maximum_fee)``.
* ``TransferFeeAmount`` (account extension 2, 8 bytes): ``withheld_amount`` u64.

Only ``solders`` and ``struct``: the localnet imports this and must start fast.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from solders.pubkey import Pubkey

TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
TOKEN_PROGRAMS = (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)

MINT_LEN = 82
TOKEN_ACCOUNT_LEN = 165
ACCOUNT_TYPE_OFFSET = 165
ACCOUNT_TYPE_MINT = 1
ACCOUNT_TYPE_ACCOUNT = 2
EXT_TRANSFER_FEE_CONFIG = 1
EXT_TRANSFER_FEE_AMOUNT = 2
TRANSFER_FEE_CONFIG_LEN = 108
#: A Token-2022 mint with only the TransferFeeConfig extension.
TRANSFER_FEE_MINT_LEN = ACCOUNT_TYPE_OFFSET + 1 + 4 + TRANSFER_FEE_CONFIG_LEN
ONE_IN_BASIS_POINTS = 10_000

#: Offsets in the base layouts.
AMOUNT_OFFSET = 64
STATE_OFFSET = 108
SUPPLY_OFFSET = 36
DECIMALS_OFFSET = 44
IS_INITIALIZED_OFFSET = 45

_U64 = struct.Struct("<Q")
_TLV_HEADER = struct.Struct("<HH")
_FEE = struct.Struct("<QQH")  # epoch, maximum_fee, transfer_fee_basis_points


class TokenDecodeError(ValueError):
    """Account data that is not the token account or mint we expected."""


@dataclass(frozen=True, slots=True)
class TransferFee:
    """One Token-2022 transfer fee: from ``epoch`` on, ``basis_points`` capped at
    ``maximum_fee``."""

    epoch: int
    maximum_fee: int
    basis_points: int

    def fee(self, amount: int) -> int:
        """Token-2022's fee on a transfer of ``amount`` (ceil, capped at ``maximum_fee``)."""
        if self.basis_points == 0 or amount == 0:
            return 0
        raw = -(-amount * self.basis_points // ONE_IN_BASIS_POINTS)
        return min(raw, self.maximum_fee)


def transfer_fee(amount: int, basis_points: int, maximum_fee: int) -> int:
    """Token-2022's fee on a transfer of ``amount``: min(ceil(amount * bps / 10_000), max)."""
    return TransferFee(0, maximum_fee, basis_points).fee(amount)


@dataclass(frozen=True, slots=True)
class TransferFeeConfig:
    """The ``TransferFeeConfig`` mint extension."""

    config_authority: Pubkey | None
    withdraw_withheld_authority: Pubkey | None
    withheld_amount: int
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
    supply: int = 0
    mint_authority: Pubkey | None = None
    freeze_authority: Pubkey | None = None
    is_initialized: bool = True
    transfer_fee: TransferFeeConfig | None = None
    #: Token-2022 extension types present, in TLV order (empty for a base-size mint).
    extension_types: tuple[int, ...] = ()

    @property
    def withheld(self) -> int:
        """Transfer fees withheld in the mint itself (0 without the extension)."""
        return 0 if self.transfer_fee is None else self.transfer_fee.withheld_amount

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
    state: int  # 0 uninitialized, 1 initialized, 2 frozen
    delegate: Pubkey | None = None
    is_native: int | None = None
    delegated_amount: int = 0
    close_authority: Pubkey | None = None
    #: ``TransferFeeAmount.withheld_amount`` (Token-2022; 0 without the extension).
    withheld: int = 0


# ------------------------------------------------------------------------ recognition


def is_token_account_data(owner: Pubkey, data: bytes) -> bool:
    """An initialized token account of SPL Token or Token-2022 (the RPC's test)."""
    if owner not in TOKEN_PROGRAMS or len(data) < TOKEN_ACCOUNT_LEN:
        return False
    if len(data) > TOKEN_ACCOUNT_LEN and (
        owner != TOKEN_2022_PROGRAM_ID or data[ACCOUNT_TYPE_OFFSET] != ACCOUNT_TYPE_ACCOUNT
    ):
        return False
    return data[STATE_OFFSET] != 0


def is_mint_data(owner: Pubkey, data: bytes) -> bool:
    """An initialized mint of SPL Token or Token-2022 (the RPC's test)."""
    if owner not in TOKEN_PROGRAMS or len(data) < MINT_LEN or len(data) == TOKEN_ACCOUNT_LEN:
        return False
    if len(data) > MINT_LEN and (
        owner != TOKEN_2022_PROGRAM_ID
        or len(data) <= ACCOUNT_TYPE_OFFSET
        or data[ACCOUNT_TYPE_OFFSET] != ACCOUNT_TYPE_MINT
    ):
        return False
    return data[IS_INITIALIZED_OFFSET] == 1


# ---------------------------------------------------------------------------- decoding


def extensions(data: bytes, account_type: int) -> Iterator[tuple[int, bytes]]:
    """``(type, value)`` of each TLV extension of a Token-2022 account of ``account_type``;
    nothing for base-length data or another account type. ``TokenDecodeError`` when an
    entry overruns the account."""
    if len(data) <= ACCOUNT_TYPE_OFFSET or data[ACCOUNT_TYPE_OFFSET] != account_type:
        return
    off = ACCOUNT_TYPE_OFFSET + 1
    while off + _TLV_HEADER.size <= len(data):
        ext_type, length = _TLV_HEADER.unpack_from(data, off)
        if ext_type == 0:  # uninitialized: the rest is padding
            return
        start = off + _TLV_HEADER.size
        end = start + length
        if end > len(data):
            raise TokenDecodeError(f"extension {ext_type} overruns the account")
        yield ext_type, data[start:end]
        off = end


def _coption_pubkey(data: bytes, offset: int) -> Pubkey | None:
    tag = int.from_bytes(data[offset : offset + 4], "little")
    return Pubkey.from_bytes(data[offset + 4 : offset + 36]) if tag == 1 else None


def _nonzero_pubkey(value: bytes) -> Pubkey | None:
    return None if value == bytes(32) else Pubkey.from_bytes(value)


def _u64(data: bytes, offset: int) -> int:
    return int(_U64.unpack_from(data, offset)[0])


def decode_transfer_fee_config(value: bytes) -> TransferFeeConfig:
    if len(value) != TRANSFER_FEE_CONFIG_LEN:
        raise TokenDecodeError(f"TransferFeeConfig is {len(value)} bytes, expected 108")
    return TransferFeeConfig(
        config_authority=_nonzero_pubkey(value[0:32]),
        withdraw_withheld_authority=_nonzero_pubkey(value[32:64]),
        withheld_amount=_u64(value, 64),
        older=TransferFee(*_FEE.unpack_from(value, 72)),
        newer=TransferFee(*_FEE.unpack_from(value, 72 + _FEE.size)),
    )


def decode_token_account(data: bytes) -> TokenAccountInfo:
    """An initialized (or frozen) token account of either program, with its withheld fee."""
    if len(data) < TOKEN_ACCOUNT_LEN:
        raise TokenDecodeError(f"token account is {len(data)} bytes, expected >= 165")
    state = data[STATE_OFFSET]
    if state not in (1, 2):
        raise TokenDecodeError(f"token account state {state} is not initialized")
    if len(data) > TOKEN_ACCOUNT_LEN and data[ACCOUNT_TYPE_OFFSET] != ACCOUNT_TYPE_ACCOUNT:
        raise TokenDecodeError("data past the base account is not a token account's extensions")
    withheld = 0
    for ext_type, value in extensions(data, ACCOUNT_TYPE_ACCOUNT):
        if ext_type == EXT_TRANSFER_FEE_AMOUNT:
            if len(value) != 8:
                raise TokenDecodeError(f"TransferFeeAmount is {len(value)} bytes, expected 8")
            withheld = _u64(value, 0)
    native_tag = int.from_bytes(data[109:113], "little")
    return TokenAccountInfo(
        mint=Pubkey.from_bytes(data[0:32]),
        owner=Pubkey.from_bytes(data[32:64]),
        amount=_u64(data, AMOUNT_OFFSET),
        state=state,
        delegate=_coption_pubkey(data, 72),
        is_native=_u64(data, 113) if native_tag == 1 else None,
        delegated_amount=_u64(data, 121),
        close_authority=_coption_pubkey(data, 129),
        withheld=withheld,
    )


def decode_mint(data: bytes) -> MintInfo:
    """An initialized mint of either program and, for Token-2022, its transfer fee."""
    if len(data) < MINT_LEN:
        raise TokenDecodeError(f"mint is {len(data)} bytes, expected >= 82")
    if data[IS_INITIALIZED_OFFSET] != 1:
        raise TokenDecodeError("mint is not initialized")
    fee: TransferFeeConfig | None = None
    found: list[int] = []
    if len(data) > MINT_LEN:
        if len(data) <= ACCOUNT_TYPE_OFFSET or data[ACCOUNT_TYPE_OFFSET] != ACCOUNT_TYPE_MINT:
            raise TokenDecodeError("data past the base mint is not a Token-2022 extension area")
        for ext_type, value in extensions(data, ACCOUNT_TYPE_MINT):
            found.append(ext_type)
            if ext_type == EXT_TRANSFER_FEE_CONFIG:
                fee = decode_transfer_fee_config(value)
    return MintInfo(
        decimals=data[DECIMALS_OFFSET],
        supply=_u64(data, SUPPLY_OFFSET),
        mint_authority=_coption_pubkey(data, 0),
        freeze_authority=_coption_pubkey(data, 46),
        is_initialized=True,
        transfer_fee=fee,
        extension_types=tuple(found),
    )


def token_amount(data: bytes) -> int:
    """The amount of a token account (either program), without the other checks."""
    if len(data) < TOKEN_ACCOUNT_LEN:
        raise TokenDecodeError(f"token account is {len(data)} bytes, expected >= 165")
    return _u64(data, AMOUNT_OFFSET)


def encode_token_account(mint: Pubkey, owner: Pubkey, amount: int) -> bytes:
    """A plain initialized token account (no delegate, not native, no close authority), as
    the token programs write it; for sandboxes that fake RPC answers."""
    data = bytearray(TOKEN_ACCOUNT_LEN)
    data[0:32] = bytes(mint)
    data[32:64] = bytes(owner)
    _U64.pack_into(data, AMOUNT_OFFSET, amount)
    data[STATE_OFFSET] = 1
    return bytes(data)


def account_withheld(data: bytes) -> int:
    """``TransferFeeAmount.withheld_amount`` of a Token-2022 token account (0 if none or
    unreadable)."""
    try:
        return decode_token_account(data).withheld
    except TokenDecodeError:
        return 0


def mint_withheld(data: bytes) -> int:
    """``TransferFeeConfig.withheld_amount`` of a Token-2022 mint (0 if none or unreadable)."""
    try:
        return decode_mint(data).withheld
    except TokenDecodeError:
        return 0


def associated_token_address(
    owner: Pubkey, mint: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID
) -> Pubkey:
    """The associated token account of ``owner`` for ``mint`` under ``token_program``."""
    address, _bump = Pubkey.find_program_address(
        [bytes(owner), bytes(token_program), bytes(mint)], ASSOCIATED_TOKEN_PROGRAM_ID
    )
    return address
