"""An in-memory account store with the venues' ``async (Pubkey) -> bytes | None`` fetcher,
and byte-exact builders for the accounts they read (written from the layouts, field by
field at fixed offsets, independently of ``bourse_chain.token_layout``, the decoder under
test; only the program ids are shared)."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

from solders.pubkey import Pubkey
from solders.sysvar import CLOCK as CLOCK_SYSVAR

from bourse_chain.token_layout import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID

TOKEN = TOKEN_PROGRAM_ID
TOKEN_2022 = TOKEN_2022_PROGRAM_ID
CLOCK = CLOCK_SYSVAR


def key(label: str) -> Pubkey:
    """A deterministic address for a test label."""
    return Pubkey(hashlib.sha256(f"bourse-test:{label}".encode()).digest())


def anchor_account_discriminator(name: str) -> bytes:
    return hashlib.sha256(f"account:{name}".encode()).digest()[:8]


@dataclass(frozen=True)
class Fee:
    """One Token-2022 transfer fee (``epoch``, ``maximum_fee``, ``bps``)."""

    bps: int
    maximum_fee: int = 2**64 - 1
    epoch: int = 0


def token_account(mint: Pubkey, owner: Pubkey, amount: int) -> bytes:
    data = bytearray(165)
    data[0:32] = bytes(mint)
    data[32:64] = bytes(owner)
    data[64:72] = amount.to_bytes(8, "little")
    data[108] = 1  # initialized
    return bytes(data)


def spl_mint(decimals: int = 6, supply: int = 10**15) -> bytes:
    data = bytearray(82)
    data[36:44] = supply.to_bytes(8, "little")
    data[44] = decimals
    data[45] = 1
    return bytes(data)


def t22_mint(decimals: int = 6, *, older: Fee | None = None, newer: Fee | None = None) -> bytes:
    """A Token-2022 mint; with ``older``/``newer`` it carries TransferFeeConfig."""
    base = bytearray(spl_mint(decimals))
    if older is None and newer is None:
        return bytes(base)
    older = older or newer
    newer = newer or older
    assert older is not None and newer is not None
    value = bytearray(108)
    value[0:32] = bytes(key("fee-config-authority"))
    value[32:64] = bytes(key("withdraw-withheld-authority"))
    struct.pack_into("<QQH", value, 72, older.epoch, older.maximum_fee, older.bps)
    struct.pack_into("<QQH", value, 90, newer.epoch, newer.maximum_fee, newer.bps)
    data = base + bytes(165 - 82) + bytes([1]) + struct.pack("<HH", 1, 108) + value
    return bytes(data)


def clock(epoch: int, slot: int = 1_000, unix_timestamp: int = 1_764_000_000) -> bytes:
    return struct.pack("<QqQQq", slot, unix_timestamp - 100, epoch, epoch + 1, unix_timestamp)


@dataclass
class FakeChain:
    accounts: dict[Pubkey, bytes] = field(default_factory=dict)
    fetched: list[Pubkey] = field(default_factory=list)

    async def fetch(self, address: Pubkey) -> bytes | None:
        self.fetched.append(address)
        return self.accounts.get(address)

    def set(self, address: Pubkey, data: bytes) -> Pubkey:
        self.accounts[address] = data
        return address


# --- Raydium CPMM accounts (raydium-cp-swap states/pool.rs and states/config.rs) -----------


@dataclass
class RaydiumPoolSpec:
    amm_config: Pubkey
    token_0_vault: Pubkey
    token_1_vault: Pubkey
    token_0_mint: Pubkey
    token_1_mint: Pubkey
    token_0_program: Pubkey
    token_1_program: Pubkey
    observation_key: Pubkey
    status: int = 0
    protocol_fees: tuple[int, int] = (0, 0)
    fund_fees: tuple[int, int] = (0, 0)
    creator_fees: tuple[int, int] = (0, 0)
    open_time: int = 0
    creator_fee_on: int = 0
    enable_creator_fee: bool = False


def raydium_pool_state(p: RaydiumPoolSpec) -> bytes:
    """PoolState: 8-byte discriminator, then ``#[repr(C, packed)]`` fields; 637 bytes."""
    d = bytearray(637)
    d[0:8] = anchor_account_discriminator("PoolState")
    keys = [
        p.amm_config,
        key("pool-creator"),
        p.token_0_vault,
        p.token_1_vault,
        key("lp-mint"),
        p.token_0_mint,
        p.token_1_mint,
        p.token_0_program,
        p.token_1_program,
        p.observation_key,
    ]
    for i, k in enumerate(keys):
        d[8 + 32 * i : 40 + 32 * i] = bytes(k)
    d[328] = 255  # auth_bump
    d[329] = p.status
    d[330], d[331], d[332] = 9, 6, 6  # lp / mint decimals
    u64s = [
        10**9,
        p.protocol_fees[0],
        p.protocol_fees[1],
        p.fund_fees[0],
        p.fund_fees[1],
        p.open_time,
        800,
    ]  # lp_supply ... recent_epoch
    for i, v in enumerate(u64s):
        struct.pack_into("<Q", d, 333 + 8 * i, v)
    d[389] = p.creator_fee_on
    d[390] = int(p.enable_creator_fee)
    struct.pack_into("<QQ", d, 397, p.creator_fees[0], p.creator_fees[1])
    return bytes(d)


def raydium_amm_config(
    trade_fee_rate: int,
    protocol_fee_rate: int = 120_000,
    fund_fee_rate: int = 40_000,
    creator_fee_rate: int = 0,
) -> bytes:
    """AmmConfig (borsh, fixed size): 236 bytes."""
    d = bytearray(236)
    d[0:8] = anchor_account_discriminator("AmmConfig")
    d[8] = 254  # bump
    struct.pack_into("<H", d, 10, 0)  # index
    struct.pack_into("<QQQQ", d, 12, trade_fee_rate, protocol_fee_rate, fund_fee_rate, 15 * 10**7)
    d[44:76] = bytes(key("protocol-owner"))
    d[76:108] = bytes(key("fund-owner"))
    struct.pack_into("<Q", d, 108, creator_fee_rate)
    return bytes(d)
