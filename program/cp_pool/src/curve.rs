//! Constant-product pricing in u64 limbs (no u128 division on this target).

use crate::generated::err;
use crate::sdk::math::{mul_div_ceil, mul_div_floor};
use crate::state::BPS_DENOMINATOR;

pub struct Quote {
    /// Pool fee, kept in the input vault.
    pub fee: u64,
    /// Amount the pool sends out.
    pub out: u64,
}

/// For `credited` input tokens that arrived in the input vault, with the
/// reserves read before the transfer:
///   fee = ceil(credited * fee_bps / 10000)
///   out = floor(reserve_out * (credited - fee) / (reserve_in + credited - fee))
/// Both roundings favour the pool, so reserve_in * reserve_out never
/// decreases. Requires fee_bps <= 10000 (so fee <= credited).
pub fn quote(credited: u64, reserve_in: u64, reserve_out: u64, fee_bps: u16) -> Result<Quote, u32> {
    let fee = mul_div_ceil(credited, fee_bps as u64, BPS_DENOMINATOR).ok_or(err::ARITHMETIC_OVERFLOW)?;
    let net = credited.checked_sub(fee).ok_or(err::ARITHMETIC_OVERFLOW)?;
    let denom = reserve_in.checked_add(net).ok_or(err::ARITHMETIC_OVERFLOW)?;
    if denom == 0 {
        return Ok(Quote { fee, out: 0 });
    }
    // net <= denom, so the quotient is <= reserve_out and always fits.
    let out = mul_div_floor(reserve_out, net, denom).ok_or(err::ARITHMETIC_OVERFLOW)?;
    Ok(Quote { fee, out })
}
