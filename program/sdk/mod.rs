//! Minimal no_std Solana runtime support shared by our programs: input
//! deserialisation, syscalls, CPI, PDAs, sysvars, token-program helpers and
//! libcall-free 128-bit arithmetic. Plain, C-like Rust on purpose (see
//! program/toolchain/README.md for why).
#![allow(dead_code)]

pub mod account;
pub mod bytes;
pub mod cpi;
pub mod entrypoint;
pub mod hash;
pub mod heap;
pub mod ids;
pub mod invoke;
pub mod log;
pub mod math;
pub mod pda;
pub mod syscalls;
pub mod system;
pub mod sysvars;
pub mod token;

/// A 32-byte public key.
pub type Pubkey = [u8; 32];

/// Program result: `Err(code)` is returned to the runtime as a custom error.
pub type ProgramResult = Result<(), u32>;

/// A compiler barrier (no instruction is emitted): values read from memory before it
/// are read again after it, not kept in registers across it. The BPF target has ten
/// registers and five are lost at every call, so a hot instruction that keeps key
/// words alive for a later comparison spills and reloads them one by one; a barrier
/// between two groups of checks keeps each group's values local to it.
#[inline(always)]
pub fn barrier() {
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
}
