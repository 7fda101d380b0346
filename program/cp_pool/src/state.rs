//! The Pool account: seeds, and typed access to the fields whose offsets
//! `generated::pool` gives (account data is only 8-aligned, so fields are
//! read bytewise, never through a struct cast).

use crate::generated::pool;
use crate::sdk::bytes::{rd_u64, wr_u64};
use crate::sdk::Pubkey;

/// PDA seed prefixes (mirrored in idl/cp_pool_spec.py).
pub const SEED_POOL: &[u8] = b"pool";
pub const SEED_VAULT: &[u8] = b"vault";

/// Swap fees are in basis points of the credited input.
pub const BPS_DENOMINATOR: u64 = 10_000;
pub const MAX_FEE_BPS: u16 = 1_000;

/// A 32-byte key stored in `d` at `off`, by reference (no copy).
#[inline(always)]
pub fn key_at(d: &[u8], off: usize) -> &Pubkey {
    let s = &d[off..off + 32];
    // [u8; 32] has alignment 1 and `s` is exactly 32 bytes long.
    unsafe { &*(s.as_ptr() as *const Pubkey) }
}

/// Add `v` to the u64 statistic at `off`. Totals are informational: they
/// saturate rather than fail, so no amount of volume can brick a pool.
#[inline(always)]
pub fn bump_total(d: &mut [u8], off: usize, v: u64) {
    let cur = rd_u64(d, off);
    wr_u64(d, off, cur.saturating_add(v));
}

/// Field offsets of one side of a pool (the swap picks in/out by mint_in).
pub struct Side {
    pub mint: usize,
    pub vault: usize,
    pub token_program: usize,
    pub deposited: usize,
    pub swapped_in: usize,
    pub swapped_out: usize,
    pub fees: usize,
}

pub const SIDE_A: Side = Side {
    mint: pool::MINT_A,
    vault: pool::VAULT_A,
    token_program: pool::TOKEN_PROGRAM_A,
    deposited: pool::TOTAL_DEPOSITED_A,
    swapped_in: pool::TOTAL_SWAPPED_IN_A,
    swapped_out: pool::TOTAL_SWAPPED_OUT_A,
    fees: pool::TOTAL_FEES_A,
};

pub const SIDE_B: Side = Side {
    mint: pool::MINT_B,
    vault: pool::VAULT_B,
    token_program: pool::TOKEN_PROGRAM_B,
    deposited: pool::TOTAL_DEPOSITED_B,
    swapped_in: pool::TOTAL_SWAPPED_IN_B,
    swapped_out: pool::TOTAL_SWAPPED_OUT_B,
    fees: pool::TOTAL_FEES_B,
};
