//! register_provider: an inference provider registers at PDA
//! ["provider", authority] with the USDC account that receives payouts
//! (upsert_offer changes it later).

use crate::checks;
use crate::events;
use crate::generated::{err, event, provider};
use crate::sdk::account::Account;
use crate::sdk::bytes::{wr_key, wr_u8, Reader};
use crate::sdk::{ProgramResult, Pubkey};
use crate::seeds;

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [authority, cfg_acc, provider_acc, payout, system, ..] = accounts else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let name = r.bytes()?;
    r.finish()?;
    if name.len() > seeds::MAX_NAME_LEN {
        return Err(err::NAME_TOO_LONG);
    }
    checks::signer(authority)?;
    checks::writable(authority)?;
    let cfg = checks::load_config(cfg_acc, program_id)?;
    checks::not_paused(cfg)?;
    checks::system_program(system)?;
    checks::payout(payout, cfg)?;

    let bump = checks::init_pda(
        authority, provider_acc, program_id, &[seeds::PROVIDER, authority.key()], provider::LEN,
        &provider::DISCRIMINATOR,
    )?;
    let d = provider_acc.data_mut();
    wr_key(d, provider::AUTHORITY, authority.key());
    wr_key(d, provider::PAYOUT, payout.key());
    checks::put_bytes(d, provider::NAME, name);
    wr_u8(d, provider::NAME_LEN, name.len() as u8);
    wr_u8(d, provider::ACTIVE, 1);
    wr_u8(d, provider::BUMP, bump);

    let mut e = events::start(&event::PROVIDER_REGISTERED);
    e.key(provider_acc.key()).key(authority.key()).key(payout.key());
    events::send(&e);
    Ok(())
}
