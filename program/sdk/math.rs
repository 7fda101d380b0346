//! 64×64→128-bit multiply and 128/64 division in plain u64 limbs, so no
//! compiler libcall (`__multi3`, `__udivti3`) is ever needed.

/// (hi, lo) = a * b
pub fn mul_wide(a: u64, b: u64) -> (u64, u64) {
    let a_lo = a & 0xffff_ffff;
    let a_hi = a >> 32;
    let b_lo = b & 0xffff_ffff;
    let b_hi = b >> 32;
    let ll = a_lo * b_lo;
    let lh = a_lo * b_hi;
    let hl = a_hi * b_lo;
    let hh = a_hi * b_hi;
    let mid = (ll >> 32) + (lh & 0xffff_ffff) + (hl & 0xffff_ffff);
    let lo = (ll & 0xffff_ffff) | (mid << 32);
    let hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    (hi, lo)
}

/// (quotient, remainder) of (hi:lo) / d, or None if d == 0 or the quotient
/// does not fit in 64 bits.
pub fn div_wide(hi: u64, lo: u64, d: u64) -> Option<(u64, u64)> {
    if d == 0 || hi >= d {
        return None;
    }
    if hi == 0 {
        return Some((lo / d, lo % d));
    }
    let mut rem = hi;
    let mut q: u64 = 0;
    let mut i = 0;
    while i < 64 {
        let carry = rem >> 63;
        rem = (rem << 1) | ((lo >> (63 - i)) & 1);
        q <<= 1;
        if carry != 0 || rem >= d {
            rem = rem.wrapping_sub(d);
            q |= 1;
        }
        i += 1;
    }
    Some((q, rem))
}

/// floor(a * b / d)
pub fn mul_div_floor(a: u64, b: u64, d: u64) -> Option<u64> {
    let (hi, lo) = mul_wide(a, b);
    div_wide(hi, lo, d).map(|(q, _)| q)
}

/// ceil(a * b / d)
pub fn mul_div_ceil(a: u64, b: u64, d: u64) -> Option<u64> {
    let (hi, lo) = mul_wide(a, b);
    match div_wide(hi, lo, d) {
        Some((q, 0)) => Some(q),
        Some((q, _)) => q.checked_add(1),
        None => None,
    }
}

/// a * b, or None on overflow (without the `__muloti4` libcall).
pub fn checked_mul(a: u64, b: u64) -> Option<u64> {
    let (hi, lo) = mul_wide(a, b);
    if hi == 0 {
        Some(lo)
    } else {
        None
    }
}
