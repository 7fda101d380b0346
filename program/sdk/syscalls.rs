//! Solana syscalls used by our programs. The relinker keeps exactly these
//! names dynamic; anything else is rejected at link time.

use super::cpi::{SolAccountInfo, SolInstruction, SolSignerSeeds};

extern "C" {
    pub fn sol_log_(message: *const u8, len: u64);
    pub fn sol_log_64_(a: u64, b: u64, c: u64, d: u64, e: u64);
    pub fn sol_log_data(data: *const u8, len: u64);
    pub fn sol_log_compute_units_();
    pub fn sol_invoke_signed_c(
        instruction: *const SolInstruction,
        account_infos: *const SolAccountInfo,
        account_infos_len: u64,
        signers_seeds: *const SolSignerSeeds,
        signers_seeds_len: u64,
    ) -> u64;
    pub fn sol_create_program_address(
        seeds: *const u8,
        seeds_len: u64,
        program_id: *const u8,
        address: *mut u8,
    ) -> u64;
    pub fn sol_try_find_program_address(
        seeds: *const u8,
        seeds_len: u64,
        program_id: *const u8,
        address: *mut u8,
        bump_seed: *mut u8,
    ) -> u64;
    pub fn sol_sha256(vals: *const u8, val_len: u64, hash_result: *mut u8) -> u64;
    pub fn sol_get_clock_sysvar(addr: *mut u8) -> u64;
    pub fn sol_get_rent_sysvar(addr: *mut u8) -> u64;
    pub fn sol_get_return_data(data: *mut u8, length: u64, program_id: *mut u8) -> u64;
    pub fn sol_memcpy_(dst: *mut u8, src: *const u8, n: u64);
    pub fn sol_memset_(s: *mut u8, c: u8, n: u64);
    pub fn abort() -> !;
}
