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

/// Rent-exempt minimum for `space` bytes. Solana's exemption threshold has
/// been 2.0 years since genesis; we use integer math to avoid soft-float.
pub fn minimum_balance(space: usize) -> u64 {
    let mut buf = [0u8; 24];
    unsafe {
        sol_get_rent_sysvar(buf.as_mut_ptr());
    }
    let per_byte_year = rd_u64(&buf, 0);
    ((space as u64) + 128) * per_byte_year * 2
}
