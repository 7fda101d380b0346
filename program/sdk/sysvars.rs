//! Clock and rent read through syscalls (never from passed accounts, so
//! they cannot be spoofed).

use super::bytes::{rd_i64, rd_u64};
use super::syscalls::{sol_get_clock_sysvar, sol_get_rent_sysvar};

pub struct Clock {
    pub slot: u64,
    pub epoch: u64,
    pub unix_timestamp: i64,
}

pub fn clock() -> Clock {
    let mut buf = [0u8; 40];
    unsafe {
        sol_get_clock_sysvar(buf.as_mut_ptr());
    }
    Clock { slot: rd_u64(&buf, 0), epoch: rd_u64(&buf, 16), unix_timestamp: rd_i64(&buf, 32) }
}

/// f64 bit pattern of 1.0.
const ONE_F64_BITS: u64 = 0x3ff0_0000_0000_0000;

/// Rent-exempt minimum for `space` bytes: (space + 128) x lamports per byte
/// x the exemption threshold, an f64 read as bits (no soft-float). It was
/// 2.0 (years) since genesis; with SIMD-0194 the sysvar holds the per-byte
/// price already doubled and a threshold of 1.0 (LiteSVM does). Any other
/// value is taken as 2.0, which over-funds rather than under-funds.
pub fn minimum_balance(space: usize) -> u64 {
    let mut buf = [0u8; 24];
    unsafe {
        sol_get_rent_sysvar(buf.as_mut_ptr());
    }
    let per_byte = rd_u64(&buf, 0);
    let years = if rd_u64(&buf, 8) == ONE_F64_BITS { 1 } else { 2 };
    ((space as u64) + 128) * per_byte * years
}
