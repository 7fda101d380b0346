//! The money math. Rounding rule: usage charges and fees round UP (no call
//! is too small to pay its fees); the provider receives the remainder, so
//! provider + creator_fee + protocol_fee == gross exactly, and
//! gross + refund == hold exactly.

use crate::sdk::math::mul_div_ceil;
use crate::seeds::{BPS_DENOMINATOR, TOKENS_PER_PRICE_UNIT};

pub struct Split {
    pub provider: u64,
    pub creator: u64,
    pub protocol: u64,
}

/// Split `gross` into protocol fee, creator fee and provider remainder.
/// Requires protocol_bps + creator_bps <= 10_000 (enforced by the caps).
pub fn split(gross: u64, protocol_bps: u16, creator_bps: u16) -> Option<Split> {
    let protocol = mul_div_ceil(gross, protocol_bps as u64, BPS_DENOMINATOR)?;
    let mut creator = mul_div_ceil(gross, creator_bps as u64, BPS_DENOMINATOR)?;
    let rest = gross.checked_sub(protocol)?;
    if creator > rest {
        creator = rest;
    }
    let provider = rest - creator;
    Some(Split { provider, creator, protocol })
}

/// Charge for a usage at per-million-token prices (each part rounded up).
pub fn usage_charge(price_in: u64, price_out: u64, tokens_in: u64, tokens_out: u64) -> Option<u64> {
    let a = mul_div_ceil(price_in, tokens_in, TOKENS_PER_PRICE_UNIT)?;
    let b = mul_div_ceil(price_out, tokens_out, TOKENS_PER_PRICE_UNIT)?;
    a.checked_add(b)
}
