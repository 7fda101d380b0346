//! Program logs and events.

use super::syscalls::{sol_log_, sol_log_data};

pub fn msg(s: &str) {
    unsafe { sol_log_(s.as_ptr(), s.len() as u64) }
}

/// Emit one Anchor-style event: a single `sol_log_data` field holding
/// discriminator ‖ borsh payload ("Program data: <base64>" in the logs).
pub fn emit(payload: &[u8]) {
    let field: [&[u8]; 1] = [payload];
    unsafe { sol_log_data(field.as_ptr() as *const u8, 1) }
}
