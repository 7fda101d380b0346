//! SHA-256 through the `sol_sha256` syscall (85 CU + 0.5 CU per byte).

use super::syscalls::sol_sha256;

/// sha256 of the concatenation of `parts` (at most 8 slices).
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut out = [0u8; 32];
    unsafe {
        sol_sha256(parts.as_ptr() as *const u8, parts.len() as u64, out.as_mut_ptr());
    }
    out
}
