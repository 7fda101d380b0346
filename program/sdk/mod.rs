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
