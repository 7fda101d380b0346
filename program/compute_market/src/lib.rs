//! Bourse compute market: model listings, provider offers, escrowed orders,
//! fee-split settlement, buyback through an allow-listed swap program, burn
//! and Token-2022 fee harvest. Interface: idl/compute_market.json.
#![no_std]

#[path = "../../sdk/mod.rs"]
mod sdk;

mod checks;
mod events;
mod fees;
mod generated;
mod processor;
mod seeds;

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
/// Called by the runtime with its serialized input buffer (r1) and, since
/// SIMD-0321, the address of the instruction data inside it (r2; 0 before).
#[no_mangle]
pub unsafe extern "C" fn entrypoint(input: *mut u8, r2: *const u8) -> u64 {
    if let Some(code) = hot_path(input, r2) {
        return code;
    }
    let parsed = match deserialize(input) {
        Some(p) => p,
        None => return err::NOT_ENOUGH_ACCOUNTS as u64, // too many accounts
    };
    code(dispatch(parsed.program_id(), parsed.accounts(), parsed.data()))
}

/// The hot instructions, dispatched on the data the runtime points r2 at before
/// any account is parsed, read their accounts with no table (`first_accounts`).
/// `None`: no r2, another instruction, or accounts the fast parse does not take
/// (too few, a duplicate) — the full parse and `dispatch` then decide.
#[inline(always)]
unsafe fn hot_path(input: *mut u8, r2: *const u8) -> Option<u64> {
    let data = sdk::entrypoint::data_from_r2(r2)?;
    // cancel_order has no arguments: its data is the discriminator alone, so
    // the program id right after it is at a constant offset.
    if data.len() == 8 && rd_u64(data, 0) == ix::CANCEL_ORDER {
        let accounts = sdk::entrypoint::first_accounts::<{ processor::cancel_order::ACCOUNTS }>(input)?;
        let program_id = sdk::entrypoint::program_id_after(data);
        return Some(code(processor::cancel_order::process(program_id, &accounts, &[])));
    }
    None
}

#[inline(always)]
fn code(result: ProgramResult) -> u64 {
    match result {
        Ok(()) => 0,
        Err(code) => code as u64,
    }
}

fn dispatch(program_id: &Pubkey, accounts: &[Account], data: &[u8]) -> ProgramResult {
    if data.len() < 8 {
        return Err(err::INVALID_INSTRUCTION_DATA);
    }
    let args = &data[8..];
    match rd_u64(data, 0) {
        ix::INITIALIZE_CONFIG => processor::initialize_config::process(program_id, accounts, args),
        ix::UPDATE_CONFIG => processor::update_config::process(program_id, accounts, args),
        ix::ACCEPT_ADMIN => processor::accept_admin::process(program_id, accounts, args),
        ix::REGISTER_MODEL => processor::register_model::process(program_id, accounts, args),
        ix::SET_MODEL_STATUS => processor::set_model_status::process(program_id, accounts, args),
        ix::TOKENIZE_MODEL => processor::tokenize_model::process(program_id, accounts, args),
        ix::REGISTER_PROVIDER => processor::register_provider::process(program_id, accounts, args),
        ix::UPSERT_OFFER => processor::upsert_offer::process(program_id, accounts, args),
        ix::OPEN_ORDER => processor::open_order::process(program_id, accounts, args),
        ix::SETTLE_ORDER => processor::settle_order::process(program_id, accounts, args),
        ix::CANCEL_ORDER => processor::cancel_order::process(program_id, accounts, args),
        ix::SETTLE_BATCH => processor::settle_batch::process(program_id, accounts, args),
        ix::BUYBACK => processor::buyback::process(program_id, accounts, args),
        ix::BUYBACK_SOL => processor::buyback_sol::process(program_id, accounts, args),
        ix::BURN => processor::burn::process(program_id, accounts, args),
        ix::HARVEST_FEES => processor::harvest_fees::process(program_id, accounts, args),
        _ => Err(err::INVALID_INSTRUCTION_DATA),
    }
}
