//! Program-derived addresses.

use super::syscalls::{sol_create_program_address, sol_try_find_program_address};
use super::cpi::SolSignerSeed;
use super::Pubkey;

fn to_c(seeds: &[&[u8]], out: &mut [SolSignerSeed; 5]) -> usize {
    let mut i = 0;
    while i < seeds.len() && i < 5 {
        out[i] = SolSignerSeed { addr: seeds[i].as_ptr(), len: seeds[i].len() as u64 };
        i += 1;
    }
    i
}

/// The canonical PDA and bump for `seeds` (at most 4 seeds; the bump is the 5th).
pub fn find(seeds: &[&[u8]], program_id: &Pubkey) -> Option<(Pubkey, u8)> {
    let mut c = [SolSignerSeed { addr: core::ptr::null(), len: 0 }; 5];
    let n = to_c(seeds, &mut c);
    let mut key = [0u8; 32];
    let mut bump: u8 = 0;
    let rc = unsafe {
        sol_try_find_program_address(
            c.as_ptr() as *const u8,
            n as u64,
            program_id.as_ptr(),
            key.as_mut_ptr(),
            &mut bump,
        )
    };
    if rc == 0 {
        Some((key, bump))
    } else {
        None
    }
}

/// The PDA for `seeds` including the bump seed, or `None` if on the curve.
pub fn create(seeds: &[&[u8]], program_id: &Pubkey) -> Option<Pubkey> {
    let mut c = [SolSignerSeed { addr: core::ptr::null(), len: 0 }; 5];
    let n = to_c(seeds, &mut c);
    let mut key = [0u8; 32];
    let rc = unsafe {
        sol_create_program_address(c.as_ptr() as *const u8, n as u64, program_id.as_ptr(), key.as_mut_ptr())
    };
    if rc == 0 {
        Some(key)
    } else {
        None
    }
}

const PDA_MARKER: &[u8] = b"ProgramDerivedAddress";

/// The address `sha256(seeds ‖ program_id ‖ "ProgramDerivedAddress")` that
/// `create_program_address` would return for `seeds` (bump included), without the
/// on-curve test: one sha256 (~170 CU for four seeds) instead of 1,500 CU. Sound only
/// for recognising an account that exists (a live account at a PDA was created with
/// that PDA's signature, which the runtime gives only to an off-curve address), never
/// for choosing where to create one. At most 7 seeds.
pub fn pda_hash(seeds: &[&[u8]], program_id: &Pubkey) -> Pubkey {
    let mut parts: [&[u8]; 9] = [&[]; 9];
    let mut i = 0;
    while i < seeds.len() && i < 7 {
        parts[i] = seeds[i];
        i += 1;
    }
    parts[i] = program_id;
    parts[i + 1] = PDA_MARKER;
    super::hash::sha256(&parts[..i + 2])
}

/// System `create_with_seed(base, seed, owner)`: `sha256(base ‖ seed ‖ owner)`.
pub fn with_seed(base: &Pubkey, seed: &[u8], owner: &Pubkey) -> Pubkey {
    super::hash::sha256(&[base, seed, owner])
}
