//! Localnet swap venue: a minimal constant-product pool (SPL Token and
//! Token-2022, no LP token). Interface: idl/cp_pool.json, authored in
//! idl/cp_pool_spec.py.
//!
//! Plain, C-like Rust on purpose: it is built without cargo or platform-tools
//! (see /work/shared/docs/sbpf-toolchain.md), so no crates, no u128 division,
//! no allocation and no mutable statics.
#![no_std]

#[path = "../../sdk/mod.rs"]
mod sdk;

mod checks;
mod curve;
mod generated;
mod processor;
mod state;

use generated::{err, ix};
use sdk::account::Account;
use sdk::bytes::rd_u64;
use sdk::entrypoint::deserialize;
use sdk::{ProgramResult, Pubkey};

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    unsafe { sdk::syscalls::abort() }
}

/// # Safety
/// Called by the runtime with its serialized input buffer.
#[no_mangle]
pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {
    let parsed = match deserialize(input) {
        Some(p) => p,
        // More accounts than any instruction of ours takes.
        None => return err::INVALID_INSTRUCTION_DATA as u64,
    };
    match dispatch(parsed.program_id(), parsed.accounts(), parsed.data()) {
        Ok(()) => 0,
        Err(code) => code as u64,
    }
}

/// Route on the 8-byte Anchor discriminator; the rest is the borsh args.
fn dispatch(program_id: &Pubkey, accounts: &[Account], data: &[u8]) -> ProgramResult {
    if data.len() < 8 {
        return Err(err::INVALID_INSTRUCTION_DATA);
    }
    let args = &data[8..];
    match rd_u64(data, 0) {
        ix::CREATE_POOL => processor::create_pool::process(program_id, accounts, args),
        ix::ADD_LIQUIDITY => processor::add_liquidity::process(program_id, accounts, args),
        ix::SWAP => processor::swap::process(program_id, accounts, args),
        _ => Err(err::INVALID_INSTRUCTION_DATA),
    }
}
