//! accept_admin: second step of a two-step admin change.

use crate::checks;
use crate::events;
use crate::generated::{config, err, event};
use crate::sdk::account::Account;
use crate::sdk::bytes::{is_zero_key, key_eq, rd_key, wr_key};
use crate::sdk::{ProgramResult, Pubkey};

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [new_admin, cfg_acc, ..] = accounts else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    if !args.is_empty() {
        return Err(err::INVALID_INSTRUCTION_DATA);
    }
    checks::signer(new_admin)?;
    checks::writable(cfg_acc)?;
    let cfg = checks::load_config(cfg_acc, program_id)?;
    let pending = rd_key(cfg, config::PENDING_ADMIN);
    if is_zero_key(&pending) || !key_eq(&pending, new_admin.key()) {
        return Err(err::NOT_PENDING_ADMIN);
    }
    let old = rd_key(cfg, config::ADMIN);
    wr_key(cfg, config::ADMIN, new_admin.key());
    wr_key(cfg, config::PENDING_ADMIN, &[0u8; 32]);
    let mut e = events::start(&event::ADMIN_CHANGED);
    e.key(&old).key(new_admin.key());
    events::send(&e);
    Ok(())
}
